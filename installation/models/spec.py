"""NetworkSpec: the hyperparameters of a generator, read from a file, that build our modules.

Network hyperparameters are data (STYLE.md §6): the loaders fill these frozen dataclasses from
each module's stored attributes (spec §1.7 step 3), and the model classes are built from them.
The specs round-trip through JSON, which is how our own checkpoint format stores them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from installation.options import Precision as Precision  # one home, torch-free (the CLI too)

Architecture = Literal["stylegan2", "stylegan3-t", "stylegan3-r"]
SG2Kind = Literal["orig", "skip", "resnet"]


def layer_dtype(
    fast_dtype: torch.dtype | None, use_fp16: bool, device: torch.device
) -> torch.dtype:
    """The dtype a synthesis layer computes in.

    Exact mode (fast_dtype None): float32. Fast mode: on CUDA float16 for the layers the file
    marks use_fp16 (as NVIDIA runs them) and float32 for the rest; elsewhere fast_dtype (bf16).
    """
    if fast_dtype is None:
        return torch.float32
    if device.type == "cuda":
        return torch.float16 if use_fp16 else torch.float32
    return fast_dtype


@dataclass(frozen=True)
class MappingSpec:
    """Mapping network z, c -> ws (spec §3.2)."""

    z_dim: int
    c_dim: int
    w_dim: int
    num_ws: int
    num_layers: int
    embed_features: int  # E: width of the class embedding; 0 when c_dim == 0
    layer_features: int  # width of the hidden FC layers
    lr_multiplier: float = 0.01
    has_w_avg: bool = True
    w_avg_beta: float | None = None  # informational; inference never updates w_avg


@dataclass(frozen=True)
class SG2Spec:
    """StyleGAN2 synthesis network (spec §3.3)."""

    img_resolution: int
    img_channels: int
    w_dim: int
    num_ws: int
    architecture: SG2Kind
    channels: tuple[int, ...]  # C(r) for r = 4, 8, ..., img_resolution
    fp16_resolutions: tuple[int, ...] = ()  # blocks the file marks use_fp16
    conv_clamp: float | None = None
    use_noise: bool = True

    @property
    def block_resolutions(self) -> list[int]:
        """Block resolutions 4, 8, ..., img_resolution."""
        return [2**i for i in range(2, self.img_resolution.bit_length())]


@dataclass(frozen=True)
class SG3InputSpec:
    """StyleGAN3 Fourier-feature input (spec §3.6)."""

    channels: int
    size: tuple[int, int]  # (width, height) in samples
    sampling_rate: float
    bandwidth: float


@dataclass(frozen=True)
class SG3LayerSpec:
    """One StyleGAN3 synthesis layer, with the values NVIDIA stores per layer (spec §3.7)."""

    name: str
    is_torgb: bool
    is_critically_sampled: bool
    use_fp16: bool
    in_channels: int
    out_channels: int
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    in_sampling_rate: float
    out_sampling_rate: float
    tmp_sampling_rate: float
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    conv_kernel: int
    conv_clamp: float | None
    up_factor: int
    up_taps: int
    down_factor: int
    down_taps: int
    down_radial: bool
    padding: tuple[int, int, int, int]  # x0, x1, y0, y1


@dataclass(frozen=True)
class SG3Spec:
    """StyleGAN3 synthesis network (spec §3.6)."""

    img_resolution: int
    img_channels: int
    w_dim: int
    num_ws: int
    input: SG3InputSpec
    layers: tuple[SG3LayerSpec, ...]
    output_scale: float = 0.25


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to build a generator, plus where it came from."""

    architecture: Architecture
    mapping: MappingSpec
    synthesis: SG2Spec | SG3Spec
    source_format: str = (
        "unknown"  # e.g. "nvidia-stylegan3 pickle", "tensorflow pickle", "latent-walk"
    )
    code_generation: str = (
        "unknown"  # "stylegan2-ada-pytorch", "stylegan3 (networks_stylegan2)", ...
    )
    extra: dict[str, Any] = field(default_factory=dict)  # informational: init kwargs etc.

    @property
    def z_dim(self) -> int:
        """Latent z width."""
        return self.mapping.z_dim

    @property
    def c_dim(self) -> int:
        """Conditioning label width (0 = unconditional)."""
        return self.mapping.c_dim

    @property
    def w_dim(self) -> int:
        """Intermediate latent w width."""
        return self.mapping.w_dim

    @property
    def num_ws(self) -> int:
        """Number of w rows the synthesis network consumes."""
        return self.synthesis.num_ws

    @property
    def img_resolution(self) -> int:
        """Output image size in pixels (square)."""
        return self.synthesis.img_resolution

    @property
    def img_channels(self) -> int:
        """Output image channels."""
        return self.synthesis.img_channels

    def to_json(self) -> str:
        """Serialise to JSON (our checkpoint format stores this)."""
        data = dataclasses.asdict(self)
        data["synthesis_type"] = type(self.synthesis).__name__
        return json.dumps(data, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> NetworkSpec:
        """Inverse of to_json; raises ValueError on a malformed document (ranges: check_spec)."""
        try:
            data = json.loads(text)
            synthesis_type = data.pop("synthesis_type")
            mapping = MappingSpec(**data.pop("mapping"))
            syn = data.pop("synthesis")
            if synthesis_type == "SG2Spec":
                syn["channels"] = tuple(syn["channels"])
                syn["fp16_resolutions"] = tuple(syn["fp16_resolutions"])
                synthesis: SG2Spec | SG3Spec = SG2Spec(**syn)
            elif synthesis_type == "SG3Spec":
                inp = syn.pop("input")
                inp["size"] = tuple(inp["size"])
                layers = []
                for layer in syn.pop("layers"):
                    for key in ("in_size", "out_size", "padding"):
                        layer[key] = tuple(layer[key])
                    layers.append(SG3LayerSpec(**layer))
                synthesis = SG3Spec(input=SG3InputSpec(**inp), layers=tuple(layers), **syn)
            else:
                raise ValueError(f"unknown synthesis type {str(synthesis_type)[:40]!r}")
            return NetworkSpec(mapping=mapping, synthesis=synthesis, **data)
        except (KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise ValueError(
                f"malformed network spec: {type(exc).__name__}: {str(exc)[:200]}"
            ) from None


# ---------------------------------------------------------------------------------------------
# Ranges: what any real generator uses, generously. A file outside them is refused before a
# module is built, so no file can make the loader (or a later render) allocate without bound.

MAX_RESOLUTION = 4096  # published: up to 1024; community StyleGAN2 up to 2048
MAX_IMG_CHANNELS = 4  # 1 (grey), 3 (RGB), 4 (RGBA)
MAX_FEATURES = 4096  # z/w dims, mapping widths, embeddings (published: 512)
MAX_CLASSES = 100_000  # c_dim (published: 0, 10; ImageNet 1000)
MAX_CHANNELS = 4096  # feature maps of one layer (published: up to 1024)
MAX_MAPPING_LAYERS = 32  # published: 2 or 8
MAX_SG3_LAYERS = 64  # published: 15
MAX_NUM_WS = 128  # published: up to 18
MAX_FACTOR = 8  # SG3 up/down factors (published: 1, 2, 4)
MAX_TAPS = 128  # SG3 filter taps (published: 1, 12, 24)
MAX_KERNEL = 9  # SG3 conv kernel (published: 1, 3)
MAX_SAMPLING_RATE = 4 * MAX_RESOLUTION  # SG3 rates, cutoffs, bandwidths (published: <= 2048)
MAX_SIZE = 2 * MAX_RESOLUTION  # SG3 feature map side (published: resolution + 20)
MAX_PADDING = MAX_SIZE * MAX_FACTOR  # |padding| of one SG3 layer side
MAX_CLAMP = 1e6  # conv_clamp (published: 256 or none)
# Elements of the largest intermediate of one layer for one image: a StyleGAN3-R at 2048 px
# needs about 0.95e9 (the upsampled nonlinearity of its 10th layer), 1024 px 0.73e9.
MAX_ACTIVATION = 2**31
_SG3_LAYER_NAME = re.compile(r"L\d{1,3}_\d{1,5}_\d{1,5}")


class SpecError(ValueError):
    """A hyperparameter outside the range any real model uses; the message names it."""


def _int_in(where: str, value: object, lo: int, hi: int) -> None:
    if type(value) is not int or not lo <= value <= hi:
        raise SpecError(f"{where}={_show(value)} is outside the allowed range {lo}..{hi}")


def _float_in(where: str, value: object, lo: float, hi: float, *, lo_open: bool = False) -> None:
    ok = (
        type(value) in (int, float)
        and math.isfinite(value)  # type: ignore[arg-type]
        and (lo < value if lo_open else lo <= value)  # type: ignore[operator]
        and value <= hi  # type: ignore[operator]
    )
    if not ok:
        bracket = "(" if lo_open else "["
        raise SpecError(
            f"{where}={_show(value)} is outside the allowed range {bracket}{lo:g}, {hi:g}] "
            "(a finite number)"
        )


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, (str, int, float, bool, type(None))) else None
    if text is None:
        return f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:60] + "..."


