"""NVIDIA's latent rules, in one place: seed -> z, class -> c, z -> ws, truncation, ws edits, and
float image -> uint8.

The array rules take numpy arrays and torch tensors alike and keep each one's arithmetic (numpy
float64 on the timeline's side, torch float32 on the renderer's), so results are bit-identical to
what each side computed before. Torch is imported only where a tensor is made: the numpy rules run
without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

Array = TypeVar("Array", np.ndarray, "torch.Tensor")


def seed_to_z(seed: int, z_dim: int) -> np.ndarray:
    """NVIDIA's z for a seed: np.random.RandomState(seed).randn(z_dim) as float32, shape [z_dim]."""
    return np.random.RandomState(seed).randn(z_dim).astype(np.float32)


def seed_z(seed: int, z_dim: int) -> torch.Tensor:
    """z [1, z_dim] float32 tensor for a seed, exactly as NVIDIA's tools draw it (seed_to_z)."""
    import torch

    return torch.from_numpy(seed_to_z(seed, z_dim)[None])  # [1, z_dim]


def class_vector(
    c_dim: int,
    class_index: int | torch.Tensor | None,
    batch: int = 1,
    device: torch.device | str | None = None,
) -> torch.Tensor | None:
    """One-hot labels c [batch, c_dim] float32 for a conditional generator; None when c_dim == 0.

    Args:
        c_dim: the generator's number of classes (0: unconditional).
        class_index: the class of every row; or a tensor [batch] of one class per row (its
            length sets the batch); None gives an all-zero c (no class).
        batch: number of rows when class_index is an int or None.
        device: where c is made.
    """
    if c_dim == 0:
        return None
    import torch

    if isinstance(class_index, torch.Tensor):
        labels = class_index.to(device=device, dtype=torch.long)
        c = torch.zeros(len(labels), c_dim, device=device)
        c[torch.arange(len(labels), device=device), labels] = 1.0
        return c
    c = torch.zeros(batch, c_dim, device=device)
    if class_index is not None:
        c[:, class_index] = 1.0
    return c


def map_z(
    G: Any,
    z: torch.Tensor,
    class_index: int | None = None,
    psi: float = 1.0,
    cutoff: int | None = None,
) -> torch.Tensor:
    """z [N, z_dim] -> ws [N, num_ws, w_dim] through G.mapping with a model entry's class, psi and
    cutoff (c is made on z's device; call under torch.inference_mode())."""
    c = class_vector(int(getattr(G, "c_dim", 0)), class_index, z.shape[0], z.device)
    return G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)


def truncate_ws(ws: Array, w_avg: Array, psi: Any, cutoff: int | None = None) -> Array:
    """A copy of ws [..., num_ws, w_dim] with rows [:cutoff] moved toward w_avg by psi (spec §3.2
    step 6): w_avg + psi * (ws - w_avg). cutoff None: every row.

    numpy computes exactly that expression (in ws's dtype: the timeline's float64); torch uses
    w_avg.lerp(ws, psi), as NVIDIA's mapping network does. psi 1 still goes through the
    arithmetic here (MappingNetwork.truncate skips it).
    """
    rows = slice(0, cutoff)
    if isinstance(ws, np.ndarray):
        out = ws.copy()
        out[..., rows, :] = w_avg + psi * (out[..., rows, :] - w_avg)
        return out
    out = ws.clone()
    out[..., rows, :] = w_avg.lerp(out[..., rows, :], psi)
    return out


def edit_ws(
    ws: Array,
    mixing: Sequence[tuple[int, int, np.ndarray]] = (),
    delta: np.ndarray | None = None,
) -> Array:
    """A copy of ws [..., num_ws, w_dim] with style-mixing rows replaced, then a direction delta
    added (in that order).

    Args:
        ws: numpy array (the timeline's float64) or tensor (the renderer's, on any device).
        mixing: (first row, stop row, source ws [num_ws, w_dim]): rows [first:stop] of ws become
            the source's rows.
        delta: [num_ws, w_dim] added to every row, or None. For a tensor, the sources and delta
            are rounded to float32 first, then moved to ws's device and dtype.
    """
    if isinstance(ws, np.ndarray):
        out = ws.copy()
        for first, stop, source in mixing:
            out[..., first:stop, :] = source[first:stop]
        if delta is not None:
            out += delta
        return out
    import torch

    def as_tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(array, np.float32)).to(ws.device, ws.dtype)

    out = ws.clone()
    for first, stop, source in mixing:
        out[..., first:stop, :] = as_tensor(source[first:stop])
    if delta is not None:
        out = out + as_tensor(delta)
    return out


def float_to_uint8(x: Array) -> Array:
    """Image values ~[-1, 1] -> uint8, any layout: NVIDIA's x * 127.5 + 128 in float32, clamped to
    [0, 255], truncated. Returns the same kind (numpy or torch, same device) as x.

    The display's fragment shader does the same for float planes (display/shaders/quad.frag).
    """
    if isinstance(x, np.ndarray):
        return np.clip(x.astype(np.float32) * 127.5 + 128.0, 0.0, 255.0).astype(np.uint8)
    import torch

    return (x.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float ~[-1, 1] -> [N, H, W, C] uint8 numpy (float_to_uint8)."""
    return float_to_uint8(img.permute(0, 2, 3, 1)).cpu().numpy()
