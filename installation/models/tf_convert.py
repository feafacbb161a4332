"""Convert a legacy TensorFlow StyleGAN2 / StyleGAN2-ADA generator (Gs) to PyTorch names and kwargs.

Written from the reference spec, sections 2.2 (kwargs) and 2.3 (variable names and axis transforms).
The result matches the SG3-era networks_stylegan2.Generator layout; resample_filter buffers are left
out because the model builds them itself.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import numpy as np
import torch

from installation.errors import ModelLoadError
from installation.models import spec
from installation.models.pickle_reader import TFNetwork

log = logging.getLogger(__name__)

_MISSING = object()

# TF static kwarg -> (PyTorch kwarg, default); mapping-network kwargs carry a "mapping." prefix.
_KWARGS: dict[str, tuple[str, Any]] = {
    "latent_size": ("z_dim", 512),
    "label_size": ("c_dim", 0),
    "dlatent_size": ("w_dim", 512),
    "resolution": ("img_resolution", 1024),
    "num_channels": ("img_channels", 3),
    "fmap_base": ("channel_base", 16384),
    "fmap_max": ("channel_max", 512),
    "num_fp16_res": ("num_fp16_res", 0),
    "conv_clamp": ("conv_clamp", None),
    "architecture": ("architecture", "skip"),
    "resample_kernel": ("resample_filter", [1, 3, 3, 1]),
    "use_noise": ("use_noise", True),
    "nonlinearity": ("activation", "lrelu"),
    "mapping_layers": ("mapping.num_layers", 8),
    "label_fmaps": ("mapping.embed_features", None),
    "mapping_fmaps": ("mapping.layer_features", None),
    "mapping_nonlinearity": ("mapping.activation", "lrelu"),
    "mapping_lrmul": ("mapping.lr_multiplier", 0.01),
    "w_avg_beta": ("mapping.w_avg_beta", 0.995),
}
# Accepted and ignored: they only matter for training or for TF's own graph building.
_IGNORED = {
    "truncation_psi",
    "truncation_cutoff",
    "style_mixing_prob",
    "structure",
    "conditioning",
    "fused_modconv",
    "randomize_noise",
    "dlatent_avg_beta",
}
_SUPPORTED_SYNTHESIS = {"G_synthesis_stylegan2", "G_synthesis"}
_ORIG_TORGB = re.compile(r"^ToRGB_lod(\d+)/(.+)$")


def _fail(source: str, msg: str) -> ModelLoadError:
    return ModelLoadError(f"{source}: {msg}")


def _kwargs(gs: TFNetwork, source: str) -> dict[str, Any]:
    """PyTorch Generator init kwargs from the TF static kwargs (spec 2.2)."""
    sk = dict(gs.static_kwargs)
    for key in ("resolution_w", "resolution_h"):
        if key in sk:
            value = sk.pop(key)
            if value != sk.get("resolution", 1024):
                raise _fail(
                    source,
                    f"TensorFlow kwarg '{key}'={str(value)[:40]} differs from resolution "
                    f"{str(sk.get('resolution', 1024))[:40]}: non-square generators are not "
                    "supported",
                )
    unknown = sorted(str(k)[:40] for k in sk if k not in _KWARGS and k not in _IGNORED)
    if unknown:
        raise _fail(
            source,
            f"unknown TensorFlow kwarg '{unknown[0]}'"
            + (f" (also: {', '.join(unknown[1:6])})" if len(unknown) > 1 else "")
            + "; only StyleGAN2 config E/F and StyleGAN2-ADA generators are supported",
        )
    flat: dict[str, Any] = {}
    mapping: dict[str, Any] = {}
    for tf_name, (name, default) in _KWARGS.items():
        value = sk.get(tf_name, default)
        if name.startswith("mapping."):
            mapping[name.removeprefix("mapping.")] = value
        else:
            flat[name] = value
    if "w_avg_beta" not in sk and "dlatent_avg_beta" in sk:
        mapping["w_avg_beta"] = sk["dlatent_avg_beta"]
    if mapping["w_avg_beta"] is None:
        mapping["w_avg_beta"] = 1
    _check_kwargs(flat, mapping, source)
    flat["channel_base"] = 2 * int(flat["channel_base"])
    flat["resample_filter"] = [
        int(x) if float(x).is_integer() else float(x)
        for x in np.asarray(flat["resample_filter"], dtype=np.float64).ravel().tolist()
    ]
    flat["mapping_kwargs"] = mapping
    return flat


def _tf_name(name: str) -> str:
    for tf_name, (ours, _default) in _KWARGS.items():
        if ours in (name, f"mapping.{name}"):
            return tf_name
    return name


# (kwarg, smallest, largest, may be None); ranges from spec.py, in TensorFlow's units
_INT_KWARGS = (
    ("z_dim", 0, spec.MAX_FEATURES, False),
    ("c_dim", 0, spec.MAX_CLASSES, False),
    ("w_dim", 1, spec.MAX_FEATURES, False),
    ("img_resolution", 4, spec.MAX_RESOLUTION, False),
    ("img_channels", 1, spec.MAX_IMG_CHANNELS, False),
    ("channel_base", 1, 2**24, False),
    ("channel_max", 1, spec.MAX_CHANNELS, False),
    ("num_fp16_res", 0, 16, False),
)
_MAPPING_INT_KWARGS = (
    ("num_layers", 1, spec.MAX_MAPPING_LAYERS, False),
    ("embed_features", 1, spec.MAX_FEATURES, True),
    ("layer_features", 1, spec.MAX_FEATURES, True),
)


def _check_kwargs(flat: dict[str, Any], mapping: dict[str, Any], source: str) -> None:
    """Types and ranges of the kwargs, checked before anything is sized from them."""

    def bad(name: str, value: Any, expected: str) -> ModelLoadError:
        shown = (
            repr(value)[:60] if isinstance(value, (str, int, float, bool)) else type(value).__name__
        )
        return _fail(source, f"TensorFlow kwarg '{_tf_name(name)}'={shown} is {expected}")

    for table, kwargs in ((_INT_KWARGS, flat), (_MAPPING_INT_KWARGS, mapping)):
        for name, lo, hi, optional in table:
            value = kwargs[name]
            if optional and value is None:
                continue
            if isinstance(value, np.integer):
                value = int(value)
            if type(value) is not int or not lo <= value <= hi:
                raise bad(name, value, f"outside the allowed range {lo}..{hi}")
            kwargs[name] = value
    for name, kwargs, optional in (("conv_clamp", flat, True), ("lr_multiplier", mapping, False),
                                   ("w_avg_beta", mapping, False)):  # fmt: skip
        value = kwargs[name]
        if optional and value is None:
            continue
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > 1e6:
            raise bad(name, value, "not a finite number")
        kwargs[name] = float(value)
    res = flat["img_resolution"]
    if res & (res - 1):
        raise _fail(source, f"resolution {res} is not a power of two >= 4")
    if flat["architecture"] not in ("orig", "skip", "resnet"):
        raise bad("architecture", flat["architecture"], "not orig, skip or resnet")
    if type(flat["use_noise"]) is not bool:
        raise bad("use_noise", flat["use_noise"], "not true or false")
    taps = flat["resample_filter"]
    if isinstance(taps, np.ndarray):
        taps = taps.tolist()
    if (
        not isinstance(taps, (list, tuple))
        or not 1 <= len(taps) <= 16
        or not all(type(t) in (int, float) and math.isfinite(t) for t in taps)
    ):
        raise bad("resample_filter", taps, "not a list of at most 16 numbers")
    flat["resample_filter"] = list(taps)


def _flatten(net: TFNetwork, prefix: str = "") -> dict[str, np.ndarray]:
    out = {prefix + k: v for k, v in net.variables.items()}
    for name, comp in net.components.items():
        out.update(_flatten(comp, f"{prefix}{name}/"))
    return out


def convert_tf_generator(gs: TFNetwork, source: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """(Generator init kwargs, state dict with PyTorch names) from a TF Gs network (spec 2.3)."""
    if gs.version < 4:
        raise _fail(source, f"StyleGAN1 / TF version {gs.version} is not supported")
    synth = gs.components.get("synthesis")
    if synth is None or "mapping" not in gs.components:
        raise _fail(
            source,
            f"TF network '{gs.name}' ({gs.build_func_name}) has no synthesis/mapping components "
            f"(found: {', '.join(gs.components) or 'none'})",
        )
    if synth.build_func_name not in _SUPPORTED_SYNTHESIS:
        raise _fail(
            source,
            f"TF synthesis network '{synth.build_func_name}' is not supported (only "
            "G_synthesis_stylegan2 from StyleGAN2 and G_synthesis from StyleGAN2-ADA; StyleGAN2 "
            "configs A-D and StyleGAN1 are not)",
        )
    kwargs = _kwargs(gs, source)
    tf_vars = _flatten(gs)

    # 'orig' architecture: TF names its ToRGB layers per level of detail.
    for name in list(tf_vars):
        m = (
            _ORIG_TORGB.match(name.removeprefix("synthesis/"))
            if name.startswith("synthesis/")
            else None
        )
        if m:
            r = kwargs["img_resolution"] >> int(m.group(1))
            tf_vars[f"synthesis/{r}x{r}/ToRGB/{m.group(2)}"] = tf_vars.pop(name)
            kwargs["architecture"] = "orig"

    used: set[str] = set()
    state: dict[str, torch.Tensor] = {}

    def var(name: str) -> np.ndarray:
        if name not in tf_vars:
            raise _fail(source, f"TF variable '{name}' is missing (needed for this configuration)")
        used.add(name)
        return np.asarray(tf_vars[name], dtype=np.float32)

    def put(key: str, value: np.ndarray, shape: list[int], tf_name: str) -> None:
        if list(value.shape) != shape:
            raise _fail(
                source,
                f"TF variable '{tf_name}' has shape {list(value.shape)}, expected {shape} "
                f"for {key}",
            )
        state[key] = torch.from_numpy(np.array(value, dtype=np.float32, order="C", copy=True))

    def t(name: str) -> np.ndarray:
        return var(name).T

    def p(name: str, flip: bool = False) -> np.ndarray:
        w = var(name)
        if w.ndim != 4:
            raise _fail(source, f"TF variable '{name}' is not a 4-d convolution weight")
        if flip:
            w = w[::-1, ::-1]
        return w.transpose(3, 2, 0, 1)

    z_dim, c_dim, w_dim = kwargs["z_dim"], kwargs["c_dim"], kwargs["w_dim"]
    mk = kwargs["mapping_kwargs"]

    # Mapping network.
    embed = mk["embed_features"] if mk["embed_features"] is not None else (w_dim if c_dim else 0)
    layer = mk["layer_features"] if mk["layer_features"] is not None else w_dim
    num_layers = int(mk["num_layers"])
    feats = [z_dim + (embed if c_dim else 0)] + [layer] * (num_layers - 1) + [w_dim]
    if c_dim:
        put(
            "mapping.embed.weight",
            t("mapping/LabelEmbed/weight"),
            [embed, c_dim],
            "mapping/LabelEmbed/weight",
        )
        put(
            "mapping.embed.bias", var("mapping/LabelEmbed/bias"), [embed], "mapping/LabelEmbed/bias"
        )
    for i in range(num_layers):
        n = f"mapping/Dense{i}"
        put(f"mapping.fc{i}.weight", t(f"{n}/weight"), [feats[i + 1], feats[i]], f"{n}/weight")
        put(f"mapping.fc{i}.bias", var(f"{n}/bias"), [feats[i + 1]], f"{n}/bias")
    put("mapping.w_avg", var("dlatent_avg"), [w_dim], "dlatent_avg")

    # Synthesis network.
    res_max = kwargs["img_resolution"]
    arch = kwargs["architecture"]
    use_noise = bool(kwargs["use_noise"])
    img_ch = kwargs["img_channels"]

    def nf(res: int) -> int:
        return min(kwargs["channel_base"] // res, kwargs["channel_max"])

    def layer_params(
        key: str, tf: str, cin: int, cout: int, res: int, noise: int | None, flip: bool
    ) -> None:
        put(f"{key}.weight", p(f"{tf}/weight", flip=flip), [cout, cin, 3, 3], f"{tf}/weight")
        put(f"{key}.bias", var(f"{tf}/bias"), [cout], f"{tf}/bias")
        put(f"{key}.affine.weight", t(f"{tf}/mod_weight"), [cin, w_dim], f"{tf}/mod_weight")
        put(f"{key}.affine.bias", var(f"{tf}/mod_bias") + 1, [cin], f"{tf}/mod_bias")
        if use_noise and noise is not None:
            put(f"{key}.noise_strength", var(f"{tf}/noise_strength"), [], f"{tf}/noise_strength")
            nz = var(f"synthesis/noise{noise}")
            if nz.ndim != 4:
                raise _fail(source, f"TF variable 'synthesis/noise{noise}' is not [1, 1, H, W]")
            put(f"{key}.noise_const", nz[0, 0], [res, res], f"synthesis/noise{noise}")

    for log2 in range(2, int(math.log2(res_max)) + 1):
        res = 1 << log2
        cout = nf(res)
        cin = nf(res // 2) if res > 4 else 0
        b, tb = f"synthesis.b{res}", f"synthesis/{res}x{res}"
        if res == 4:
            const = var(f"{tb}/Const/const")
            put(
                f"{b}.const",
                const[0] if const.ndim == 4 else const,
                [cout, 4, 4],
                f"{tb}/Const/const",
            )
            layer_params(f"{b}.conv1", f"{tb}/Conv", cout, cout, res, 0, flip=False)
        else:
            layer_params(f"{b}.conv0", f"{tb}/Conv0_up", cin, cout, res, 2 * log2 - 5, flip=True)
            layer_params(f"{b}.conv1", f"{tb}/Conv1", cout, cout, res, 2 * log2 - 4, flip=False)
        if arch == "skip" or res == res_max:
            tr = f"{tb}/ToRGB"
            put(f"{b}.torgb.weight", p(f"{tr}/weight"), [img_ch, cout, 1, 1], f"{tr}/weight")
            put(f"{b}.torgb.bias", var(f"{tr}/bias"), [img_ch], f"{tr}/bias")
            put(
                f"{b}.torgb.affine.weight", t(f"{tr}/mod_weight"), [cout, w_dim], f"{tr}/mod_weight"
            )
            put(f"{b}.torgb.affine.bias", var(f"{tr}/mod_bias") + 1, [cout], f"{tr}/mod_bias")
        if arch == "resnet" and res > 4:
            put(
                f"{b}.skip.weight",
                p(f"{tb}/Skip/weight", flip=True),
                [cout, cin, 1, 1],
                f"{tb}/Skip/weight",
            )

    unused = sorted(k for k in tf_vars if k not in used and not k.endswith("lod"))
    if unused:
        log.info(
            "%s: %d TF variables not used by the conversion: %s",
            source,
            len(unused),
            ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else ""),
        )
    return kwargs, state
