"""NetworkSpec: the hyperparameters of a generator, read from a file, that build our modules.

Network hyperparameters are data (STYLE.md §6): the loaders fill these frozen dataclasses from
each module's stored attributes (spec §1.7 step 3), and the model classes are built from them.
The specs round-trip through JSON, which is how our own checkpoint format stores them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

Architecture = Literal["stylegan2", "stylegan3-t", "stylegan3-r"]
SG2Kind = Literal["orig", "skip", "resnet"]
Precision = Literal["exact", "fast"]


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
        """Inverse of to_json; raises ValueError on a malformed document."""
        data = json.loads(text)
        try:
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
                raise ValueError(f"unknown synthesis type {synthesis_type!r}")
            return NetworkSpec(mapping=mapping, synthesis=synthesis, **data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed network spec: {exc}") from exc
