"""filtered_lrelu: bias, upsample + FIR, leaky ReLU, gain, clamp, FIR + downsample (spec 4.3).

- `_reference`: the definition: x + b, `upfirdn2d._reference` up (gain up^2), lrelu, * gain, clamp,
  `upfirdn2d._reference` down. Zero-stuffed full-rate tensors, slow.
- `_fast`: the "torch" backend, exact to rounding: polyphase up pass and strided down pass (see
  upfirdn2d), gain folded into the up filter, the activation done in place, and the image
  processed in row strips so that the full-rate intermediate stays small.
- `_cuda`: no fused kernel yet; runs `_fast` on the GPU (the fused kernel is future work).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from kernels import backend
from kernels.upfirdn2d import (
    _memory_format,
    check_filter,
    check_image,
    fast_channels_last,
    filter_size,
    output_size,
    parse_padding,
    parse_scaling,
)
from kernels.upfirdn2d import _reference as _upfirdn2d_reference

log = logging.getLogger(__name__)

# Bytes of full-rate intermediate computed per strip by `_fast` (measured in benchmarks/kernels.py;
# small enough to stay in the allocator's reused memory, large enough to amortise the filter halos).
STRIP_BYTES = 8 << 20


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None = None,
    fd: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
    flip_filter: bool = False,
) -> torch.Tensor:
    """Bias, upfirdn(fu, up, padding, gain up^2), lrelu(slope) * gain, clamp, upfirdn(fd, down).

    Args:
        x: [N, C, H, W]; b: None or [C]; fu, fd: None, 1D (separable) or 2D filters.
        up, down: int or (x, y); padding: int, (x, y) or (x0, x1, y0, y1) for the up pass.
    Backend "reference" runs the literal spec 4.3 sequence, "torch" the exact strip-wise polyphase
    path; the CUDA path is not there yet.
    """
    check_image(x)
    fu = check_filter(fu, "fu")
    fd = check_filter(fd, "fd")
    up = parse_scaling(up, "up")
    down = parse_scaling(down, "down")
    pad = parse_padding(padding)
    if b is not None:
        if not isinstance(b, torch.Tensor) or b.ndim != 1 or b.shape[0] != x.shape[1]:
            shape = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            raise ValueError(f"b must be None or a [C] = [{x.shape[1]}] tensor, got {shape}")
    if clamp is not None and not clamp >= 0:
        raise ValueError(f"clamp must be None or >= 0, got {clamp!r}")
    (fuw, fuh), (fdw, fdh) = filter_size(fu), filter_size(fd)
    mid_w = output_size(x.shape[3], up[0], 1, pad[0], pad[1], fuw)
    mid_h = output_size(x.shape[2], up[1], 1, pad[2], pad[3], fuh)
    if min(mid_w - fdw, mid_h - fdh) < 0:
        raise ValueError(
            f"filter too big for input: x {x.shape[2]}x{x.shape[3]} (HxW), up {up}, padding {pad}, "
            f"fu {fuh}x{fuw} and fd {fdh}x{fdw} give an empty output"
        )
    args = (
        x,
        fu,
        fd,
        b,
        up,
        down,
        pad,
        float(gain),
        float(slope),
        None if clamp is None else float(clamp),
        bool(flip_filter),
    )
    name = backend.current()
    if name == "reference":
        return _reference(*args)
    if name == "cuda" and x.is_cuda:
        return _cuda(*args)
    return _fast(*args)


def _reference(x, fu, fd, b, up, down, pad, gain: float, slope: float, clamp, flip_filter: bool):
    """Literal spec 4.3: bias, up pass, lrelu, gain, clamp, down pass."""
    if b is not None:
        x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    x = _upfirdn2d_reference(x, fu, up, (1, 1), pad, flip_filter, up[0] * up[1])
    x = F.leaky_relu(x, slope)
    x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return _upfirdn2d_reference(x, fd, (1, 1), down, (0, 0, 0, 0), flip_filter, 1)


def _fast(x, fu, fd, b, up, down, pad, gain: float, slope: float, clamp, flip_filter: bool):
    """Same result as `_reference` (to rounding), computed strip by strip without zero stuffing."""
    if x.shape[0] > 1:
        # one sample at a time: strips then stay tall, so the filter halos stay a small overhead
        return torch.cat(
            [
                _fast(x[i : i + 1], fu, fd, b, up, down, pad, gain, slope, clamp, flip_filter)
                for i in range(x.shape[0])
            ]
        )
    n, c, h, w = x.shape
    px0, px1, py0, py1 = pad
    fuw, fuh = filter_size(fu)
    fdh = filter_size(fd)[1]
    mid_w = output_size(w, up[0], 1, px0, px1, fuw)
    mid_h = output_size(h, up[1], 1, py0, py1, fuh)
    out_h = output_size(mid_h, 1, down[1], 0, 0, fdh)
    # lrelu is positively homogeneous: fold a positive gain into the up filter
    up_gain = up[0] * up[1] * (gain if gain > 0 else 1.0)
    post_gain = 1.0 if gain > 0 else gain

    xb = torch.empty_like(x, memory_format=torch.channels_last)  # bias + layout in one pass
    if b is not None:
        torch.add(x, b.to(x.dtype).reshape(1, -1, 1, 1), out=xb)
    else:
        xb.copy_(x)

    row_bytes = n * c * mid_w * x.element_size() * down[1]
    rows = max(1, STRIP_BYTES // max(row_bytes, 1))
    out = None
    for o0 in range(0, out_h, rows):
        o1 = min(out_h, o0 + rows)
        m0, m1 = o0 * down[1], (o1 - 1) * down[1] + fdh  # full-rate rows this strip needs
        sy0 = py0 - m0
        sy1 = (m1 - m0) + fuh - 1 - h * up[1] - sy0
        t = fast_channels_last(xb, fu, up, (1, 1), (px0, px1, sy0, sy1), flip_filter, up_gain)
        if slope != 1:
            F.leaky_relu_(t, slope)
        if post_gain != 1:
            t.mul_(post_gain)
        if clamp is not None:
            t.clamp_(-clamp, clamp)
        y = fast_channels_last(t, fd, (1, 1), down, (0, 0, 0, 0), flip_filter, 1.0)
        if out is None:
            if o1 == out_h:  # a single strip
                return y.contiguous(memory_format=_memory_format(x))
            shape = [n, c, out_h, y.shape[3]]
            out = torch.empty(
                shape, dtype=x.dtype, device=x.device, memory_format=_memory_format(x)
            )
        out[:, :, o0:o1] = y
    return out


def _cuda(x, fu, fd, b, up, down, pad, gain, slope, clamp, flip_filter) -> torch.Tensor:
    """CUDA backend: the fused kernel is not written yet, so the torch path runs on the GPU.

    (bias_act and upfirdn2d have CUDA kernels; this op must never fail because one is missing.)
    """
    return _fast(x, fu, fd, b, up, down, pad, gain, slope, clamp, flip_filter)
