"""upfirdn2d: reference against a naive definition and scipy; fast path against the reference."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from naive import naive_upfirdn2d

import kernels

ufd = importlib.import_module("kernels.upfirdn2d")


def _rand(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


NAIVE_CASES = [
    # (x shape, filter shape, up, down, pad, flip, gain)
    ((1, 2, 5, 6), (3, 4), (1, 1), (1, 1), (0, 0, 0, 0), False, 1.0),
    ((2, 1, 5, 4), (4, 3), (2, 2), (1, 1), (2, 1, 1, 2), False, 4.0),
    ((1, 2, 4, 5), (3, 3), (2, 3), (1, 1), (1, 0, 2, 1), True, 1.5),
    ((1, 1, 9, 7), (4, 2), (1, 1), (2, 2), (1, 2, 0, 1), False, 1.0),
    ((1, 2, 7, 9), (5,), (1, 1), (2, 1), (-1, 2, 3, -2), True, 2.0),
    ((1, 1, 5, 5), (6,), (4, 4), (1, 1), (-2, -3, -2, -3), False, 16.0),
    ((1, 1, 6, 5), (5,), (2, 1), (1, 2), (1, 1, 2, 2), False, 1.0),
    ((1, 1, 7, 6), (3, 5), (2, 2), (4, 4), (3, 2, 1, 0), True, 0.5),
    ((1, 1, 5, 6), None, (2, 2), (1, 1), (0, 1, 1, 0), False, 3.0),
]


@pytest.mark.parametrize("case", NAIVE_CASES, ids=lambda c: f"{c[1]}-up{c[2]}-down{c[3]}-pad{c[4]}")
def test_reference_matches_naive_definition(case):
    shape, fshape, up, down, pad, flip, gain = case
    x = _rand(*shape)
    f = None if fshape is None else _rand(*fshape, seed=1)
    got = ufd._reference(x, f, up, down, pad, flip, gain).numpy()
    want = naive_upfirdn2d(x.numpy(), None if f is None else f.numpy(), up, down, pad, flip, gain)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("up,down,taps", [(1, 1, 5), (2, 1, 6), (3, 2, 7), (1, 3, 4), (4, 2, 9)])
def test_reference_matches_scipy_upfirdn_along_width(up, down, taps):
    signal = pytest.importorskip("scipy.signal")
    x = _rand(1, 1, 1, 23)
    h = _rand(taps, seed=2)
    # scipy: zero-stuff, full convolution, subsample; full convolution = pad taps-1 on both sides
    want = signal.upfirdn(h.numpy(), x[0, 0, 0].numpy(), up=up, down=down)
    got = ufd._reference(x, h[None, :], (up, 1), (down, 1), (taps - 1, taps - 1, 0, 0), False, 1.0)
    n = min(len(want), got.shape[3])
    assert n >= len(want) - 1
    np.testing.assert_allclose(got[0, 0, 0, :n].numpy(), want[:n], rtol=1e-12, atol=1e-12)


def test_filter2d_matches_scipy_convolve2d():
    signal = pytest.importorskip("scipy.signal")
    x = _rand(1, 1, 11, 9)
    f = _rand(4, 5, seed=3)
    full = signal.convolve2d(x[0, 0].numpy(), f.numpy(), mode="full")
    oy, ox = 3 - 4 // 2, 4 - 5 // 2  # (taps - 1) - taps // 2
    want = full[oy : oy + 11, ox : ox + 9]
    with kernels.use_backend("reference"):
        got = kernels.filter2d(x, f)
    np.testing.assert_allclose(got[0, 0].numpy(), want, rtol=1e-12, atol=1e-12)


# SG3-style configurations (spec 3.6) at small channel counts, plus SG2 resampling
FAST_CASES = [
    # (in size, filter shape, up, down, pad)
    (18, (12,), 2, 1, (9, 8, 9, 8)),
    (18, (24,), 4, 1, (-6, -9, -6, -9)),
    (18, (12,), 2, 1, (11, 10, 11, 10)),
    (18, (24,), 4, 1, (-2, -5, -2, -5)),
    (30, (12,), 2, 1, (-11, -12, -11, -12)),
    (31, (12,), 1, 2, (0, 0, 0, 0)),
    (31, (12, 12), 1, 2, (0, 0, 0, 0)),
    (8, (4, 4), 2, 1, (2, 1, 2, 1)),
    (9, (4, 4), 1, 2, (1, 1, 1, 1)),
    (9, (4, 4), 1, 1, (2, 1, 2, 1)),
    (13, (5, 7), 3, 2, (1, -2, 3, 0)),
    (13, (7,), 2, 3, (-1, 2, 0, -3)),
]


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{c[1]}-up{c[2]}-down{c[3]}-{c[4]}")
def test_fast_matches_reference_float32(case, flip):
    size, fshape, up, down, pad = case
    x = _rand(2, 3, size, size + 1, dtype=torch.float32)
    f = torch.rand(fshape, generator=torch.Generator().manual_seed(5))  # asymmetric, positive
    want = ufd._reference(x, f, (up, up), (down, down), pad, flip, 1.7)
    got = ufd._fast(x, f, (up, up), (down, down), pad, flip, 1.7)
    assert got.shape == want.shape
    assert (got - want).abs().max() <= 1e-5 * want.abs().max()


@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{c[1]}-up{c[2]}-down{c[3]}-{c[4]}")
def test_fast_matches_reference_float64_with_xy_factors(case):
    size, fshape, up, down, pad = case
    x = _rand(1, 2, size + 2, size)
    f = _rand(*fshape, seed=6)
    ups, downs = (up, up), (down, down + 1)
    want = ufd._reference(x, f, ups, downs, pad, False, 2.0)
    got = ufd._fast(x, f, ups, downs, pad, False, 2.0)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12 * want.abs().max().item())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_fast_handles_half_precision(dtype):
    x = _rand(1, 4, 12, 12, dtype=torch.float32)
    f = kernels.setup_filter(torch.rand(12))
    want = ufd._reference(x, f, (2, 2), (1, 1), (9, 8, 9, 8), False, 4.0)
    got = ufd._fast(x.to(dtype), f, (2, 2), (1, 1), (9, 8, 9, 8), False, 4.0)
    assert got.dtype == dtype
    assert (got.float() - want).abs().max() <= 3e-2 * want.abs().max()


def test_fast_keeps_channels_last_input_layout_and_values():
    x = _rand(1, 5, 10, 10, dtype=torch.float32)
    f = kernels.setup_filter([1, 3, 3, 1])
    got = kernels.upsample2d(x.contiguous(memory_format=torch.channels_last), f)
    assert got.is_contiguous(memory_format=torch.channels_last)
    with kernels.use_backend("reference"):
        want = kernels.upsample2d(x, f)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("helper", ["upsample2d", "downsample2d", "filter2d"])
def test_sg2_helpers_keep_alignment_and_match_reference(helper):
    x = _rand(2, 3, 8, 8, dtype=torch.float32)
    f = kernels.setup_filter([1, 3, 3, 1])
    assert f.shape == (4, 4)
    fn = getattr(kernels, helper)
    got = fn(x, f)
    with kernels.use_backend("reference"):
        want = fn(x, f)
    expected = {"upsample2d": 16, "downsample2d": 4, "filter2d": 8}[helper]
    assert got.shape == (2, 3, expected, expected)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # a constant image stays constant in the interior (unit DC gain per output sample)
    const = fn(torch.ones(1, 1, 8, 8), f)
    torch.testing.assert_close(const[..., 3:-3, 3:-3], torch.ones_like(const[..., 3:-3, 3:-3]))


def test_upsample2d_pads_2_1_for_four_taps():
    x = _rand(1, 1, 4, 4)
    f = kernels.setup_filter([1, 3, 3, 1]).double()
    got = kernels.upsample2d(x, f)
    want = ufd._reference(x, f, (2, 2), (1, 1), (2, 1, 2, 1), False, 4.0)
    torch.testing.assert_close(got, want)


def test_setup_filter_rules():
    f = kernels.setup_filter([1, 3, 3, 1])
    assert f.shape == (4, 4) and f.dtype == torch.float32
    assert torch.isclose(f.sum(), torch.tensor(1.0))
    long = kernels.setup_filter(torch.arange(1.0, 13.0))
    assert long.shape == (12,)
    assert torch.isclose(long.sum(), torch.tensor(1.0))
    assert kernels.setup_filter(2.0).shape == (1, 1)
    assert kernels.setup_filter([1, 2], separable=True, normalize=False).tolist() == [1, 2]
    flipped = kernels.setup_filter([1.0, 2.0], separable=True, flip_filter=True, normalize=False)
    assert flipped.tolist() == [2, 1]
    gained = kernels.setup_filter([1, 1], gain=4)  # 2D: gain^(2/2)
    torch.testing.assert_close(gained.sum(), torch.tensor(4.0))
    gained = kernels.setup_filter(torch.ones(8), gain=4)  # 1D: gain^(1/2)
    torch.testing.assert_close(gained.sum(), torch.tensor(2.0))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"x": torch.zeros(3, 8, 8)}, "shape \\[N, C, H, W\\]"),
        ({"f": torch.zeros(2, 2, 2)}, "1D \\[taps\\] or 2D"),
        ({"padding": (1, 2, 3)}, "padding must be"),
        ({"up": 1.5}, "up must be an integer"),
        ({"down": 0}, "down must be >= 1"),
        ({"up": (1, 2, 3)}, "up must be an int or a pair"),
        ({"f": torch.ones(12)}, "filter too big for input"),
        ({"x": torch.zeros(1, 1, 8, 8, dtype=torch.int64)}, "floating point"),
    ],
)
def test_upfirdn2d_argument_errors(kwargs, match):
    args = {"x": torch.zeros(1, 1, 8, 8), "f": torch.ones(3)} | kwargs
    with pytest.raises(ValueError, match=match):
        kernels.upfirdn2d(**args)


def test_plan_uses_half_the_taps_per_phase():
    plan = ufd.plan_axis(36, 12, 2, 1, 9, 8)
    assert plan.phases == 2 and plan.taps.shape == (2, 6)
    plan = ufd.plan_axis(36, 24, 4, 1, -6, -9)
    assert plan.phases == 4 and plan.taps.shape == (4, 6)
    plan = ufd.plan_axis(82, 12, 1, 2, 0, 0)
    assert plan.phases == 1 and plan.stride == 2 and plan.taps.shape == (1, 12)
