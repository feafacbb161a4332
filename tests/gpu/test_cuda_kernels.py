"""On a CUDA device: our CUDA kernels (csrc/) against the reference ops, over a grid of shapes.

Skipped with a reason where torch sees no CUDA device (CI has none) or the kernels cannot be
built (cuda-bindings / NVRTC missing: `pip install '.[gpu]'`). Thresholds: float32 1e-5
relative to the output's scale, float16 2e-3 (the reference rounds to fp16 after every step).
"""

from __future__ import annotations

import importlib
import itertools
import math

import pytest
import torch

import kernels
from kernels import _compile

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

ufd = importlib.import_module("kernels.upfirdn2d")
ba = importlib.import_module("kernels.bias_act")

TOLERANCE = {torch.float32: 1e-5, torch.float16: 2e-3}


@pytest.fixture(scope="module", autouse=True)
def compiled():
    kernels_loaded, reason = _compile.load()
    if kernels_loaded is None:
        pytest.skip(f"CUDA kernels not available: {reason}")
    return kernels_loaded


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    scale = want.float().abs().max().clamp_min(1e-6)
    return float((got.float() - want.float()).abs().max() / scale)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize(
    ("up", "down", "pad", "taps", "separable"),
    [
        ((1, 1), (1, 1), (1, 1, 1, 1), 3, False),
        ((2, 2), (1, 1), (2, 1, 2, 1), 4, True),
        ((1, 1), (2, 2), (1, 1, 1, 1), 4, True),
        ((4, 4), (1, 1), (5, 6, 5, 6), 12, False),  # SG3-R radial sizes
        ((2, 1), (1, 2), (3, -1, 0, 2), 6, False),  # anisotropic, a negative pad (crop)
    ],
)
@pytest.mark.parametrize("flip", [False, True])
def test_upfirdn2d_matches_the_reference(dtype, up, down, pad, taps, separable, flip):
    generator = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(2, 5, 17, 23, device="cuda", generator=generator).to(dtype)
    shape = (taps,) if separable else (taps, taps)
    f = torch.randn(shape, device="cuda", generator=generator)
    got = ufd._cuda(x, f, up, down, pad, flip, 2.0)
    want = ufd._reference(x.float(), f, up, down, pad, flip, 2.0)
    assert got.shape == want.shape and got.dtype == dtype
    assert relative_error(got, want) < TOLERANCE[dtype]


def test_upfirdn2d_keeps_channels_last():
    x = torch.randn(1, 8, 16, 16, device="cuda").to(memory_format=torch.channels_last)
    f = torch.ones(4, device="cuda") / 4
    got = ufd._cuda(x, f, (2, 2), (1, 1), (2, 1, 2, 1), False, 4.0)
    assert got.is_contiguous(memory_format=torch.channels_last)
    want = ufd._reference(x, f, (2, 2), (1, 1), (2, 1, 2, 1), False, 4.0)
    assert relative_error(got, want) < 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize(
    ("act", "clamp", "channels_last", "has_bias"),
    list(itertools.product(list(ba.ACTIVATIONS), [None, 0.5], [False, True], [True, False])),
)
def test_bias_act_matches_the_reference(dtype, act, clamp, channels_last, has_bias):
    x = torch.randn(2, 6, 9, 11, device="cuda").to(dtype)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    b = torch.randn(6, device="cuda").to(dtype) if has_bias else None
    spec = ba.ACTIVATIONS[act]
    got = ba._cuda(x, b, 1, act, spec.def_alpha, spec.def_gain, clamp)
    want = ba._reference(x.float(), None if b is None else b.float(), 1, act, spec.def_alpha,
                         spec.def_gain, clamp)  # fmt: skip
    assert got.dtype == dtype
    assert relative_error(got, want) < TOLERANCE[dtype]


def test_every_output_element_is_written():
    # the output comes from torch.empty over a freed NaN-filled block: any unwritten element
    # would stay NaN
    x = torch.randn(1, 3, 33, 31, device="cuda")
    f = torch.randn(5, 5, device="cuda")
    torch.cuda.empty_cache()
    filler = torch.full((1 << 22,), float("nan"), device="cuda")
    del filler  # the allocator hands this NaN-filled block to the next allocation
    first = ufd._cuda(x, f, (2, 2), (2, 2), (2, 2, 2, 2), False, 1.0)
    assert torch.isfinite(first).all()


# ------------------------------------------------------------------------------------------------
# filtered_lrelu: the fused kernel (csrc/filtered_lrelu.cu) against `_reference` in float64.
# Thresholds relative to the output's largest magnitude: float32 1e-5, float16 2e-3 (TOLERANCE).

flr = importlib.import_module("kernels.filtered_lrelu")
SQRT2 = math.sqrt(2)

# spec 3.6 layer patterns: (N, C, in H, in W, fu, fd, up, down, padding)
FLRELU_CASES = [
    (2, 5, 36, 37, (12,), (12,), 2, 2, (9, 8, 9, 8)),  # T, same rate
    (1, 4, 36, 36, (24,), (12,), 4, 2, (-6, -9, -6, -9)),  # T, rate doubles
    (1, 3, 148, 148, (12,), (12,), 2, 2, (9, 8, 9, 8)),  # T L6 size
    (1, 2, 1044, 1044, (12,), (12,), 2, 2, (-11, -12, -11, -12)),  # T-1024 L13, 1044 -> 1024
    (2, 3, 36, 35, (12,), (12, 12), 2, 2, (11, 10, 11, 10)),  # R, radial fd
    (1, 6, 52, 52, (24,), (12, 12), 4, 2, (-2, -5, -2, -5)),  # R, radial fd, rate doubles
    (1, 3, 50, 51, (12,), (12,), 2, 2, (-9, -10, -9, -10)),  # R, penultimate
    (2, 3, 64, 65, None, None, 1, 1, (0, 0, 0, 0)),  # ToRGB: bias + clamp only
    (1, 4, 30, 29, (6, 5), (3,), (2, 1), (1, 2), (3, -1, 0, 2)),  # anisotropic, 2-D fu, a crop
    (1, 3, 40, 41, (4,), (5, 5), 1, 2, (1, 2, 3, 0)),  # up 1, down 2
    (1, 3, 20, 21, (8, 8), None, 4, 1, (2, 1, 2, 1)),  # up 4, down 1, 2-D fu, no fd
]
# (flip_filter, gain, slope, clamp, has_bias)
FLRELU_OPTIONS = [
    (False, SQRT2, 0.2, 256.0, True),
    (True, -1.3, 0.2, None, False),
    (False, SQRT2, 0.2, 0.5, True),
    (True, 0.7, -0.5, 2.0, True),
]


