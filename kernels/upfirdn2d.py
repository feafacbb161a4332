"""upfirdn2d: upsample, pad, FIR-filter and downsample a batch of images (spec 4.1).

Three implementations take the same normalised arguments:
- `_reference`: the definition. Plain PyTorch doing literally what spec 4.1 says (zero insertion,
  pad/crop, depthwise "valid" convolution with the flipped filter, keep every down-th sample).
- `_fast`: the "torch" backend, exact to rounding: polyphase filtering (no zero-stuffed tensors),
  separable passes for 1D filters, only the kept samples computed, channels-last depthwise convs.
- `_cuda`: csrc/upfirdn2d.cu through kernels/_compile.py (float32/float16; a direct kernel).
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
from kernels._compile import CUDA_BLOCK, CUDA_MAX_BLOCKS, cuda_grid  # noqa: F401 (re-exported for tests)

log = logging.getLogger(__name__)

Scaling = tuple[int, int]  # (x, y)
Padding = tuple[int, int, int, int]  # (x0, x1, y0, y1)

_CL = torch.channels_last

# Fast-path steps, each measured against the step before in benchmarks/ladder.py (which turns
# them off one at a time); all are exact to float32 rounding (CONV_LRELU, CHANNEL_ROWS: the
# same float32 values; CONV_LRELU rounds bf16 once instead of twice).
TRANSPOSED_UP = True  # float32 width up passes as one depthwise transposed conv
SEPARABLE_2D = True  # 2D filters that are outer products run as two 1D passes
# The leaky ReLU of filtered_lrelu's up pass runs as a post-op of oneDNN's depthwise convolution
# (torch.ops.mkldnn._convolution_pointwise, the op inductor fuses into on CPUs), where available.
CONV_LRELU = True
# Per-channel operands of elementwise ops on channels-last images are channels-last rows
# (see channel_operand).
CHANNEL_ROWS = True
# Zero padding of the polyphase passes done inside the depthwise conv, not as a padded copy.
CONV_PADDING = True
CHANNEL_ROWS_BELOW = 64  # float32: rows only below this many channels (no gain measured above)
ONE_TAP_SCALES = True  # one-tap filters without resampling only pad and scale
# float32 height passes on CPUs as one matrix product of image rows (see _height_pass_gemm).
HEIGHT_GEMM = True
GEMM_BLOCK_ROWS = 32  # output rows per product (at stride 1; fewer at larger strides)


# ------------------------------------------------------------------------------------------------
# Argument parsing and checks


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise ValueError(f"{what} must be an integer, got {value!r}")


def parse_scaling(value: int | Sequence[int], name: str) -> Scaling:
    """Turn an `up`/`down` argument (int or (x, y)) into (x, y) integers >= 1."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (x, y), got {value!r}")
        sx, sy = (_as_int(v, name) for v in value)
    else:
        sx = sy = _as_int(value, name)
    if sx < 1 or sy < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return sx, sy


def parse_padding(value: int | Sequence[int]) -> Padding:
    """Turn a padding argument (int, (x, y) or (x0, x1, y0, y1)) into (x0, x1, y0, y1)."""
    if isinstance(value, (list, tuple)):
        vals = [_as_int(v, "padding") for v in value]
        if len(vals) == 2:
            return vals[0], vals[0], vals[1], vals[1]
        if len(vals) == 4:
            return vals[0], vals[1], vals[2], vals[3]
        raise ValueError(f"padding must be an int, (x, y) or (x0, x1, y0, y1); got {vals}")
    p = _as_int(value, "padding")
    return p, p, p, p


