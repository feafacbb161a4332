"""3x3 convolutions in float32 on CPUs by Winograd's minimal filtering, F(4x4, 3x3).

A stride-1 3x3 convolution computes each 4x4 output tile from a 6x6 input tile. Winograd's
algorithm (Lavin and Gray 2016, "Fast Algorithms for Convolutional Neural Networks") turns the
tile's 4*4*9 = 144 multiplications per input/output channel pair into 36: the input tiles and
the weight are transformed (V = B^T d B, U = G g G^T), the 36 transformed positions are 36
independent matrix products over the channels (M = V U, one batched GEMM that runs at the CPU's
float32 GEMM peak), and the output tile is A^T M A. The products are 4x fewer than a direct conv's,
the transforms are memory passes. Interpolation points 0, +-1, +-2 (and infinity). Accuracy,
against a float64 conv: the largest error is 1e-5 to 2e-5 of the largest output at 128-512
channels (oneDNN's direct conv: about 1e-6; benchmarks/winograd.py); on NVIDIA's golden networks
the images stay within 1.2e-6 relative (the thresholds: 1e-4), and StyleGAN3-T-256's and
StyleGAN2-256's images move by under 3e-5 (benchmarks/ladder.py).

This is the kind of algorithm cuDNN and oneDNN pick for float32 3x3 convs; torch's CPU conv has
no switch for oneDNN's, so it is written here with torch's own GEMMs: `transform_weight` once per
weight (cached by the caller), `conv3x3` per call. The image is processed in bands of tile rows
whose buffers are reused from call to call (per thread), so the transforms touch warm memory
instead of freshly mapped pages, and a band's buffers stay in the caches.

Worth it where channels are many (`pays_off`). A thread keeps about 80 MiB of buffers at
StyleGAN3-T-256's sizes.
"""

from __future__ import annotations

import threading

import torch

# The exact-mode switch (benchmarks/ladder.py turns it off to measure it).
ENABLED = True
# Where the transforms' memory passes cost less than the products they save (benchmarks/winograd.py
# on an AMX Xeon, 2 threads, against oneDNN's direct conv: 64 -> 64 channels at 276 px
# 1.03x, 91 -> 64 at 276 px 1.08x, 128 -> 91 at 276 px 1.43x, 512 -> 512 at 84 px 2.71x):
# in_channels * out_channels above 64 * 64.
MIN_CHANNEL_PRODUCT = 64 * 64 + 1
# Floats of gathered input tiles per band (16 MiB): bands of 1 Mi floats measured 9 % slower (less
# work per GEMM), the whole image at once 9 % slower (buffers out of the caches).
BAND_FLOATS = 4 << 20

_B_T = (
    (4, 0, -5, 0, 1, 0),
    (0, -4, -4, 1, 1, 0),
    (0, 4, -4, -1, 1, 0),
    (0, -2, -1, 2, 1, 0),
    (0, 2, -1, -2, 1, 0),
    (0, 4, 0, -5, 0, 1),
)
_G = (
    (1 / 4, 0, 0),
    (-1 / 6, -1 / 6, -1 / 6),
    (-1 / 6, 1 / 6, -1 / 6),
    (1 / 24, 1 / 12, 1 / 6),
    (1 / 24, -1 / 12, 1 / 6),
    (0, 0, 1),
)
_A_T = (
    (1, 1, 1, 1, 1, 0),
    (0, 1, -1, 2, -2, 0),
    (0, 1, 1, 4, 4, 0),
    (0, 1, -1, 8, -8, 1),
)
TILE = 4  # output tile side
SPAN = 6  # input tile side: TILE + 3 - 1


def _kron(rows: tuple) -> torch.Tensor:
    m = torch.tensor(rows, dtype=torch.float64)
    return torch.kron(m, m)


_INPUT = _kron(_B_T).to(torch.float32)  # [36, 36]: vec(B^T d B) = (B^T (x) B^T) vec(d)
_OUTPUT = _kron(_A_T).to(torch.float32)  # [16, 36]: vec(A^T m A)
_WEIGHT = _kron(_G)  # [36, 9] float64


