"""On a CUDA device: our CUDA kernels (csrc/) against the reference ops, over a grid of shapes.

Skipped with a reason where torch sees no CUDA device (CI has none) or the kernels cannot be
built (cuda-bindings / NVRTC missing: `pip install '.[gpu]'`). Thresholds: float32 1e-5
relative to the output's scale, float16 2e-3 (the reference rounds to fp16 after every step).
"""

from __future__ import annotations

import importlib
import itertools

import pytest
import torch

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