def check_image(x: object, name: str = "x") -> torch.Tensor:
    """Check that x is a floating-point [N, C, H, W] tensor."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape [N, C, H, W], got {x.ndim} dims {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {x.dtype}")
    return x


def check_filter(f: object, name: str = "f") -> torch.Tensor | None:
    """Check that f is None, a 1D [taps] or a 2D [fh, fw] floating-point tensor."""
    if f is None:
        return None
    if not isinstance(f, torch.Tensor):
        raise ValueError(f"{name} must be None or a torch.Tensor, got {type(f).__name__}")
    if f.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1D [taps] or 2D [fh, fw], got shape {tuple(f.shape)}")
    if f.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(f.shape)}")
    if not f.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {f.dtype}")
    return f


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """Filter taps as (fw, fh); 1 for None, the same for both axes for a 1D (separable) filter."""
    if f is None:
        return 1, 1
    if f.ndim == 1:
        return f.shape[0], f.shape[0]
    return f.shape[1], f.shape[0]


def output_size(n_in: int, up: int, down: int, pad0: int, pad1: int, taps: int) -> int:
    """Output length along one axis (spec 4.1)."""
    return (n_in * up + pad0 + pad1 - (taps - 1) + down - 1) // down


def _check(x, f, up, down, padding) -> tuple[torch.Tensor | None, Scaling, Scaling, Padding]:
    check_image(x)
    f = check_filter(f)
    up = parse_scaling(up, "up")
    down = parse_scaling(down, "down")
    pad = parse_padding(padding)
    fw, fh = filter_size(f)
    out_w = output_size(x.shape[3], up[0], down[0], pad[0], pad[1], fw)
    out_h = output_size(x.shape[2], up[1], down[1], pad[2], pad[3], fh)
    if out_w < 1 or out_h < 1:
        raise ValueError(
            f"filter too big for input: x {x.shape[2]}x{x.shape[3]} (HxW), up {up}, padding {pad}, "
            f"filter {fh}x{fw} gives an empty output {out_h}x{out_w}"
        )
    return f, up, down, pad


# ------------------------------------------------------------------------------------------------
# Public API


def setup_filter(
    f: object,
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1,
    separable: bool | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Make a float32 FIR filter: 1D stays 1D if separable (auto: >= 8 taps), else outer product."""
    f = torch.ones([1]) if f is None else torch.as_tensor(f, dtype=torch.float32)
    f = f.detach().to(dtype=torch.float32, device="cpu").clone()
    if f.ndim == 0:
        f = f.reshape(1)
    if f.ndim not in (1, 2) or f.numel() == 0:
        raise ValueError(f"filter must be a scalar, 1D or 2D, got shape {tuple(f.shape)}")
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    if separable and f.ndim != 1:
        raise ValueError(f"a separable filter must be 1D, got shape {tuple(f.shape)}")
    if normalize:
        total = f.sum()
        if total == 0:
            raise ValueError("cannot normalize a filter that sums to zero")
        f = f / total
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f * (gain ** (f.ndim / 2))
    return f.to(device=device) if device is not None else f


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    flip_filter: bool = False,
    gain: float = 1,
) -> torch.Tensor:
    """Upsample by zero insertion, pad/crop, convolve with f, keep every down-th sample (spec 4.1).

    Args:
        x: [N, C, H, W] float tensor.
        f: None (identity), 1D [taps] (separable: width pass then height pass, each with sqrt(gain))
            or 2D [fh, fw]; cast to x.dtype.
        up, down: int or (x, y). padding: int, (x, y) or (x0, x1, y0, y1), relative to the upsampled
            image; negative values crop.
    Backend "reference" runs the literal definition, "torch" the exact polyphase path, "cuda" the
    kernel in csrc/upfirdn2d.cu for fp32/fp16 CUDA tensors (other dtypes and CPU tensors: "torch").
    """
    f, up, down, pad = _check(x, f, up, down, padding)
    return _dispatch(x, f, up, down, pad, bool(flip_filter), float(gain))


def upsample2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 2,
    padding: int | Sequence[int] = 0,
    flip_filter: bool = False,
    gain: float = 1,
) -> torch.Tensor:
    """Upsample by `up` with filter f, keeping the image aligned; gain is scaled by up_x*up_y."""
    check_image(x)
    f = check_filter(f)
    upx, upy = parse_scaling(up, "up")
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    pad = (
        px0 + (fw + upx - 1) // 2,
        px1 + (fw - upx) // 2,
        py0 + (fh + upy - 1) // 2,
        py1 + (fh - upy) // 2,
    )
    return upfirdn2d(
        x, f, up=(upx, upy), padding=pad, flip_filter=flip_filter, gain=gain * upx * upy
    )


def downsample2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    down: int | Sequence[int] = 2,
    padding: int | Sequence[int] = 0,
    flip_filter: bool = False,
    gain: float = 1,
) -> torch.Tensor:
    """Filter with f and keep every `down`-th sample, keeping the image aligned."""
    check_image(x)
    f = check_filter(f)
    dx, dy = parse_scaling(down, "down")
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    pad = (
        px0 + (fw - dx + 1) // 2,
        px1 + (fw - dx) // 2,
        py0 + (fh - dy + 1) // 2,
        py1 + (fh - dy) // 2,
    )
    return upfirdn2d(x, f, down=(dx, dy), padding=pad, flip_filter=flip_filter, gain=gain)


