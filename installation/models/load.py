"""load_generator: NVIDIA torch pickles, legacy TF pickles and our checkpoints -> Generator.

Nothing in a pickle is executed (pickle_reader.py reads it as data). Hyperparameters come from
each module's stored attributes (spec §1.7 step 3), then every tensor name and shape is checked
against the module we built from them.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from installation.errors import ModelLoadError

from . import checkpoint
from .generator import Generator
from .pickle_reader import ModuleRecord, TFNetwork, read_generator_record
from .spec import (
    MappingSpec,
    NetworkSpec,
    Precision,
    SG2Spec,
    SG3InputSpec,
    SG3LayerSpec,
    SG3Spec,
)

log = logging.getLogger(__name__)

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


def load_generator(
    path: str | os.PathLike, device: str | torch.device = "cpu", precision: Precision = "exact"
) -> Generator:
    """Load a generator from an NVIDIA pickle (torch or TF) or our checkpoint, in eval mode.

    Args:
        path: `.pkl` snapshot / bare generator / TF `(G, D, Gs)` tuple, or our `.safetensors`.
        device: where the module lives.
        precision: 'exact' (float32, matches NVIDIA) or 'fast' (see Generator.set_precision).
    Raises:
        ModelLoadError: naming the file and what is wrong or unsupported.
    """
    path = Path(path)
    started = time.perf_counter()
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    if checkpoint.is_checkpoint(path):
        G = checkpoint.load_checkpoint(path)
    else:
        spec, tensors = read_network(path)
        G = build_generator(spec, tensors, source=str(path))
    G.to(device).set_precision(precision)
    log.info(
        "model loaded path=%s arch=%s res=%d num_ws=%d in %.2f s",
        path, G.architecture, G.img_resolution, G.num_ws, time.perf_counter() - started,
    )  # fmt: skip
    return G


def read_network(path: Path) -> tuple[NetworkSpec, dict[str, torch.Tensor]]:
    """Read a pickle into (spec, tensors by NVIDIA name) without building modules."""
    kind, record, where = read_generator_record(path)
    if kind == "tf":
        from .tf_convert import convert_tf_generator

        assert isinstance(record, TFNetwork)
        kwargs, tensors = convert_tf_generator(record, str(path))
        spec = spec_from_tf_kwargs(kwargs, path)
        return spec, tensors
    assert isinstance(record, ModuleRecord)
    spec = spec_from_record(record, path, where)
    return spec, record.named_tensors()


def build_generator(spec: NetworkSpec, tensors: dict[str, torch.Tensor], source: str) -> Generator:
    """Build our module from a spec and copy the tensors in, checking every name and shape."""
    G = Generator(spec)
    own = G.state_dict()
    missing = [k for k in own if k not in tensors and not _is_rebuilt_filter(k)]
    unexpected = [k for k in tensors if k not in own]
    if unexpected:
        raise ModelLoadError(
            f"{source}: unknown parameters {_few(unexpected)} for {spec.architecture} "
            f"(a fork with extra layers? supported: {SUPPORTED})"
        )
    if missing:
        raise ModelLoadError(
            f"{source}: missing parameters {_few(missing)} for {spec.architecture}"
        )
    for name, value in tensors.items():
        if tuple(own[name].shape) != tuple(value.shape):
            raise ModelLoadError(
                f"{source}: parameter {name}: expected shape {list(own[name].shape)} from the "
                f"network's hyperparameters, found {list(value.shape)}"
            )
    with torch.no_grad():
        for name, value in tensors.items():
            own[name].copy_(value.to(torch.float32))
    return G


def _is_rebuilt_filter(name: str) -> bool:
    # TF pickles carry no resample filters; our modules build the fixed [1,3,3,1] filter (spec §2.3)
    return name.endswith("resample_filter")


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


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
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelLoadError(f"{path}: unexpected generator layout ({exc!r})") from exc
    _check_root(root, mapping_spec, syn_spec, path)
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


def _check_root(root: ModuleRecord, m: MappingSpec, s: SG2Spec | SG3Spec, path: Path) -> None:
    attrs = root.attributes
    for key, ours in (("z_dim", m.z_dim), ("c_dim", m.c_dim), ("w_dim", m.w_dim),
                      ("num_ws", s.num_ws), ("img_resolution", s.img_resolution),
                      ("img_channels", s.img_channels)):  # fmt: skip
        if key in attrs and int(attrs[key]) != ours:
            raise ModelLoadError(
                f"{path}: Generator.{key}={attrs[key]} disagrees with its layers ({ours})"
            )


def _mapping_spec(rec: ModuleRecord) -> MappingSpec:
    a = rec.attributes
    num_layers = int(a["num_layers"])
    c_dim = int(a["c_dim"])
    embed = rec.children.get("embed")
    fc0 = rec.children["fc0"]
    lr = float(fc0.attributes.get("bias_gain", 0.01))
    if not math.isclose(
        float(fc0.attributes["weight_gain"]) * math.sqrt(fc0.parameters["weight"].shape[1]),
        lr,
        rel_tol=1e-6,
    ):
        raise ValueError("mapping fc0 weight_gain disagrees with its lr multiplier")
    return MappingSpec(
        z_dim=int(a["z_dim"]),
        c_dim=c_dim,
        w_dim=int(a["w_dim"]),
        num_ws=int(a["num_ws"]),
        num_layers=num_layers,
        embed_features=int(embed.parameters["weight"].shape[0]) if (c_dim and embed) else 0,
        layer_features=int(fc0.parameters["weight"].shape[0]),
        lr_multiplier=lr,
        has_w_avg="w_avg" in rec.buffers,
        w_avg_beta=None if a.get("w_avg_beta") is None else float(a["w_avg_beta"]),
    )


def _sg2_spec(rec: ModuleRecord) -> SG2Spec:
    a = rec.attributes
    res_list = [int(r) for r in a["block_resolutions"]]
    channels, fp16, clamps, use_noise = [], [], set(), set()
    architecture = None
    for res in res_list:
        block = rec.children[f"b{res}"]
        architecture = block.attributes.get("architecture", "skip")
        channels.append(int(block.children["conv1"].parameters["weight"].shape[0]))
        if block.attributes.get("use_fp16"):
            fp16.append(res)
        for name in ("conv0", "conv1", "torgb"):
            layer = block.children.get(name)
            if layer is not None:
                clamps.add(layer.attributes.get("conv_clamp"))
                if name != "torgb":
                    use_noise.add(bool(layer.attributes.get("use_noise", True)))
    if len(clamps) > 1 or len(use_noise) > 1:
        raise ValueError(f"layers differ in conv_clamp {clamps} or use_noise {use_noise}")
    clamp = clamps.pop()
    return SG2Spec(
        img_resolution=int(a["img_resolution"]),
        img_channels=int(a["img_channels"]),
        w_dim=int(a["w_dim"]),
        num_ws=int(a["num_ws"]),
        architecture=architecture,
        channels=tuple(channels),
        fp16_resolutions=tuple(fp16),
        conv_clamp=None if clamp is None else float(clamp),
        use_noise=use_noise.pop(),
    )


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _sg3_spec(rec: ModuleRecord) -> SG3Spec:
    a = rec.attributes
    inp = rec.children["input"].attributes
    layers = []
    for name in a["layer_names"]:
        la = rec.children[name].attributes
        clamp = la.get("conv_clamp")
        layers.append(
            SG3LayerSpec(
                name=name,
                is_torgb=bool(la["is_torgb"]),
                is_critically_sampled=bool(la["is_critically_sampled"]),
                use_fp16=bool(la["use_fp16"]),
                in_channels=int(la["in_channels"]),
                out_channels=int(la["out_channels"]),
                in_size=_pair(la["in_size"]),
                out_size=_pair(la["out_size"]),
                in_sampling_rate=float(la["in_sampling_rate"]),
                out_sampling_rate=float(la["out_sampling_rate"]),
                tmp_sampling_rate=float(la["tmp_sampling_rate"]),
                in_cutoff=float(la["in_cutoff"]),
                out_cutoff=float(la["out_cutoff"]),
                in_half_width=float(la["in_half_width"]),
                out_half_width=float(la["out_half_width"]),
                conv_kernel=int(la["conv_kernel"]),
                conv_clamp=None if clamp is None else float(clamp),
                up_factor=int(la["up_factor"]),
                up_taps=int(la["up_taps"]),
                down_factor=int(la["down_factor"]),
                down_taps=int(la["down_taps"]),
                down_radial=bool(la["down_radial"]),
                padding=tuple(int(p) for p in la["padding"]),
            )
        )
    return SG3Spec(
        img_resolution=int(a["img_resolution"]),
        img_channels=int(a["img_channels"]),
        w_dim=int(a["w_dim"]),
        num_ws=int(a["num_ws"]),
        input=SG3InputSpec(
            channels=int(inp["channels"]),
            size=_pair(inp["size"]),
            sampling_rate=float(inp["sampling_rate"]),
            bandwidth=float(inp["bandwidth"]),
        ),
        layers=tuple(layers),
        output_scale=float(a.get("output_scale", 0.25)),
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