def _flrelu_args(case, options, dtype, seed=0):
    n, c, h, w, fu_shape, fd_shape, up, down, pad = case
    flip, gain, slope, clamp, has_bias = options
    generator = torch.Generator(device="cuda").manual_seed(seed)
    x = (torch.randn(n, c, h, w, device="cuda", generator=generator) * 2).to(dtype)
    fu = None if fu_shape is None else torch.randn(fu_shape, device="cuda", generator=generator)
    fd = None if fd_shape is None else torch.randn(fd_shape, device="cuda", generator=generator)
    b = torch.randn(c, device="cuda", generator=generator) if has_bias else None
    up = ufd.parse_scaling(up, "up")
    down = ufd.parse_scaling(down, "down")
    if fu is None:  # ToRGB-like: linear
        gain, slope = 1.0, 1.0
    return (x, fu, fd, b, up, down, pad, gain, slope, clamp, flip)


def _flrelu_reference64(args):
    x, fu, fd, b = args[:4]
    b = None if b is None else b.to(x.dtype)
    as64 = [None if t is None else t.double() for t in (x, fu, fd, b)]
    return flr._reference(*as64, *args[4:])


def _flrelu_launch_poisoned(args):
    """Launch the kernel exactly as `_cuda` does, into an output filled with NaN first."""
    x, fu, fd, _b, up, down, pad = args[:7]
    plan = flr._cuda_plan(x, fu, fd, up, down, pad)
    assert plan is not None, "the kernel should take this shape"
    name, kernel_args, y = flr.cuda_launch_args(*args)
    y.fill_(float("nan"))
    _compile.loaded().launch(
        name, plan.grid, (flr.CUDA_BLOCK,), kernel_args,
        torch.cuda.current_stream(x.device).cuda_stream, shared_mem=plan.shared_bytes,
    )  # fmt: skip
    torch.cuda.synchronize()
    return y


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("options", FLRELU_OPTIONS, ids=lambda o: f"flip{o[0]}-g{o[1]:.2f}-c{o[3]}")
@pytest.mark.parametrize(
    "case", FLRELU_CASES, ids=lambda c: f"{c[2]}x{c[3]}-{c[4]}-{c[5]}-up{c[6]}"
)
def test_filtered_lrelu_matches_the_reference(dtype, options, case):
    args = _flrelu_args(case, options, dtype)
    want = _flrelu_reference64(args)
    got = _flrelu_launch_poisoned(args)
    assert got.shape == want.shape and got.dtype == dtype
    assert torch.isfinite(got).all(), "the kernel left output elements unwritten"
    assert relative_error(got, want) < TOLERANCE[dtype]
    via_cuda = flr._cuda(*args)  # the launcher itself (same kernel, its own output)
    assert relative_error(via_cuda, want) < TOLERANCE[dtype]


def test_filtered_lrelu_public_op_on_the_cuda_backend_keeps_channels_last():
    x = torch.randn(2, 8, 36, 36, device="cuda").to(memory_format=torch.channels_last)
    fu, fd, b = torch.rand(12, device="cuda"), torch.rand(12, device="cuda"), torch.randn(8)
    with kernels.use_backend("cuda"):
        got = kernels.filtered_lrelu(x, fu, fd, b.cuda(), 2, 2, (9, 8, 9, 8), clamp=256.0)
    assert got.is_contiguous(memory_format=torch.channels_last)
    args = (x, fu, fd, b.cuda(), (2, 2), (2, 2), (9, 8, 9, 8), SQRT2, 0.2, 256.0, False)
    assert relative_error(got, _flrelu_reference64(args)) < TOLERANCE[torch.float32]


@pytest.mark.parametrize(
    ("dtype", "fu_shape"),
    [(torch.float32, (72, 72)), (torch.float64, (12,))],  # shared memory too big; a dtype
)
def test_filtered_lrelu_falls_back_to_the_torch_path(dtype, fu_shape, monkeypatch):
    calls = []
    fast = flr._fast

    def spy(*args):
        calls.append(args[0].shape)
        return fast(*args)

    monkeypatch.setattr(flr, "_fast", spy)
    generator = torch.Generator(device="cuda").manual_seed(1)
    x = torch.randn(1, 2, 100, 100, device="cuda", generator=generator, dtype=dtype)
    fu = torch.randn(fu_shape, device="cuda", generator=generator) / 50
    fd = torch.randn(12, device="cuda", generator=generator)
    args = (x, fu, fd, None, (1, 1), (2, 2), (0, 0, 0, 0), SQRT2, 0.2, None, False)
    assert flr._cuda_plan(x, fu, fd, (1, 1), (2, 2), (0, 0, 0, 0)) is None
    got = flr._cuda(*args)
    assert calls, "the fallback (_fast) was not used"
    assert relative_error(got, _flrelu_reference64(args)) < TOLERANCE[torch.float32]