def filter2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    padding: int | Sequence[int] = 0,
    flip_filter: bool = False,
    gain: float = 1,
) -> torch.Tensor:
    """Filter with f at the same resolution, padded so that the output keeps the input size."""
    check_image(x)
    f = check_filter(f)
    px0, px1, py0, py1 = parse_padding(padding)
    fw, fh = filter_size(f)
    pad = (px0 + fw // 2, px1 + (fw - 1) // 2, py0 + fh // 2, py1 + (fh - 1) // 2)
    return upfirdn2d(x, f, padding=pad, flip_filter=flip_filter, gain=gain)


def _dispatch(x, f, up: Scaling, down: Scaling, pad: Padding, flip_filter: bool, gain: float):
    name = backend.current()
    if name == "reference":
        return _reference(x, f, up, down, pad, flip_filter, gain)
    if name == "cuda" and x.is_cuda:
        return _cuda(x, f, up, down, pad, flip_filter, gain)
    return _fast(x, f, up, down, pad, flip_filter, gain)


# ------------------------------------------------------------------------------------------------
# Reference: the definition


def _reference(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: Scaling,
    down: Scaling,
    pad: Padding,
    flip_filter: bool,
    gain: float,
) -> torch.Tensor:
    """Literal spec 4.1: zero insertion, pad/crop, depthwise valid conv (flipped f), subsample."""
    n, c, h, w = x.shape
    upx, upy = up
    downx, downy = down
    px0, px1, py0, py1 = pad
    if f is None:
        f = torch.ones([1, 1])
    f = f.to(device=x.device, dtype=x.dtype)

    # 1. upsample: x[i, j] goes to [i*up_y, j*up_x], zeros elsewhere
    x = x.reshape(n, c, h, 1, w, 1)
    x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1])
    x = x.reshape(n, c, h * upy, w * upx)

    # 2. pad with zeros, then crop for negative amounts
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]

    # 3. convolve ("valid"); conv2d correlates, so flip f for a true convolution
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        weight = (f * gain)[None, None].repeat(c, 1, 1, 1)
        x = F.conv2d(x, weight, groups=c)
    else:
        g = f * math.sqrt(gain)
        x = F.conv2d(x, g.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)  # along width
        x = F.conv2d(x, g.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)  # along height

    # 4. downsample: keep every down-th sample, starting at 0
    return x[:, :, ::downy, ::downx]


def _cuda(x, f, up, down, pad, flip_filter, gain) -> torch.Tensor:
    """CUDA backend: csrc/upfirdn2d.cu for float32/float16 (other dtypes: the torch path).

    The kernel reads NCHW planes; a separable filter goes as its outer product (the reference
    applies sqrt(gain) per axis, i.e. gain once). The result keeps x's memory format.
    """
    if x.dtype not in (torch.float32, torch.float16) or x.numel() == 0:
        return _fast(x, f, up, down, pad, flip_filter, gain)
    name, args, y = cuda_launch_args(x, f, up, down, pad, flip_filter, gain)
    _compile.loaded().launch(
        name, cuda_grid(y.numel()), (CUDA_BLOCK,), args,
        torch.cuda.current_stream(x.device).cuda_stream,
    )  # fmt: skip
    return y.contiguous(memory_format=_memory_format(x))


def cuda_launch_args(x, f, up, down, pad, flip_filter, gain) -> tuple[str, list, torch.Tensor]:
    """(entry point, its arguments in csrc/README.md order, the NCHW output it fills) for `_cuda`.

    x must be float32/float16 and non-empty. Works on any device (the CPU emulation in
    tests/cuda_emu runs the same arguments); y is allocated here, uninitialised.
    """
    if x.dtype not in (torch.float32, torch.float16) or x.numel() == 0:
        raise ValueError(f"upfirdn2d kernel takes non-empty float32/float16, got {x.dtype}")
    n, c, h, w = x.shape
    upx, upy = up
    downx, downy = down
    px0, px1, py0, py1 = pad
    if f is None:
        f2 = torch.ones([1, 1], device=x.device)
    elif f.ndim == 1:
        f2 = torch.outer(f, f)
    else:
        f2 = f
    f2 = f2.to(device=x.device, dtype=torch.float32).contiguous()
    fh, fw = f2.shape
    out_h = output_size(h, upy, downy, py0, py1, fh)
    out_w = output_size(w, upx, downx, px0, px1, fw)
    planes = x.contiguous()  # [N, C, H, W] dense: N*C planes
    y = torch.empty((n, c, out_h, out_w), dtype=x.dtype, device=x.device)
    suffix = "f32" if x.dtype == torch.float32 else "f16"
    i32 = np.int32
    args = [planes, f2, y, i32(n * c), i32(h), i32(w), i32(out_h), i32(out_w), i32(upx), i32(upy),
            i32(downx), i32(downy), i32(px0), i32(py0), i32(fh), i32(fw),
            i32(1 if flip_filter else 0), np.float32(gain)]  # fmt: skip
    return f"upfirdn2d_{suffix}", args, y


