"""filtered_lrelu: bias, upsample + FIR, leaky ReLU, gain, clamp, FIR + downsample (spec 4.3).

- `_reference`: the definition: x + b, `upfirdn2d._reference` up (gain up^2), lrelu, * gain, clamp,
  `upfirdn2d._reference` down. Zero-stuffed full-rate tensors, slow.
- `_fast`: the "torch" backend, exact to rounding: polyphase up pass and strided down pass (see
  upfirdn2d), gain folded into the up filter, the activation done in place, and the image
  processed in row strips so that the full-rate intermediate stays small.
- `_cuda`: csrc/filtered_lrelu.cu, the whole op fused in one launch per call: each block keeps
  its input tile, full-rate tile and filters in shared memory (float32/float16; separable or 2-D
  fu and fd). Shapes it does not support (see `_cuda_plan`) run `_fast` on the GPU instead.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from kernels import _compile, backend
from kernels.upfirdn2d import (
    Activation,
    _memory_format,
    channel_operand,
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

_CL = torch.channels_last

# Bytes of full-rate intermediate computed per strip by `_fast` (measured in benchmarks/kernels.py;
# small enough to stay in the allocator's reused memory, large enough to amortise the filter halos).
STRIP_BYTES = 8 << 20
# A batch whose full-rate intermediate fits one strip runs in one pass (benchmarks/ladder.py
# turns this off to measure it).
WHOLE_BATCH_STRIP = True
# The nonlinearity rides on the up pass: the lrelu as the height phase convs' oneDNN post-op
# (upfirdn2d.CONV_LRELU; else after the clamp, see `_activation`), the clamp in the copies that
# interleave the phases, instead of three passes (interleave, lrelu, clamp) over the full-rate
# intermediate. The same float32 values; benchmarks/ladder.py turns it off to measure it.
FUSED_ACTIVATION = True
# The clamp is left out where it can't bite: every full-rate sample is a sum of input samples
# times up-filter taps, so |t| <= max|x| * (sum of |taps|) (see `_clamp_cannot_bite`). The same
# values, one pass less over the full-rate intermediate; benchmarks/ladder.py turns it off.
CLAMP_BOUND = True


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
    path, "cuda" the fused kernel (float32/float16; other dtypes and shapes too big for its shared
    memory tiles take the torch path on the GPU).
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


def _fits_one_strip(x: torch.Tensor, fu, up, pad) -> bool:
    """Whether the whole batch's full-rate intermediate fits one strip (small layers, e.g. the
    demo's: one pass for the batch instead of one per sample, each mostly call overhead)."""
    n, c, h, w = x.shape
    mid_w = output_size(w, up[0], 1, pad[0], pad[1], filter_size(fu)[0])
    mid_h = output_size(h, up[1], 1, pad[2], pad[3], filter_size(fu)[1])
    return n * c * mid_w * mid_h * x.element_size() <= STRIP_BYTES


@functools.lru_cache(maxsize=64)
def _activation(slope: float, clamp: float | None, dtype: torch.dtype) -> Activation | None:
    """clamp(lrelu(t), -clamp, clamp) as lrelu(clamp(t, lo, clamp)), or None where not exact.

    The two are equal for every t of dtype when lrelu(lo) rounds to -clamp exactly (rounding is
    monotonic): t < lo gives -clamp both ways, t in [lo, clamp] is inside the clamp range after
    the lrelu. Checked here in dtype; slopes outside (0, 1] and NaN bounds keep the plain order.
    """
    if clamp is None:
        return Activation(slope)
    if not 0 < slope <= 1 or not math.isfinite(clamp):
        return None
    if slope == 1:
        return Activation(slope, -clamp, clamp)
    lo = torch.tensor(-clamp / slope, dtype=dtype)
    hi = torch.tensor(clamp, dtype=dtype)
    if float(hi) != clamp or float(F.leaky_relu(lo, slope)) != float(-hi):
        return None
    return Activation(slope, float(lo), clamp)


