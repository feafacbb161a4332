"""NVIDIA's stored hyperparameters -> NetworkSpec: torch pickle attributes and TF kwargs.

A torch pickle's modules keep their hyperparameters as attributes (spec §1.7 step 3); a legacy
TensorFlow pickle's are converted to PyTorch-named kwargs first (tf_convert.py). Both become a
NetworkSpec here, every value type-checked and named in the error when it is wrong.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from installation.errors import ModelLoadError

from . import spec as spec_limits
from .pickle_reader import ModuleRecord
from .spec import (
    MAX_SG3_LAYERS,
    MappingSpec,
    NetworkSpec,
    SG2Spec,
    SG3InputSpec,
    SG3LayerSpec,
    SG3Spec,
)

SG2_CLASSES = {
    "Generator", "MappingNetwork", "FullyConnectedLayer", "SynthesisNetwork", "SynthesisBlock",
    "SynthesisLayer", "ToRGBLayer", "Conv2dLayer",
}  # fmt: skip
SG3_CLASSES = {
    "Generator", "MappingNetwork", "FullyConnectedLayer", "SynthesisNetwork", "SynthesisInput",
    "SynthesisLayer",
}  # fmt: skip
SUPPORTED = (
    "StyleGAN2 (stylegan2-ada-pytorch, stylegan3 repo; orig/skip/resnet), StyleGAN3-T/-R, "
    "legacy TensorFlow StyleGAN2/StyleGAN2-ADA"
)


# ---------------------------------------------------------------------------------------------
# Typed reads of stored attributes: a wrong type names the attribute and what it holds


class _BadAttribute(ValueError):
    """An attribute of the file is not the type it must be; the message names it."""


def _show(value: Any) -> str:
    if isinstance(value, (str, int, float, bool, type(None))):
        text = repr(value)
        return text if len(text) <= 60 else text[:60] + "..."
    return f"<{type(value).__name__}>"


# the allowed range of an attribute, by its name (the ranges themselves live in spec.py)
_RANGES: dict[str, tuple[float, float]] = {
    "z_dim": (0, spec_limits.MAX_FEATURES),
    "c_dim": (0, spec_limits.MAX_CLASSES),
    "w_dim": (1, spec_limits.MAX_FEATURES),
    "num_ws": (1, spec_limits.MAX_NUM_WS),
    "num_layers": (1, spec_limits.MAX_MAPPING_LAYERS),
    "img_resolution": (4, spec_limits.MAX_RESOLUTION),
    "block_resolutions": (4, spec_limits.MAX_RESOLUTION),
    "img_channels": (1, spec_limits.MAX_IMG_CHANNELS),
    "channels": (1, spec_limits.MAX_CHANNELS),
    "in_channels": (1, spec_limits.MAX_CHANNELS),
    "out_channels": (1, spec_limits.MAX_CHANNELS),
    "size": (1, spec_limits.MAX_SIZE),
    "in_size": (1, spec_limits.MAX_SIZE),
    "out_size": (1, spec_limits.MAX_SIZE),
    "conv_kernel": (1, spec_limits.MAX_KERNEL),
    "up_factor": (1, spec_limits.MAX_FACTOR),
    "down_factor": (1, spec_limits.MAX_FACTOR),
    "up_taps": (1, spec_limits.MAX_TAPS),
    "down_taps": (1, spec_limits.MAX_TAPS),
    "padding": (-spec_limits.MAX_PADDING, spec_limits.MAX_PADDING),
    "conv_clamp": (0, spec_limits.MAX_CLAMP),
}
for _key in ("sampling_rate", "bandwidth", "in_sampling_rate", "out_sampling_rate",
             "tmp_sampling_rate", "in_cutoff", "out_cutoff", "in_half_width",
             "out_half_width"):  # fmt: skip
    _RANGES[_key] = (0, spec_limits.MAX_SAMPLING_RATE)


def _expected(kind: str, where: str) -> str:
    lo, hi = _RANGES.get(where.rsplit(".", 1)[-1], (None, None))
    return f"expected {kind}" + ("" if lo is None else f" in the allowed range {lo:g}..{hi:g}")


def _int(value: Any, where: str) -> int:
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value) and value.is_integer():
        return int(value)
    raise _BadAttribute(f"{where}={_show(value)}: {_expected('an integer', where)}")


def _float(value: Any, where: str) -> float:
    if type(value) is float:
        return value
    if type(value) is int and abs(value) < 2**63:
        return float(value)
    raise _BadAttribute(f"{where}={_show(value)}: {_expected('a number', where)}")


def _bool(value: Any, where: str) -> bool:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise _BadAttribute(f"{where}={_show(value)}: expected true or false")


def _list(value: Any, where: str, limit: int) -> list[Any]:
    if not isinstance(value, (list, tuple)) or len(value) > limit:
        raise _BadAttribute(f"{where}={_show(value)}: expected a list of at most {limit} items")
    return list(value)


def _attr(rec: ModuleRecord, key: str) -> tuple[Any, str]:
    """(value, 'path.key') of a stored attribute; KeyError names it when absent."""
    where = f"{rec.path}.{key}" if rec.path else f"G_ema.{key}"
    if key not in rec.attributes:
        raise KeyError(f"{where} is missing")
    return rec.attributes[key], where


def _int_attr(rec: ModuleRecord, key: str) -> int:
    return _int(*_attr(rec, key))


def _float_attr(rec: ModuleRecord, key: str) -> float:
    return _float(*_attr(rec, key))


def _bool_attr(rec: ModuleRecord, key: str) -> bool:
    return _bool(*_attr(rec, key))


def _opt_float(value: Any, where: str) -> float | None:
    return None if value is None else _float(value, where)


# ---------------------------------------------------------------------------------------------
# NVIDIA torch pickles: record tree -> NetworkSpec


def spec_from_record(root: ModuleRecord, path: Path, where: str) -> NetworkSpec:
    """Read the hyperparameters of a G_ema record tree from its stored attributes."""
    if root.class_name != "Generator":
        raise ModelLoadError(
            f"{path}: generator class {root.class_name!r} is not supported (supported: {SUPPORTED})"
        )
    synthesis = root.children.get("synthesis")
    mapping = root.children.get("mapping")
    if synthesis is None or mapping is None:
        raise ModelLoadError(f"{path}: generator has no synthesis/mapping networks")
    is_sg3 = "input" in synthesis.children and "layer_names" in synthesis.attributes
    _check_classes(root, SG3_CLASSES if is_sg3 else SG2_CLASSES, path)
    try:
        mapping_spec = _mapping_spec(mapping)
        if is_sg3:
            syn_spec: SG2Spec | SG3Spec = _sg3_spec(synthesis)
            radial = any(layer.down_radial for layer in syn_spec.layers)
            arch = "stylegan3-r" if radial or syn_spec.layers[0].conv_kernel == 1 else "stylegan3-t"
            generation = "stylegan3 (networks_stylegan3)"
        else:
            syn_spec = _sg2_spec(synthesis)
            arch = "stylegan2"
            ada = "synthesis_kwargs" in root.init_kwargs
            generation = "stylegan2-ada-pytorch" if ada else "stylegan3 (networks_stylegan2)"
        _check_root(root, mapping_spec, syn_spec)
    except _BadAttribute as exc:
        raise ModelLoadError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelLoadError(
            f"{path}: unexpected generator layout ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    return NetworkSpec(
        architecture=arch,
        mapping=mapping_spec,
        synthesis=syn_spec,
        source_format="nvidia torch pickle",
        code_generation=generation,
        extra={"where": where, "init_kwargs": _jsonable(root.init_kwargs)},
    )


def _check_classes(record: ModuleRecord, allowed: set[str], path: Path) -> None:
    if record.class_name not in allowed:
        where = record.path or "root"
        raise ModelLoadError(
            f"{path}: unknown module class {record.class_name!r} at {where} (from a fork?); "
            f"supported: {SUPPORTED}"
        )
    for child in record.children.values():
        _check_classes(child, allowed, path)


def _check_root(root: ModuleRecord, m: MappingSpec, s: SG2Spec | SG3Spec) -> None:
    attrs = root.attributes
    for key, ours in (("z_dim", m.z_dim), ("c_dim", m.c_dim), ("w_dim", m.w_dim),
                      ("num_ws", s.num_ws), ("img_resolution", s.img_resolution),
                      ("img_channels", s.img_channels)):  # fmt: skip
        if key in attrs and _int(attrs[key], f"Generator.{key}") != ours:
            raise _BadAttribute(
                f"Generator.{key}={_show(attrs[key])} disagrees with its layers ({ours})"
            )


def _mapping_spec(rec: ModuleRecord) -> MappingSpec:
    num_layers = _int_attr(rec, "num_layers")
    c_dim = _int_attr(rec, "c_dim")
    embed = rec.children.get("embed")
    fc0 = rec.children["fc0"]
    lr = _float(fc0.attributes.get("bias_gain", 0.01), "mapping.fc0.bias_gain")
    fan_in = fc0.parameters["weight"].shape[1]
    if not math.isclose(_float_attr(fc0, "weight_gain") * math.sqrt(fan_in), lr, rel_tol=1e-6):
        raise _BadAttribute("mapping.fc0.weight_gain disagrees with its lr multiplier")
    return MappingSpec(
        z_dim=_int_attr(rec, "z_dim"),
        c_dim=c_dim,
        w_dim=_int_attr(rec, "w_dim"),
        num_ws=_int_attr(rec, "num_ws"),
        num_layers=num_layers,
        embed_features=int(embed.parameters["weight"].shape[0]) if (c_dim and embed) else 0,
        layer_features=int(fc0.parameters["weight"].shape[0]),
        lr_multiplier=lr,
        has_w_avg="w_avg" in rec.buffers,
        w_avg_beta=_opt_float(rec.attributes.get("w_avg_beta"), "mapping.w_avg_beta"),
    )


def _sg2_spec(rec: ModuleRecord) -> SG2Spec:
    res_list = [
        _int(r, "synthesis.block_resolutions")
        for r in _list(*_attr(rec, "block_resolutions"), limit=16)
    ]
    channels, fp16, clamps, use_noise = [], [], set(), set()
    architecture = None
    for res in res_list:
        block = rec.children[f"b{res}"]
        architecture = block.attributes.get("architecture", "skip")
        channels.append(int(block.children["conv1"].parameters["weight"].shape[0]))
        if _bool(block.attributes.get("use_fp16", False), f"{block.path}.use_fp16"):
            fp16.append(res)
        for name in ("conv0", "conv1", "torgb"):
            layer = block.children.get(name)
            if layer is not None:
                where = f"{layer.path}.conv_clamp"
                clamps.add(_opt_float(layer.attributes.get("conv_clamp"), where))
                if name != "torgb":
                    where = f"{layer.path}.use_noise"
                    use_noise.add(_bool(layer.attributes.get("use_noise", True), where))
    if len(clamps) != 1 or len(use_noise) > 1:
        raise _BadAttribute(
            f"synthesis layers differ in conv_clamp ({len(clamps)} values) or use_noise"
        )
    if not isinstance(architecture, str):
        raise _BadAttribute(f"synthesis architecture={_show(architecture)}: expected a name")
    return SG2Spec(
        img_resolution=_int_attr(rec, "img_resolution"),
        img_channels=_int_attr(rec, "img_channels"),
        w_dim=_int_attr(rec, "w_dim"),
        num_ws=_int_attr(rec, "num_ws"),
        architecture=architecture,  # type: ignore[arg-type]
        channels=tuple(channels),
        fp16_resolutions=tuple(fp16),
        conv_clamp=clamps.pop(),
        use_noise=use_noise.pop() if use_noise else True,
    )


def _pair(value: Any, where: str) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise _BadAttribute(f"{where}: expected 2 integers, found {len(value)}")
        return _int(value[0], where), _int(value[1], where)
    n = _int(value, where)
    return n, n


def _sg3_spec(rec: ModuleRecord) -> SG3Spec:
    inp = rec.children["input"]
    layers = []
    for name in _list(*_attr(rec, "layer_names"), limit=MAX_SG3_LAYERS):
        if not isinstance(name, str):
            raise _BadAttribute(f"synthesis.layer_names holds {_show(name)}, not a name")
        lr = rec.children[name]

        def f(key: str, lr: ModuleRecord = lr) -> float:
            return _float_attr(lr, key)

        def i(key: str, lr: ModuleRecord = lr) -> int:
            return _int_attr(lr, key)

        def b(key: str, lr: ModuleRecord = lr) -> bool:
            return _bool_attr(lr, key)

        padding = _list(*_attr(lr, "padding"), limit=4)
        layers.append(
            SG3LayerSpec(
                name=name,
                is_torgb=b("is_torgb"),
                is_critically_sampled=b("is_critically_sampled"),
                use_fp16=b("use_fp16"),
                in_channels=i("in_channels"),
                out_channels=i("out_channels"),
                in_size=_pair(*_attr(lr, "in_size")),
                out_size=_pair(*_attr(lr, "out_size")),
                in_sampling_rate=f("in_sampling_rate"),
                out_sampling_rate=f("out_sampling_rate"),
                tmp_sampling_rate=f("tmp_sampling_rate"),
                in_cutoff=f("in_cutoff"),
                out_cutoff=f("out_cutoff"),
                in_half_width=f("in_half_width"),
                out_half_width=f("out_half_width"),
                conv_kernel=i("conv_kernel"),
                conv_clamp=_opt_float(lr.attributes.get("conv_clamp"), f"{lr.path}.conv_clamp"),
                up_factor=i("up_factor"),
                up_taps=i("up_taps"),
                down_factor=i("down_factor"),
                down_taps=i("down_taps"),
                down_radial=b("down_radial"),
                padding=tuple(_int(p, f"{lr.path}.padding") for p in padding),  # type: ignore[arg-type]
            )
        )
    return SG3Spec(
        img_resolution=_int_attr(rec, "img_resolution"),
        img_channels=_int_attr(rec, "img_channels"),
        w_dim=_int_attr(rec, "w_dim"),
        num_ws=_int_attr(rec, "num_ws"),
        input=SG3InputSpec(
            channels=_int_attr(inp, "channels"),
            size=_pair(*_attr(inp, "size")),
            sampling_rate=_float_attr(inp, "sampling_rate"),
            bandwidth=_float_attr(inp, "bandwidth"),
        ),
        layers=tuple(layers),
        output_scale=_float(rec.attributes.get("output_scale", 0.25), "synthesis.output_scale"),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


# ---------------------------------------------------------------------------------------------
# legacy TensorFlow pickles: converted kwargs -> NetworkSpec


def spec_from_tf_kwargs(kw: dict[str, Any], path: Path) -> NetworkSpec:
    """Build the spec of a TF StyleGAN2 from its converted (PyTorch-named) kwargs (spec §2.2)."""
    res = int(kw["img_resolution"])
    if res < 4 or res & (res - 1):
        raise ModelLoadError(f"{path}: resolution {res} is not a power of two >= 4")
    mk = kw.get("mapping_kwargs", {})
    w_dim = int(kw["w_dim"])
    c_dim = int(kw.get("c_dim", 0))
    if tuple(kw.get("resample_filter", (1, 3, 3, 1))) != (1, 3, 3, 1):
        raise ModelLoadError(f"{path}: resample_kernel {kw['resample_filter']} is not supported")
    for key, value in (("activation", kw.get("activation", "lrelu")),
                       ("mapping activation", mk.get("activation", "lrelu"))):  # fmt: skip
        if value != "lrelu":
            raise ModelLoadError(f"{path}: {key} {value!r} is not supported (only lrelu)")
    log2 = res.bit_length() - 1
    resolutions = [2**i for i in range(2, log2 + 1)]
    base, cmax = int(kw["channel_base"]), int(kw["channel_max"])
    num_fp16_res = int(kw.get("num_fp16_res", 0))
    fp16_from = max(2 ** (log2 + 1 - num_fp16_res), 8)
    num_ws = 2 * log2 - 2
    embed = mk.get("embed_features") or w_dim
    clamp = kw.get("conv_clamp")
    beta = mk.get("w_avg_beta", 0.995)
    return NetworkSpec(
        architecture="stylegan2",
        mapping=MappingSpec(
            z_dim=int(kw["z_dim"]),
            c_dim=c_dim,
            w_dim=w_dim,
            num_ws=num_ws,
            num_layers=int(mk.get("num_layers", 8)),
            embed_features=int(embed) if c_dim else 0,
            layer_features=int(mk.get("layer_features") or w_dim),
            lr_multiplier=float(mk.get("lr_multiplier", 0.01)),
            has_w_avg=True,
            w_avg_beta=None if beta is None else float(beta),
        ),
        synthesis=SG2Spec(
            img_resolution=res,
            img_channels=int(kw.get("img_channels", 3)),
            w_dim=w_dim,
            num_ws=num_ws,
            architecture=kw.get("architecture", "skip"),
            channels=tuple(min(base // r, cmax) for r in resolutions),
            fp16_resolutions=tuple(r for r in resolutions if num_fp16_res > 0 and r >= fp16_from),
            conv_clamp=None if clamp is None else float(clamp),
            use_noise=bool(kw.get("use_noise", True)),
        ),
        source_format="tensorflow pickle",
        code_generation="stylegan2 / stylegan2-ada (TensorFlow)",
        extra={"converted_kwargs": _jsonable(kw)},
    )