def check_spec(spec: NetworkSpec) -> None:
    """Range-check every hyperparameter of a spec, before any module is built.

    Raises:
        SpecError: naming the field, its value and the allowed range.
    """
    if spec.architecture not in ("stylegan2", "stylegan3-t", "stylegan3-r"):
        raise SpecError(f"architecture={_show(spec.architecture)} is not a StyleGAN2/3 generator")
    m = spec.mapping
    _int_in("z_dim", m.z_dim, 0, MAX_FEATURES)
    _int_in("c_dim", m.c_dim, 0, MAX_CLASSES)
    _int_in("w_dim", m.w_dim, 1, MAX_FEATURES)
    _int_in("mapping.num_layers", m.num_layers, 1, MAX_MAPPING_LAYERS)
    _int_in("mapping.embed_features", m.embed_features, 0, MAX_FEATURES)
    _int_in("mapping.layer_features", m.layer_features, 1, MAX_FEATURES)
    _int_in("mapping.num_ws", m.num_ws, 1, MAX_NUM_WS)
    _float_in("mapping.lr_multiplier", m.lr_multiplier, 0, 1e3, lo_open=True)
    if m.w_avg_beta is not None:
        _float_in("mapping.w_avg_beta", m.w_avg_beta, 0, 1)
    if m.z_dim + m.c_dim == 0:
        raise SpecError("z_dim=0 and c_dim=0: the generator has no input")
    s = spec.synthesis
    _int_in("img_resolution", s.img_resolution, 4, MAX_RESOLUTION)
    _int_in("img_channels", s.img_channels, 1, MAX_IMG_CHANNELS)
    _int_in("synthesis.num_ws", s.num_ws, 1, MAX_NUM_WS)
    if s.w_dim != m.w_dim or s.num_ws != m.num_ws:
        raise SpecError(
            f"synthesis w_dim={_show(s.w_dim)}/num_ws={_show(s.num_ws)} disagree with the "
            f"mapping's {m.w_dim}/{m.num_ws}"
        )
    if isinstance(s, SG2Spec):
        _check_sg2(s)
    elif isinstance(s, SG3Spec):
        _check_sg3(s)
    else:
        raise SpecError(f"synthesis={_show(s)} is not a StyleGAN2/3 synthesis network")