def _clamp_cannot_bite(x: torch.Tensor, fu: torch.Tensor | None, up_gain: float, clamp) -> bool:
    """Whether no sample of the up pass (fu with gain up_gain over x) can exceed the clamp.

    A full-rate sample is a sum of x's samples times taps of fu (both 1D passes for a separable
    fu), so its size is at most max|x| * up_gain * sum|fu| (squared when separable). A margin of
    1e-3 covers float rounding; a NaN in x keeps the clamp. One read of the (low-rate) input,
    on the CPU only.
    """
    if not CLAMP_BOUND or x.is_cuda or x.numel() == 0:  # on a GPU the peak would cost a sync
        return False
    # over the channels-last memory in order (torch reduces a channels-last tensor in NCHW order,
    # strided: 10-28x slower at these sizes)
    lo, hi = torch.aminmax(x.permute(0, 2, 3, 1) if x.is_contiguous(memory_format=_CL) else x)
    peak = max(-float(lo), float(hi))
    taps = 1.0 if fu is None else float(fu.double().abs().sum())
    if fu is not None and fu.ndim == 1:
        taps *= taps
    return peak * abs(up_gain) * taps * (1 + 1e-3) <= clamp  # False for NaN and inf


def _fast(x, fu, fd, b, up, down, pad, gain: float, slope: float, clamp, flip_filter: bool):
    """Same result as `_reference` (to rounding), computed strip by strip without zero stuffing."""
    if x.shape[0] > 1 and not (WHOLE_BATCH_STRIP and _fits_one_strip(x, fu, up, pad)):
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
    act = _activation(slope, clamp, x.dtype) if FUSED_ACTIVATION and post_gain == 1 else None

    if b is not None:  # bias + layout in one pass
        xb = torch.empty_like(x, memory_format=torch.channels_last)
        torch.add(x, channel_operand(b.to(x.dtype), x), out=xb)
    else:  # read only below: a channels-last x is used as it is
        xb = x.contiguous(memory_format=torch.channels_last)
    if act is not None and act.lo is not None and _clamp_cannot_bite(xb, fu, up_gain, clamp):
        act = Activation(slope)

    row_bytes = n * c * mid_w * x.element_size() * down[1]
    rows = max(1, STRIP_BYTES // max(row_bytes, 1))
    out = None
    for o0 in range(0, out_h, rows):
        o1 = min(out_h, o0 + rows)
        m0, m1 = o0 * down[1], (o1 - 1) * down[1] + fdh  # full-rate rows this strip needs
        sy0 = py0 - m0
        sy1 = (m1 - m0) + fuh - 1 - h * up[1] - sy0
        t = fast_channels_last(xb, fu, up, (1, 1), (px0, px1, sy0, sy1), flip_filter, up_gain, act)
        if act is None:
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


# ------------------------------------------------------------------------------------------------
# CUDA: csrc/filtered_lrelu.cu

CUDA_BLOCK = 256  # threads per block: FLRELU_BLOCK (the kernel's __launch_bounds__)
# Dynamic shared memory a launch may use without opting in per function (cuFuncSetAttribute).
CUDA_SHARED_LIMIT_BYTES = 48 * 1024
CUDA_MAX_GRID_YZ = 65535  # gridDim.y and gridDim.z limits (the kernel loops over planes by z)
CUDA_MAX_INT = 1 << 30  # sizes and pads must fit the kernel's int arithmetic with room to spare
# Largest output tiles (w, h) a block may compute; `_cuda_plan` shrinks each to split the output
# evenly and picks the cheapest that fits.
CUDA_TILES = ((64, 32), (32, 32), (32, 16), (16, 16), (16, 8), (8, 8), (8, 4), (4, 4))
CUDA_TILE_OVERHEAD = 256  # per-tile cost (in full-rate samples) of loads, barriers and launch


@dataclass(frozen=True)
class CudaPlan:
    """How `_cuda` launches the kernel: output tile per block, shared memory, grid."""

    tile_w: int
    tile_h: int
    shared_bytes: int
    grid: tuple[int, int, int]


def _shared_floats(tile, up, down, fu_size, fu_sep: bool, fd_size, fd_sep: bool) -> int:
    """Shared-memory floats of one block; mirrors `flrelu_layout` in csrc/filtered_lrelu.cu."""
    (tile_w, tile_h), (up_x, up_y), (down_x, down_y) = tile, up, down
    (fu_w, fu_h), (fd_w, fd_h) = fu_size, fd_size
    mid_w = (tile_w - 1) * down_x + fd_w
    mid_h = (tile_h - 1) * down_y + fd_h
    in_w = (mid_w + fu_w - 2) // up_x + 1
    in_h = (mid_h + fu_h - 2) // up_y + 1
    n_fu = fu_w + fu_h if fu_sep else fu_w * fu_h
    n_fd = fd_w + fd_h if fd_sep else fd_w * fd_h
    n_tmp = max(in_h * mid_w if fu_sep else 0, mid_h * tile_w if fd_sep else 0)
    return n_fu + n_fd + in_w * in_h + mid_w * mid_h + n_tmp


def _cuda_plan(x, fu, fd, up, down, pad) -> CudaPlan | None:
    """The cheapest tile whose shared memory fits, or None when the kernel can't take the shape.

    None for: dtypes other than float32/float16, empty inputs or outputs, sizes or pads past
    2^30 (int arithmetic), filters so large that even a 4x4 output tile needs over 48 KiB of
    shared memory, and more than 65535 tile rows.
    """
    if x.dtype not in (torch.float32, torch.float16) or x.numel() == 0:
        return None
    n, c, h, w = x.shape
    fu_size, fd_size = filter_size(fu), filter_size(fd)
    mid_w = output_size(w, up[0], 1, pad[0], pad[1], fu_size[0])
    mid_h = output_size(h, up[1], 1, pad[2], pad[3], fu_size[1])
    out_w = output_size(mid_w, 1, down[0], 0, 0, fd_size[0])
    out_h = output_size(mid_h, 1, down[1], 0, 0, fd_size[1])
    if min(out_w, out_h) < 1:
        return None
    if max(h * w, out_h * out_w, mid_h, mid_w, *map(abs, pad), *up, *down) >= CUDA_MAX_INT:
        return None
    fu_sep, fd_sep = fu is None or fu.ndim == 1, fd is None or fd.ndim == 1
    best = None
    for max_w, max_h in CUDA_TILES:
        grid = (-(-out_w // max_w), -(-out_h // max_h), min(n * c, CUDA_MAX_GRID_YZ))
        tile = (-(-out_w // grid[0]), -(-out_h // grid[1]))  # balanced: 36 = 2 x 18, not 32 + 4
        floats = _shared_floats(tile, up, down, fu_size, fu_sep, fd_size, fd_sep)
        if floats * 4 > CUDA_SHARED_LIMIT_BYTES or grid[1] > CUDA_MAX_GRID_YZ:
            continue
        mid_area = ((tile[0] - 1) * down[0] + fd_size[0]) * ((tile[1] - 1) * down[1] + fd_size[1])
        cost = grid[0] * grid[1] * (mid_area + CUDA_TILE_OVERHEAD)
        if best is None or cost < best[0]:
            best = (cost, CudaPlan(tile[0], tile[1], floats * 4, grid))
    return None if best is None else best[1]


def _kernel_filter(
    f, flip_filter: bool, gain: float, device
) -> tuple[torch.Tensor, int, int, bool]:
    """Correlation weights for the kernel: (float32 values, f_w, f_h, is_separable).

    The reference convolves (flips f) unless flip_filter; a 1D filter becomes [w_x, w_y] with the
    gain on w_x (the reference puts sqrt(gain) on each pass: the same product).
    """
    if f is None:
        f = torch.ones([1])
    f = f.to(device=device, dtype=torch.float32)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 1:
        return torch.cat([f * gain, f]).contiguous(), f.shape[0], f.shape[0], True
    return (f * gain).contiguous(), f.shape[1], f.shape[0], False


def _cuda(x, fu, fd, b, up, down, pad, gain, slope, clamp, flip_filter) -> torch.Tensor:
    """CUDA backend: csrc/filtered_lrelu.cu, one fused launch; `_fast` where `_cuda_plan` says no.

    The kernel reads NCHW planes (channels-last inputs are made contiguous first) and writes
    NCHW; the result keeps x's memory format.
    """
    plan = _cuda_plan(x, fu, fd, up, down, pad) if x.is_cuda else None  # CPU: never a launch
    if plan is None:
        return _fast(x, fu, fd, b, up, down, pad, gain, slope, clamp, flip_filter)
    name, args, y = cuda_launch_args(
        x, fu, fd, b, up, down, pad, gain, slope, clamp, flip_filter, plan=plan
    )
    _compile.loaded().launch(
        name,
        plan.grid,
        (CUDA_BLOCK,),
        args,
        torch.cuda.current_stream(x.device).cuda_stream,
        shared_mem=plan.shared_bytes,
    )
    return y.contiguous(memory_format=_memory_format(x))


def cuda_launch_args(
    x, fu, fd, b, up, down, pad, gain, slope, clamp, flip_filter, plan: CudaPlan | None = None
) -> tuple[str, list, torch.Tensor]:
    """(entry point, its arguments in csrc/README.md order, the NCHW output it fills) for `_cuda`.

    Works on any device (the CPU emulation in tests/ runs the same arguments). Bias and filters
    go as float32, the bias rounded to x's dtype first (the reference adds it in x's dtype).
    `plan` (its tile size goes to the kernel) is `_cuda_plan`'s, computed when not given.
    """
    plan = plan or _cuda_plan(x, fu, fd, up, down, pad)
    if plan is None:
        raise ValueError(f"filtered_lrelu kernel can't take x {tuple(x.shape)} {x.dtype} here")
    n, c, h, w = x.shape
    wu, fu_w, fu_h, fu_sep = _kernel_filter(fu, flip_filter, float(up[0] * up[1]), x.device)
    wd, fd_w, fd_h, fd_sep = _kernel_filter(fd, flip_filter, 1.0, x.device)
    mid_w = output_size(w, up[0], 1, pad[0], pad[1], fu_w)
    mid_h = output_size(h, up[1], 1, pad[2], pad[3], fu_h)
    out_w = output_size(mid_w, 1, down[0], 0, 0, fd_w)
    out_h = output_size(mid_h, 1, down[1], 0, 0, fd_h)
    planes = x.contiguous()  # [N, C, H, W] dense: N*C planes
    bias = None if b is None else b.to(device=x.device, dtype=x.dtype).float().contiguous()
    y = torch.empty((n, c, out_h, out_w), dtype=x.dtype, device=x.device)
    i32 = np.int32
    args = [planes, bias, y, wu, wd, i32(n * c), i32(c), i32(h), i32(w), i32(out_h), i32(out_w),
            i32(up[0]), i32(up[1]), i32(down[0]), i32(down[1]), i32(pad[0]), i32(pad[2]),
            i32(fu_w), i32(fu_h), i32(fu_sep), i32(fd_w), i32(fd_h), i32(fd_sep),
            i32(plan.tile_w), i32(plan.tile_h), np.float32(gain), np.float32(slope),
            np.float32(-1.0 if clamp is None else clamp)]  # fmt: skip
    suffix = "f32" if x.dtype == torch.float32 else "f16"
    return f"filtered_lrelu_{suffix}", args, y
