"""Generator: mapping + synthesis, with NVIDIA's attribute names and call signatures."""

from __future__ import annotations

import torch
from torch import nn

from installation.options import PRECISIONS

from . import stylegan2, stylegan3
from .mapping import MappingNetwork
from .spec import NetworkSpec, Precision, SG2Spec


class Generator(nn.Module):
    """A StyleGAN2 or StyleGAN3 generator built from a NetworkSpec (inference only).

    Attributes follow NVIDIA's naming: z_dim, c_dim, w_dim, num_ws, img_resolution, img_channels,
    and the submodules `mapping` and `synthesis`.
    """

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        self.spec = spec
        self.z_dim, self.c_dim, self.w_dim = spec.z_dim, spec.c_dim, spec.w_dim
        self.num_ws = spec.num_ws
        self.img_resolution, self.img_channels = spec.img_resolution, spec.img_channels
        self.architecture = spec.architecture
        self.mapping = MappingNetwork(spec.mapping)
        if isinstance(spec.synthesis, SG2Spec):
            self.synthesis: nn.Module = stylegan2.SynthesisNetwork(spec.synthesis)
        else:
            self.synthesis = stylegan3.SynthesisNetwork(spec.synthesis)
        self.precision: Precision = "exact"
        self.set_precision("exact")
        self.requires_grad_(False)
        self.eval()

    @property
    def is_stylegan3(self) -> bool:
        """True for StyleGAN3 (T or R): it has an input transform (camera)."""
        return self.architecture != "stylegan2"

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
        **synthesis_kwargs: object,
    ) -> torch.Tensor:
        """z [N, z_dim] (+ c [N, c_dim]) -> img [N, img_channels, R, R] float32, about [-1, 1].

        Unlike NVIDIA's API the default noise_mode is 'const', so the same z gives the same image.
        """
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, **synthesis_kwargs)

    def set_precision(self, precision: Precision) -> Generator:
        """'exact': float32 everywhere (matches NVIDIA's float32 output); 'fast': bf16 on CPU,
        fp16 for the file's use_fp16 layers on CUDA."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be 'exact' or 'fast', got {precision!r}")
        self.precision = precision
        fast = precision == "fast"
        self.synthesis.compute_dtype = torch.bfloat16 if fast else None
        # channels-last activations: faster convolutions and FIR passes on CPU in both modes
        self.synthesis.memory_format = torch.channels_last
        return self

    def num_parameters(self) -> int:
        """Number of parameter elements (as NVIDIA counts them)."""
        return sum(p.numel() for p in self.parameters())

    def fp16_layers(self) -> list[str]:
        """Names of the blocks/layers the file marks as fp16 (used on CUDA in fast mode)."""
        syn = self.synthesis
        if isinstance(syn, stylegan2.SynthesisNetwork):
            return [f"b{r}" for r in syn.block_resolutions if getattr(syn, f"b{r}").use_fp16]
        return [name for name in syn.layer_names if getattr(syn, name).use_fp16]