# ------------------------------------------------------------------------------------------------
# Fast path: polyphase, separable, strided


@dataclass(frozen=True)
class AxisPlan:
    """How to compute one axis of upfirdn as P phase correlations of stride `stride` on the input.

    Output sample i = shift + P*s + p (s >= 0) is sum_t x[start + stride*s + t] * g[taps[p, t]],
    where taps[p, t] < 0 means a zero tap. The conv output holds n_groups*P samples, of which
    [shift, shift + n_out) are kept.
    """

    phases: int
    stride: int
    taps: np.ndarray  # [P, L] int, index into the correlation kernel or -1
    start: int  # first input index read (negative: zero padding)
    n_groups: int
    shift: int
    n_out: int

    @property
    def n_read(self) -> int:
        """Input samples read per row: from start, including zero padding."""
        return self.stride * (self.n_groups - 1) + self.taps.shape[1]


@functools.lru_cache(maxsize=1024)
def plan_axis(n_in: int, taps: int, up: int, down: int, pad0: int, pad1: int) -> AxisPlan:
    """Polyphase plan for one axis; picks the phase alignment with the fewest taps per phase.
    Cached (a layer's strips ask for the same few plans every frame); its taps are read-only."""
    n_out = output_size(n_in, up, down, pad0, pad1, taps)
    g = math.gcd(up, down)
    phases, stride = up // g, down // g
    best = None
    for shift in range(phases):
        # m_p = position (in the padded upsampled signal, minus pad0) of the first tap of output p
        m = np.array([(p - shift) * down - pad0 for p in range(phases)])
        lo = int(np.min(-((-m) // up)))  # min over p of ceil(m_p / up)
        hi = int(np.max((m + taps - 1) // up))
        length = hi - lo + 1
        if best is None or length < best[0]:
            best = (length, shift, lo, m)
    length, shift, lo, m = best
    k = (lo + np.arange(length))[None, :] * up - m[:, None]  # [P, L] tap index into g
    k = np.where((k >= 0) & (k < taps), k, -1)
    k.flags.writeable = False
    n_groups = -(-(n_out + shift) // phases)
    return AxisPlan(phases, stride, k, lo, n_groups, shift, n_out)


def _phase_filters(g: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """[P, L] phase filters from a 1D correlation kernel g (zero where taps < 0)."""
    idx = torch.as_tensor(np.maximum(taps, 0), device=g.device)
    return torch.where(torch.as_tensor(taps >= 0, device=g.device), g[idx], g.new_zeros(()))


def _pad_axis(x: torch.Tensor, dim: int, before: int, after: int) -> torch.Tensor:
    """Zero-pad (positive) or crop (negative) one of the last two dims."""
    if before == 0 and after == 0:
        return x
    spec = [before, after, 0, 0] if dim == 3 else [0, 0, before, after]
    return F.pad(x, spec)


def _crop_view(x: torch.Tensor, dim: int, before: int, after: int) -> tuple[torch.Tensor, int, int]:
    """Apply the negative (crop) parts of a pad as a view; return the remaining positive pads."""
    lo, hi = max(-before, 0), max(-after, 0)
    if lo or hi:
        x = x.narrow(dim, lo, x.shape[dim] - lo - hi)
    return x, max(before, 0), max(after, 0)


@dataclass(frozen=True)
class Activation:
    """An elementwise epilogue of a pass, applied in place: clamp to [lo, hi], then leaky ReLU.

    lo and hi are None (no clamp) or both set; slope 1 means no leaky ReLU. filtered_lrelu
    builds one whose result equals its lrelu-then-clamp exactly (see `_activation` there), so
    hi is its clamp, and where the convolution did the leaky ReLU the rest is a clamp to
    [-hi, hi].
    """

    slope: float
    lo: float | None = None
    hi: float | None = None

    def copy_(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        """Write src into dst with the first of its ops done on the way (clamp, else lrelu)."""
        if self.lo is not None:
            torch.clamp(src, self.lo, self.hi, out=dst)
        elif self.slope != 1:
            torch.ops.aten.leaky_relu.out(src, self.slope, out=dst)
        else:
            dst.copy_(src)

    def finish_(self, t: torch.Tensor) -> torch.Tensor:
        """The ops `copy_` left out, in place on t (the leaky ReLU after a clamp)."""
        if self.lo is not None and self.slope != 1:
            F.leaky_relu_(t, self.slope)
        return t

    def apply_(self, t: torch.Tensor) -> torch.Tensor:
        """All of it, in place on t."""
        if self.lo is not None:
            t.clamp_(self.lo, self.hi)
        if self.slope != 1:
            F.leaky_relu_(t, self.slope)
        return t


def _interleave(ys: list[torch.Tensor], dim: int, act: Activation | None = None) -> torch.Tensor:
    """Interleave same-shaped channels-last phase outputs along dim 2 (height) or 3 (width).

    With `act`, the result is activated too: its first op rides on the interleaving copies.
    """
    if len(ys) == 1:
        return ys[0] if act is None else act.apply_(ys[0])
    n, c, h, w = ys[0].shape
    p = len(ys)
    if dim == 3:
        out = ys[0].new_empty([n, h, w, p, c])
        for i, y in enumerate(ys):
            out[:, :, :, i, :] = y.permute(0, 2, 3, 1)
        y = out.view(n, h, w * p, c).permute(0, 3, 1, 2)
        return y if act is None else act.apply_(y)
    out = ys[0].new_empty([n, h, p, w, c])
    for i, y in enumerate(ys):
        if act is None:
            out[:, :, i, :, :] = y.permute(0, 2, 3, 1)
        else:
            act.copy_(out[:, :, i, :, :], y.permute(0, 2, 3, 1))
    y = out.view(n, h * p, w, c).permute(0, 3, 1, 2)
    return y if act is None else act.finish_(y)


def _pass_1d(
    x: torch.Tensor, g: torch.Tensor, plan: AxisPlan, dim: int, act: Activation | None = None
) -> torch.Tensor:
    """Run one separable polyphase pass along dim (2 = height, 3 = width) on a channels-last x,
    then `act` (in place) if given."""
    if dim == 2 and _rows_by_gemm(x):
        return _height_pass_gemm(x, g, plan, act)
    c = x.shape[1]
    x, before, after = _crop_view(x, dim, -plan.start, plan.start + plan.n_read - x.shape[dim])
    # zero padding inside the conv (oneDNN pads on the fly) instead of a zero-filled copy of x:
    # the conv pads both sides by `both`; the first `skip` outputs of each phase are then extra
    both = max(before, after)
    skip, misaligned = divmod(both - before, plan.stride)
    if CONV_PADDING and both > 0 and not misaligned:
        padding = (0, both) if dim == 3 else (both, 0)
    else:
        x, padding, skip = _pad_axis(x, dim, before, after), (0, 0), 0
    x = x.contiguous(memory_format=_CL)
    bank = _phase_filters(g, plan.taps)  # [P, L]
    shape = [c, 1, 1, bank.shape[1]] if dim == 3 else [c, 1, bank.shape[1], 1]
    stride = (1, plan.stride) if dim == 3 else (plan.stride, 1)
    weights = [bank[p].reshape(shape[1:]).expand(shape) for p in range(plan.phases)]
    ys = None
    if dim == 2 and act is not None:
        ys = _convs_with_lrelu(x, weights, stride, padding, act)
    rest = act
    if ys is not None:  # the leaky ReLU is done: the clamp (as lrelu-then-clamp) is left
        rest = None if act.lo is None else Activation(1.0, -act.hi, act.hi)
    else:
        ys = [F.conv2d(x, w, stride=stride, padding=padding, groups=c) for w in weights]
    if ys[0].shape[dim] != plan.n_groups:
        ys = [y.narrow(dim, skip, plan.n_groups) for y in ys]
    y = _interleave(ys, dim, rest)
    if y.shape[dim] != plan.n_out:
        y = y.narrow(dim, plan.shift, plan.n_out)
    return y


def _rows_by_gemm(x: torch.Tensor) -> bool:
    """Whether a height pass over x runs as one matrix product of its rows (`_height_pass_gemm`):
    HEIGHT_GEMM on, float32 on the CPU (bf16 GEMMs of this shape ran slower than the phase
    convs), and each image row a contiguous channels-last [W*C] vector."""
    if not HEIGHT_GEMM or x.is_cuda or x.dtype != torch.float32:
        return False
    c, w = x.shape[1], x.shape[3]
    return (c == 1 or x.stride(1) == 1) and (w == 1 or x.stride(3) == c)


@dataclass(frozen=True)
class RowMatrix:
    """Where a height pass's taps go in its [n_out, h] row matrix R, and its blocks of output
    rows [o0, o1) with the input rows [c0, c1) each reads."""

    rows: torch.Tensor
    cols: torch.Tensor
    taps: torch.Tensor  # index into the correlation kernel
    blocks: tuple[tuple[int, int, int, int], ...]


@functools.lru_cache(maxsize=512)
def _row_matrix(
    phases: int, stride: int, taps: bytes, length: int, start: int, shift: int, n_out: int, h: int
) -> RowMatrix:
    """The RowMatrix of a height pass (AxisPlan fields; h input rows, from row 0)."""
    tap = np.frombuffer(taps, dtype=np.int64).reshape(phases, length)
    q = np.arange(n_out) + shift  # conv output index: group q // P, phase q % P
    cols = start + stride * (q // phases)[:, None] + np.arange(length)[None, :]  # [n_out, L]
    idx = tap[q % phases]  # [n_out, L]
    keep = (idx >= 0) & (cols >= 0) & (cols < h)  # zero taps and zero padding drop out
    rows = np.broadcast_to(np.arange(n_out)[:, None], cols.shape)
    blocks = []
    step = max(1, GEMM_BLOCK_ROWS // stride)
    for o0 in range(0, n_out, step):
        o1 = min(n_out, o0 + step)
        read = cols[o0:o1][keep[o0:o1]]
        c0, c1 = (int(read.min()), int(read.max()) + 1) if read.size else (0, 0)
        blocks.append((o0, o1, c0, c1))
    return RowMatrix(
        torch.as_tensor(rows[keep].copy()),
        torch.as_tensor(cols[keep].copy()),
        torch.as_tensor(idx[keep].copy()),
        tuple(blocks),
    )


def _height_pass_gemm(
    x: torch.Tensor, g: torch.Tensor, plan: AxisPlan, act: Activation | None
) -> torch.Tensor:
    """A polyphase pass along the height as one matrix product: out rows = R @ x rows.

    In channels-last memory each image row is one [W*C] vector, and every output row of the
    pass (all phases, interleaved in order, the zero padding and the shift included) is a
    weighted sum of input rows: a banded [n_out, H] matrix R times the [H, W*C] rows. One GEMM
    at memory speed replaces the P phase convs and the copies that interleave them (oneDNN's
    depthwise convs along the height ran at a quarter of that). Then `act`, in place.
    The same sums as the convs (float32: to rounding; a non-finite input spreads along its
    column through the zero taps).
    """
    n, c, h, w = x.shape
    taps = np.ascontiguousarray(plan.taps, dtype=np.int64)
    layout = _row_matrix(
        plan.phases, plan.stride, taps.tobytes(), taps.shape[1], plan.start, plan.shift,
        plan.n_out, h,
    )  # fmt: skip
    matrix = g.new_zeros(plan.n_out, h)
    matrix[layout.rows, layout.cols] = g[layout.taps.to(g.device)]
    y = torch.empty((n, c, plan.n_out, w), dtype=x.dtype, device=x.device, memory_format=_CL)
    x_rows = x.permute(0, 2, 3, 1).reshape(n, h, w * c)  # a view: rows are contiguous
    y_rows = y.permute(0, 2, 3, 1).view(n, plan.n_out, w * c)
    # blocks of output rows, each with only the input rows it reads, so R's zeros outside its
    # band stay a small part of each product
    for o0, o1, c0, c1 in layout.blocks:
        for i in range(n):
            torch.mm(matrix[o0:o1, c0:c1], x_rows[i, c0:c1], out=y_rows[i, o0:o1])
    return y if act is None else act.apply_(y)


def _convs_with_lrelu(
    x: torch.Tensor,
    weights: list[torch.Tensor],
    stride: tuple[int, int],
    padding: tuple[int, int],
    act: Activation,
) -> list[torch.Tensor] | None:
    """Depthwise convs of x, each followed by act's leaky ReLU as a oneDNN post-op, or None.

    None where the op can't run: off (CONV_LRELU), no slope, no oneDNN in this torch, not a
    float32 or (supported) bf16 CPU tensor, or oneDNN refusing it (then CONV_LRELU is turned
    off, with one warning).
    float32 results equal conv then leaky_relu_ exactly; bf16 ones are rounded once instead of
    twice.
    """
    global CONV_LRELU
    if not CONV_LRELU or act.slope == 1 or x.device.type != "cpu" or not _onednn():
        return None
    if x.dtype != torch.float32 and not (x.dtype == torch.bfloat16 and _bf16_convs()):
        return None
    try:
        return [_conv_lrelu(x, w, stride, padding, act.slope) for w in weights]
    except (RuntimeError, AttributeError, NotImplementedError) as err:
        CONV_LRELU = False
        log.warning("oneDNN conv + leaky ReLU unavailable (%s); running them apart", err)
        return None


def _conv_lrelu(
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: tuple[int, int],
    padding: tuple[int, int],
    slope: float,
) -> torch.Tensor:
    """leaky_relu(conv2d(x, weight, stride, padding, groups=C), slope): one oneDNN primitive."""
    return torch.ops.mkldnn._convolution_pointwise(
        x, weight.contiguous(), None, list(padding), list(stride), [1, 1], x.shape[1],
        "leaky_relu", [slope], "",
    )  # fmt: skip


@functools.cache
def _onednn() -> bool:
    """Whether torch has oneDNN here (x86 and most ARM Linux builds; not every macOS one)."""
    try:
        return bool(torch.backends.mkldnn.is_available())
    except (RuntimeError, AttributeError):
        return False


@functools.cache
def _bf16_convs() -> bool:
    """Whether oneDNN runs bf16 convolutions natively here (AVX-512-bf16, AMX)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (RuntimeError, AttributeError):
        return False


def _up_pass_transposed(
    x: torch.Tensor, g: torch.Tensor, up: int, pad0: int, n_out: int
) -> torch.Tensor:
    """Zero-insert by `up`, pad by pad0 and correlate with g along the width: one transposed conv.

    The same samples as the polyphase pass, computed as one depthwise transposed convolution of
    stride `up`: oneDNN runs those in float32 channels-last an order of magnitude faster than
    `up` strided convolutions plus the interleave (benchmarks/ladder.py); along the height and
    in bf16 they are slow. Its output q is sum_j x[j] k[q - up j] with k = g reversed, i.e.
    upfirdn's output i = q - (taps - 1 - pad0).
    """
    c, taps, n_in = x.shape[1], g.shape[0], x.shape[3]
    k = g.flip(0).reshape(1, 1, taps).expand(c, 1, 1, taps)
    y = F.conv_transpose2d(x.contiguous(memory_format=_CL), k, stride=(1, up), groups=c)
    start = taps - 1 - pad0
    full = (n_in - 1) * up + taps
    if start >= 0 and start + n_out <= full:
        return y.narrow(3, start, n_out)
    return _pad_axis(y, 3, -start, start + n_out - full)


def _pass_2d(x: torch.Tensor, g: torch.Tensor, px: AxisPlan, py: AxisPlan) -> torch.Tensor:
    """Run a non-separable polyphase pass (Py*Px phases of 2D depthwise strided convs)."""
    n, c = x.shape[:2]
    x = _pad_axis(x, 3, -px.start, px.start + px.n_read - x.shape[3])
    x = _pad_axis(x, 2, -py.start, py.start + py.n_read - x.shape[2])
    x = x.contiguous(memory_format=_CL)
    ty = torch.as_tensor(np.maximum(py.taps, 0), device=g.device)
    tx = torch.as_tensor(np.maximum(px.taps, 0), device=g.device)
    valid = torch.as_tensor(
        (py.taps >= 0)[:, None, :, None] & (px.taps >= 0)[None, :, None, :], device=g.device
    )
    bank = g[ty[:, None, :, None], tx[None, :, None, :]]  # [Py, Px, Ly, Lx]
    bank = torch.where(valid, bank, g.new_zeros(()))
    ly, lx = bank.shape[2:]
    rows = []
    for i in range(py.phases):
        ys = [
            F.conv2d(x, bank[i, j].expand(c, 1, ly, lx), stride=(py.stride, px.stride), groups=c)
            for j in range(px.phases)
        ]
        rows.append(_interleave(ys, 3))
    y = _interleave(rows, 2)
    if y.shape[3] != px.n_out:
        y = y.narrow(3, px.shift, px.n_out)
    if y.shape[2] != py.n_out:
        y = y.narrow(2, py.shift, py.n_out)
    return y


def _fast(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: Scaling,
    down: Scaling,
    pad: Padding,
    flip_filter: bool,
    gain: float,
) -> torch.Tensor:
    """Same result as `_reference` (to rounding), computed polyphase without zero stuffing."""
    y = fast_channels_last(x, f, up, down, pad, flip_filter, gain)
    return y.contiguous(memory_format=_memory_format(x))


def channel_operand(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """v ([C] or [N, C]) shaped as an elementwise operand for x [N, C, H, W]: the same values.

    For a channels-last x with 16-bit values or few channels, v comes as a channels-last
    [1 or N, C, 1, W] row (broadcast only along the height), so the op's inner loop runs over W*C
    contiguous elements instead of C: a bf16 bias add on the demo's 8-channel layers ran 7x
    faster. Elsewhere it is v as [1 or N, C, 1, 1].
    """
    v = v.reshape(-1, x.shape[1], 1, 1)
    n, c, h, w = x.shape
    if (
        CHANNEL_ROWS
        and h > 1
        and (x.element_size() < 4 or c < CHANNEL_ROWS_BELOW)
        and x.is_contiguous(memory_format=_CL)
        and not x.is_contiguous()
    ):
        return v.expand(v.shape[0], c, 1, w).contiguous(memory_format=_CL)
    return v


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    is_cl = x.is_contiguous(memory_format=_CL) and not x.is_contiguous()
    return _CL if is_cl else torch.contiguous_format


def _is_transposed_up(x: torch.Tensor, up: int, down: int) -> bool:
    """Whether a width pass runs as a transposed conv: float32 up (see _up_pass_transposed)."""
    return TRANSPOSED_UP and up > 1 and down == 1 and x.dtype == torch.float32


def _separable_factors(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(column, row) 1D filters whose outer product is f exactly (to float32 rounding), or None.

    SG2's 4x4 [1,3,3,1] filter is stored 2D; as two 4-tap passes it costs half the taps.
    """
    if f.ndim != 2 or min(f.shape) < 2:
        return None
    f64 = f.double()
    total = f64.sum()
    if total == 0:
        return None
    col, row = f64.sum(dim=1), f64.sum(dim=0) / total
    if not torch.allclose(torch.outer(col, row), f64, rtol=1e-6, atol=1e-7 * f64.abs().max()):
        return None
    return col.to(f.dtype), row.to(f.dtype)


def fast_channels_last(
    x,
    f,
    up: Scaling,
    down: Scaling,
    pad: Padding,
    flip_filter: bool,
    gain: float,
    act: Activation | None = None,
) -> torch.Tensor:
    """`_fast` without the final layout conversion: a (possibly strided) channels-last result.

    With `act`, the result is activated in place as well (filtered_lrelu's nonlinearity); a last
    pass that interleaves height phases does the clamp in its copies instead of a pass of its own.
    """
    if f is None:
        f = torch.ones([1, 1])
    if ONE_TAP_SCALES and f.numel() == 1 and up == (1, 1) and down == (1, 1):
        # a one-tap filter only scales: pad or crop, and multiply (no depthwise convs)
        scale = float(f.reshape(-1)[0]) ** (2 if f.ndim == 1 else 1) * gain
        y = _pad_axis(_pad_axis(x, 3, pad[0], pad[1]), 2, pad[2], pad[3])
        return y * scale if act is None else act.apply_(y * scale)
    f = f.to(device=x.device, dtype=x.dtype)
    g = f if flip_filter else f.flip(list(range(f.ndim)))  # correlation kernel
    fw, fh = filter_size(f)
    h, w = x.shape[2:]
    plan_x = plan_axis(w, fw, up[0], down[0], pad[0], pad[1])
    plan_y = plan_axis(h, fh, up[1], down[1], pad[2], pad[3])
    if g.ndim == 2:
        factors = _separable_factors(g) if SEPARABLE_2D else None
        if factors is None:
            y = _pass_2d(x, g * gain, plan_x, plan_y)
            return y if act is None else act.apply_(y)
        col, row = factors
        return _separable(x, row * gain, col, up, down, pad, plan_x, plan_y, act)
    g = g * math.sqrt(gain)
    return _separable(x, g, g, up, down, pad, plan_x, plan_y, act)


def _separable(
    x: torch.Tensor,
    gx: torch.Tensor,
    gy: torch.Tensor,
    up: Scaling,
    down: Scaling,
    pad: Padding,
    plan_x: AxisPlan,
    plan_y: AxisPlan,
    act: Activation | None = None,
) -> torch.Tensor:
    """A width pass with the correlation kernel gx, then a height pass with gy (then `act`)."""
    h = x.shape[2]
    # crop rows first (a view) so the width pass only touches rows the height pass reads
    before, after = -plan_y.start, plan_y.start + plan_y.n_read - h
    x, before, after = _crop_view(x, 2, before, after)
    if _is_transposed_up(x, up[0], down[0]):
        x = _up_pass_transposed(x, gx, up[0], pad[0], plan_x.n_out)
    else:
        x = _pass_1d(x, gx, plan_x, 3)
    y_plan = AxisPlan(
        plan_y.phases,
        plan_y.stride,
        plan_y.taps,
        -before,
        plan_y.n_groups,
        plan_y.shift,
        plan_y.n_out,
    )
    return _pass_1d(x, gy, y_plan, 2, act)
