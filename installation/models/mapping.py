"""Mapping network z, c -> ws, shared by StyleGAN2 and StyleGAN3 (spec §3.1, §3.2)."""

from __future__ import annotations

import torch
from torch import nn

import kernels

from .latents import truncate_ws
from .spec import MappingSpec


class FullyConnectedLayer(nn.Module):
    """Equalized-learning-rate linear layer: y = act(x (W * weight_gain)^T + b * bias_gain)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.zeros(out_features, in_features), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(out_features), requires_grad=False) if bias else None
        self.weight_gain = lr_multiplier / in_features**0.5
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None if self.bias is None else self.bias.to(x.dtype) * self.bias_gain
        if self.activation == "linear":
            return x.matmul(w.t()) if b is None else torch.addmm(b.unsqueeze(0), x, w.t())
        return kernels.bias_act(x.matmul(w.t()), b, act=self.activation)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) over the feature axis."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z [N, z_dim], c [N, c_dim] -> ws [N, num_ws, w_dim], with truncation around w_avg."""

    def __init__(self, spec: MappingSpec) -> None:
        super().__init__()
        self.spec = spec
        self.z_dim, self.c_dim, self.w_dim = spec.z_dim, spec.c_dim, spec.w_dim
        self.num_ws = spec.num_ws
        if spec.c_dim > 0:
            self.embed = FullyConnectedLayer(spec.c_dim, spec.embed_features)
        else:
            self.embed = None
        widths = [spec.z_dim + spec.embed_features]
        widths += [spec.layer_features] * (spec.num_layers - 1) + [spec.w_dim]
        for i in range(spec.num_layers):
            layer = FullyConnectedLayer(
                widths[i], widths[i + 1], activation="lrelu", lr_multiplier=spec.lr_multiplier
            )
            setattr(self, f"fc{i}", layer)
        if spec.has_w_avg:
            self.register_buffer("w_avg", torch.zeros(spec.w_dim))
        else:
            self.w_avg = None

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        """Map latents to per-layer ws.

        Args:
            z: [N, z_dim] (any float dtype; computed in float32).
            c: [N, c_dim] one-hot labels, required when c_dim > 0.
            truncation_psi: 1 = no truncation; rows [:cutoff] move toward w_avg by psi.
            truncation_cutoff: number of leading rows truncated; None = all.
        Returns:
            ws [N, num_ws, w_dim] float32.
        """
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is conditional (c_dim={self.c_dim}): pass c")
            parts.append(normalize_2nd_moment(self.embed(c.to(torch.float32))))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for i in range(self.spec.num_layers):
            x = getattr(self, f"fc{i}")(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)  # [N, num_ws, w_dim]
        return self.truncate(ws, truncation_psi, truncation_cutoff)

    def truncate(
        self, ws: torch.Tensor, psi: float = 1.0, cutoff: int | None = None
    ) -> torch.Tensor:
        """Move rows [:cutoff] of ws toward w_avg: w_avg + psi * (w - w_avg) (spec §3.2 step 6)."""
        if psi == 1:
            return ws
        if self.w_avg is None:
            raise ValueError("this generator stores no w_avg, so truncation is not available")
        return truncate_ws(ws, self.w_avg, psi, cutoff)  # a copy