def _clamp_ok(where: str, clamp: object) -> None:
    if clamp is not None:
        _float_in(where, clamp, 0, MAX_CLAMP, lo_open=True)


def _check_sg2(s: SG2Spec) -> None:
    res = s.img_resolution
    if res & (res - 1):
        raise SpecError(f"img_resolution={res} is not a power of two (StyleGAN2)")
    if s.architecture not in ("orig", "skip", "resnet"):
        raise SpecError(
            f"synthesis.architecture={_show(s.architecture)} is not orig, skip or resnet"
        )
    blocks = s.block_resolutions
    if s.num_ws != 2 * len(blocks):
        raise SpecError(f"num_ws={s.num_ws} does not fit a {res} px StyleGAN2 ({2 * len(blocks)})")
    if not isinstance(s.channels, tuple) or len(s.channels) != len(blocks):
        raise SpecError(f"synthesis.channels: expected one per block ({len(blocks)})")
    for r, c in zip(blocks, s.channels, strict=True):
        _int_in(f"synthesis.b{r}.channels", c, 1, MAX_CHANNELS)
        _activation(f"synthesis.b{r}", c * (r + 1) * (r + 1))
    if not isinstance(s.fp16_resolutions, tuple) or not set(s.fp16_resolutions) <= set(blocks):
        raise SpecError(f"synthesis.fp16_resolutions are not block resolutions ({blocks})")
    _clamp_ok("synthesis.conv_clamp", s.conv_clamp)
    if type(s.use_noise) is not bool:
        raise SpecError(f"synthesis.use_noise={_show(s.use_noise)} is not a bool")


def _activation(where: str, elements: int) -> None:
    if elements > MAX_ACTIVATION:
        raise SpecError(
            f"{where}: one image needs {elements:,} elements in this layer, more than any real "
            f"model ({MAX_ACTIVATION:,}); the file's sizes or channels are out of range"
        )


