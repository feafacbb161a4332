"""Latents and images at the edge of the generator: NVIDIA-compatible seeds, uint8 conversion."""

from __future__ import annotations

import numpy as np
import torch


def seed_z(seed: int, z_dim: int) -> torch.Tensor:
    """z [1, z_dim] for a seed exactly as NVIDIA's tools draw it: RandomState(seed).randn."""
    return torch.from_numpy(np.random.RandomState(seed).randn(1, z_dim)).to(torch.float32)


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float ~[-1, 1] -> [N, H, W, C] uint8 (NVIDIA's x*127.5+128, clamped)."""
    x = (img.float().permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return x.cpu().numpy()