def pays_off(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether `conv3x3` is the one to use for conv2d(x, weight) with stride 1 (when ENABLED):
    float32 on the CPU, a 3x3 kernel, and channels enough for the products to dominate."""
    return (
        ENABLED
        and not x.is_cuda
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and weight.ndim == 4
        and tuple(weight.shape[2:]) == (3, 3)
        and weight.shape[0] * weight.shape[1] >= MIN_CHANNEL_PRODUCT
    )


def transform_weight(weight: torch.Tensor) -> torch.Tensor:
    """[O, I, 3, 3] -> U = G g G^T per channel pair, float32 [36, I, O] (computed in float64)."""
    out_ch, in_ch = weight.shape[:2]
    g = weight.detach().to(torch.float64).reshape(out_ch * in_ch, 9)
    u = _WEIGHT.to(g.device) @ g.t()  # [36, O*I]
    return u.reshape(36, out_ch, in_ch).transpose(1, 2).to(torch.float32).contiguous()


class _Buffers(threading.local):
    """Per-thread scratch, grown to the largest request and reused (warm pages)."""

    def __init__(self) -> None:
        self.store: dict[str, torch.Tensor] = {}

    def get(self, name: str, numel: int, device: torch.device) -> torch.Tensor:
        buf = self.store.get(name)
        if buf is None or buf.numel() < numel or buf.device != device:
            # a normal tensor even when the first call runs under torch.inference_mode(): an
            # inference tensor could not be written by a later call outside it
            with torch.inference_mode(False):
                buf = torch.empty(numel, dtype=torch.float32, device=device)
            self.store[name] = buf
        return buf[:numel]


_buffers = _Buffers()


def conv3x3(
    x: torch.Tensor, u: torch.Tensor, padding: int, in_scale: torch.Tensor | None = None
) -> torch.Tensor:
    """conv2d(x, weight, padding=padding) for U = transform_weight(weight), float32.

    Args:
        x: [N, I, H, W] float32 (any layout; channels-last is read without a copy).
        u: [36, I, O] from `transform_weight`.
        padding: zero padding on every side (0, 1 or 2 for StyleGAN's layers).
        in_scale: None, or [I]: x's input channels scaled first (a one-sample modulation, done
            on U's rows: the same product).
    Returns:
        [N, O, H + 2*padding - 2, W + 2*padding - 2] float32, channels-last.
    """
    n, in_ch, h, w = x.shape
    out_ch = u.shape[2]
    if in_scale is not None:
        scaled = _buffers.get("u", u.numel(), u.device).view_as(u)
        u = torch.mul(u, in_scale.to(torch.float32).reshape(1, in_ch, 1), out=scaled)
    out_h, out_w = h + 2 * padding - 2, w + 2 * padding - 2
    tiles_h, tiles_w = -(-out_h // TILE), -(-out_w // TILE)
    pad_w = TILE * tiles_w + 2
    y = torch.empty(
        (n, out_ch, out_h, out_w), dtype=torch.float32, device=x.device,
        memory_format=torch.channels_last,
    )  # fmt: skip
    if y.numel() == 0:
        return y
    x_hwc = x.permute(0, 2, 3, 1)  # [N, H, W, I]
    y_hwc = y.permute(0, 2, 3, 1)  # [N, out_h, out_w, O], contiguous
    band = max(1, min(tiles_h, BAND_FLOATS // (36 * tiles_w * in_ch)))
    for i in range(n):
        for r0 in range(0, tiles_h, band):
            rows = min(band, tiles_h - r0)
            xp = _padded_rows(x_hwc[i], padding, TILE * r0, TILE * rows + 2, pad_w)
            _band(xp, u, y_hwc[i, TILE * r0 : TILE * (r0 + rows)])
    return y


def _padded_rows(x_hwc: torch.Tensor, padding: int, top: int, count: int, width: int):
    """Rows top .. top+count of x [H, W, I] zero-padded by `padding` (and on the right and bottom
    to `width` columns and `count` rows), in a reused buffer: [count, width, I]."""
    h, w, in_ch = x_hwc.shape
    xp = _buffers.get("pad", count * width * in_ch, x_hwc.device).view(count, width, in_ch)
    first, last = max(top - padding, 0), min(top - padding + count, h)  # x rows inside
    inside = max(last - first, 0)
    start = first + padding - top  # where they go
    xp[:start].zero_()
    xp[start + inside :].zero_()
    if inside:
        xp[start : start + inside, :padding].zero_()
        xp[start : start + inside, padding + w :].zero_()
        xp[start : start + inside, padding : padding + w].copy_(x_hwc[first:last])
    return xp


def _band(xp: torch.Tensor, u: torch.Tensor, y_rows: torch.Tensor) -> None:
    """One band of output tile rows: gather the input tiles of xp [4*rows + 2, 4*tiles_w + 2, I],
    transform, multiply by U, transform back into y_rows [<= 4*rows, out_w, O]."""
    pad_w, in_ch = xp.shape[1:]
    rows, tiles_w = (xp.shape[0] - 2) // TILE, (pad_w - 2) // TILE
    out_ch = u.shape[2]
    count = rows * tiles_w  # tiles in the band
    device = xp.device
    step_row, step_col = pad_w * in_ch, in_ch
    view = xp.as_strided(
        (SPAN, SPAN, rows, tiles_w, in_ch),
        (step_row, step_col, TILE * step_row, TILE * step_col, 1),
    )  # [a, b, tile row, tile col, I]: d[a, b] of every tile
    d = _buffers.get("d", 36 * count * in_ch, device)
    d.view(SPAN, SPAN, rows, tiles_w, in_ch).copy_(view)
    v = _buffers.get("v", 36 * count * in_ch, device).view(36, count * in_ch)
    torch.matmul(_INPUT.to(device), d.view(36, count * in_ch), out=v)
    m = _buffers.get("m", 36 * count * out_ch, device).view(36, count, out_ch)
    torch.bmm(v.view(36, count, in_ch), u, out=m)
    t = _buffers.get("t", 16 * count * out_ch, device).view(16, count * out_ch)
    torch.matmul(_OUTPUT.to(device), m.view(36, count * out_ch), out=t)
    _write_tiles(t.view(TILE, TILE, rows, tiles_w, out_ch), y_rows)


def _write_tiles(t: torch.Tensor, dest: torch.Tensor) -> None:
    """Output tiles t [p, q, tile row, tile col, O] into dest [rows, columns, O], where the rows
    are (tile row, p), the columns (tile col, q), and the last tiles may hang over dest's edge."""
    tiles = t.permute(2, 0, 3, 1, 4)  # [tile row, p, tile col, q, O]
    height, width, out_ch = dest.shape
    full_h, full_w = height // TILE, width // TILE
    rest_h, rest_w = height - TILE * full_h, width - TILE * full_w
    dest[: TILE * full_h, : TILE * full_w].unflatten(1, (full_w, TILE)).unflatten(
        0, (full_h, TILE)
    ).copy_(tiles[:full_h, :, :full_w])
    if rest_w:  # the last tile column, cut
        dest[: TILE * full_h, TILE * full_w :].unflatten(0, (full_h, TILE)).copy_(
            tiles[:full_h, :, full_w, :rest_w]
        )
    if rest_h:  # the last tile row, cut
        last = tiles[full_h, :rest_h].reshape(rest_h, -1, out_ch)
        dest[TILE * full_h :].copy_(last[:, :width])
