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
from . import spec as spec_limits
from .generator import Generator
from .pickle_reader import ModuleRecord, TFNetwork, read_generator_record
from .spec import (
    MAX_SG3_LAYERS,
    MappingSpec,
    NetworkSpec,
    Precision,
    SG2Spec,
    SG3InputSpec,
    SG3LayerSpec,
    SG3Spec,
    SpecError,
    check_spec,
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
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a directory, not a model file")
    if not path.exists():
        raise ModelLoadError(f"{path}: no such file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: not a regular file (a device or pipe?)")
    try:
        if checkpoint.is_checkpoint(path):
            G = checkpoint.load_checkpoint(path)
        else:
            spec, tensors = read_network(path)
            G = build_generator(spec, tensors, source=str(path))
    except _UNEXPECTED as exc:
        # every known problem is a ModelLoadError already; this keeps a surprise to one line
        log.debug("unexpected error loading %s", path, exc_info=True)
        raise ModelLoadError(
            f"{path}: cannot load this file ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    G.to(device).set_precision(precision)
    log.info(
        "model loaded path=%s arch=%s res=%d num_ws=%d in %.2f s",
        path, G.architecture, G.img_resolution, G.num_ws, time.perf_counter() - started,
    )  # fmt: skip
    return G


_UNEXPECTED = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError, OverflowError,
    MemoryError, RecursionError, OSError, UnicodeError, NotImplementedError,
)  # fmt: skip


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
    """Build our module from a spec and copy the tensors in, checking every name and shape.

    The hyperparameters are range-checked first and the shapes are compared on a module built
    on the meta device (no memory), so a file allocates only after it has passed both checks.
    """
    try:
        check_spec(spec)
    except SpecError as exc:
        raise ModelLoadError(f"{source}: {exc}") from None
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in Generator(spec).state_dict().items()}
    missing = [k for k in shapes if k not in tensors and not _is_rebuilt_filter(k)]
    unexpected = [k for k in tensors if k not in shapes]
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
        if shapes[name] != tuple(value.shape):
            raise ModelLoadError(
                f"{source}: parameter {name}: expected shape {list(shapes[name])} from the "
                f"network's hyperparameters, found {list(value.shape)}"
            )
    G = Generator(spec)
    own = G.state_dict()
    with torch.no_grad():
        for name, value in tensors.items():
            own[name].copy_(value.to(torch.float32))
    return G


def _is_rebuilt_filter(name: str) -> bool:
    # TF pickles carry no resample filters; our modules build the fixed [1,3,3,1] filter (spec §2.3)
    return name.endswith("resample_filter")


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(n[:80] for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


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