def _check_sg3(s: SG3Spec) -> None:
    inp = s.input
    _int_in("synthesis.input.channels", inp.channels, 1, MAX_CHANNELS)
    for axis, n in zip("xy", inp.size, strict=True):
        _int_in(f"synthesis.input.size[{axis}]", n, 1, MAX_SIZE)
    _float_in(
        "synthesis.input.sampling_rate", inp.sampling_rate, 0, MAX_SAMPLING_RATE, lo_open=True
    )
    _float_in("synthesis.input.bandwidth", inp.bandwidth, 0, MAX_SAMPLING_RATE, lo_open=True)
    _activation("synthesis.input", inp.channels * inp.size[0] * inp.size[1])
    _float_in("synthesis.output_scale", s.output_scale, -1e3, 1e3)
    if not isinstance(s.layers, tuple) or not 1 <= len(s.layers) <= MAX_SG3_LAYERS:
        raise SpecError(f"synthesis has {len(s.layers)} layers (allowed 1..{MAX_SG3_LAYERS})")
    if s.num_ws != len(s.layers) + 1:
        raise SpecError(f"num_ws={s.num_ws} does not fit {len(s.layers)} StyleGAN3 layers")
    names = [layer.name for layer in s.layers]
    if len(set(names)) != len(names):
        raise SpecError("synthesis layer names repeat")
    prev_channels, prev_size = inp.channels, tuple(inp.size)
    for i, layer in enumerate(s.layers):
        if not isinstance(layer.name, str) or not _SG3_LAYER_NAME.fullmatch(layer.name):
            raise SpecError(
                f"synthesis layer {i} name {_show(layer.name)} is not like L<i>_<size>_<channels>"
            )
        where = f"synthesis.{layer.name}"
        _check_sg3_layer(where, layer)
        if layer.in_channels != prev_channels or tuple(layer.in_size) != prev_size:
            raise SpecError(
                f"{where}: input {layer.in_channels} channels {list(layer.in_size)} does not match "
                f"the previous layer's output ({prev_channels} channels {list(prev_size)})"
            )
        if layer.is_torgb != (i == len(s.layers) - 1):
            raise SpecError(f"{where}: is_torgb={layer.is_torgb}, only the last layer is ToRGB")
        prev_channels, prev_size = layer.out_channels, tuple(layer.out_size)
    if prev_channels != s.img_channels or prev_size != (s.img_resolution, s.img_resolution):
        raise SpecError(
            f"the last layer outputs {prev_channels} channels {list(prev_size)}, not the image "
            f"({s.img_channels} channels {s.img_resolution} px)"
        )


def _check_sg3_layer(where: str, layer: SG3LayerSpec) -> None:
    for key in ("is_torgb", "is_critically_sampled", "use_fp16", "down_radial"):
        if type(getattr(layer, key)) is not bool:
            raise SpecError(f"{where}.{key}={_show(getattr(layer, key))} is not a bool")
    _int_in(f"{where}.in_channels", layer.in_channels, 1, MAX_CHANNELS)
    _int_in(f"{where}.out_channels", layer.out_channels, 1, MAX_CHANNELS)
    for key in ("in_size", "out_size"):
        value = getattr(layer, key)
        if not isinstance(value, tuple) or len(value) != 2:
            raise SpecError(f"{where}.{key}={_show(value)} is not a pair")
        for axis, n in zip("xy", value, strict=True):
            _int_in(f"{where}.{key}[{axis}]", n, 1, MAX_SIZE)
    for key in ("in_sampling_rate", "out_sampling_rate", "tmp_sampling_rate",
                "in_cutoff", "out_cutoff"):  # fmt: skip
        _float_in(f"{where}.{key}", getattr(layer, key), 0, MAX_SAMPLING_RATE, lo_open=True)
    for key in ("in_half_width", "out_half_width"):
        _float_in(f"{where}.{key}", getattr(layer, key), 0, MAX_SAMPLING_RATE)
    _int_in(f"{where}.conv_kernel", layer.conv_kernel, 1, MAX_KERNEL)
    _clamp_ok(f"{where}.conv_clamp", layer.conv_clamp)
    _int_in(f"{where}.up_factor", layer.up_factor, 1, MAX_FACTOR)
    _int_in(f"{where}.down_factor", layer.down_factor, 1, MAX_FACTOR)
    _int_in(f"{where}.up_taps", layer.up_taps, 1, MAX_TAPS)
    _int_in(f"{where}.down_taps", layer.down_taps, 1, MAX_TAPS)
    if not isinstance(layer.padding, tuple) or len(layer.padding) != 4:
        raise SpecError(f"{where}.padding={_show(layer.padding)} is not 4 integers")
    for i, p in enumerate(layer.padding):
        _int_in(f"{where}.padding[{i}]", p, -MAX_PADDING, MAX_PADDING)
    # The filtered nonlinearity must produce exactly out_size (spec §3.6 padding formula).
    k, up, down = layer.conv_kernel, layer.up_factor, layer.down_factor
    taps = layer.up_taps + layer.down_taps - 2
    for axis in (0, 1):
        total = (layer.out_size[axis] - 1) * down + 1 - (layer.in_size[axis] + k - 1) * up + taps
        lo, hi = layer.padding[2 * axis : 2 * axis + 2]
        if lo + hi != total:
            raise SpecError(
                f"{where}.padding={list(layer.padding)} does not turn {list(layer.in_size)} into "
                f"{list(layer.out_size)} with up {up}, down {down}, kernel {k} (sum {total} "
                f"expected on axis {'xy'[axis]})"
            )
        side = (layer.in_size[axis] + k - 1) * up + abs(lo) + abs(hi)
        _activation(where, layer.out_channels * side * side)
