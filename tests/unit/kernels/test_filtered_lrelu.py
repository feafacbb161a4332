"""filtered_lrelu: reference against an explicit composition; fast path against the reference."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

import kernels

ufd = importlib.import_module("kernels.upfirdn2d")
flr = importlib.import_module("kernels.filtered_lrelu")


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _filters(fu_shape, fd_shape, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    fu = None if fu_shape is None else torch.rand(fu_shape, generator=g, dtype=dtype)
    fd = None if fd_shape is None else torch.rand(fd_shape, generator=g, dtype=dtype)
    return fu, fd


def test_reference_follows_the_definition_order():
    x = _rand(2, 3, 10, 10, dtype=torch.float64)
    b = _rand(3, seed=1, dtype=torch.float64)
    fu, fd = _filters((12,), (12,), dtype=torch.float64)
    up, down, pad, gain, slope, clamp = (2, 2), (2, 2), (9, 8, 9, 8), 1.7, 0.3, 0.8
    # bias, upfirdn with gain up^2, lrelu, * gain, clamp, upfirdn down
    y = x + b.reshape(1, -1, 1, 1)
    y = ufd._reference(y, fu, up, (1, 1), pad, False, 4.0)
    y = torch.where(y >= 0, y, y * slope) * gain
    y = y.clamp(-clamp, clamp)
    want = ufd._reference(y, fd, (1, 1), down, (0, 0, 0, 0), False, 1.0)
    with kernels.use_backend("reference"):
        got = kernels.filtered_lrelu(x, fu, fd, b, 2, 2, pad, gain, slope, clamp)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    assert got.shape == (2, 3, 8, 8)  # (10*2 + 17 - 11 - 11 + 1) // 2


# spec 3.6 layer patterns: (in size, fu, fd, up, down, padding)
SG3_CASES = [
    (14, (12,), (12,), 2, 2, (9, 8, 9, 8)),  # T, same rate
    (14, (24,), (12,), 4, 2, (-6, -9, -6, -9)),  # T, rate doubles
    (24, (12,), (12,), 2, 2, (-11, -12, -11, -12)),  # T, penultimate (critical)
    (12, (12,), (12, 12), 2, 2, (11, 10, 11, 10)),  # R, radial fd
    (12, (24,), (12, 12), 4, 2, (-2, -5, -2, -5)),  # R, radial fd, rate doubles
    (22, (12,), (12,), 2, 2, (-9, -10, -9, -10)),  # R, penultimate (critical)
    (9, None, None, 1, 1, (0, 0, 0, 0)),  # ToRGB: bias + clamp only
]


@pytest.mark.parametrize("strip_bytes", [1 << 30, 3000])
@pytest.mark.parametrize("case", SG3_CASES, ids=lambda c: f"{c[1]}-{c[2]}-up{c[3]}-{c[5]}")
def test_fast_matches_reference_float32(case, strip_bytes, monkeypatch):
    size, fu_shape, fd_shape, up, down, pad = case
    monkeypatch.setattr(flr, "STRIP_BYTES", strip_bytes)  # one strip, and many strips
    x = _rand(2, 3, size, size + 1) * 4
    b = _rand(3, seed=2)
    fu, fd = _filters(fu_shape, fd_shape)
    is_torgb = fu is None
    gain, slope = (1.0, 1.0) if is_torgb else (math.sqrt(2), 0.2)
    args = (x, fu, fd, b, (up, up), (down, down), pad, gain, slope, 12.0, False)
    want = flr._reference(*args)
    got = flr._fast(*args)
    assert got.shape == want.shape
    assert got.is_contiguous()
    assert (got - want).abs().max() <= 1e-5 * want.abs().max()


@pytest.mark.parametrize("case", SG3_CASES[:5], ids=lambda c: f"{c[1]}-{c[2]}-up{c[3]}-{c[5]}")
def test_fast_matches_reference_float64_flipped_negative_gain(case, monkeypatch):
    size, fu_shape, fd_shape, up, down, pad = case
    monkeypatch.setattr(flr, "STRIP_BYTES", 5000)
    x = _rand(1, 2, size + 1, size, dtype=torch.float64)
    fu, fd = _filters(fu_shape, fd_shape, dtype=torch.float64)
    for gain, clamp in [(-1.3, None), (2.0, 0.5)]:
        args = (x, fu, fd, None, (up, up), (down, down), pad, gain, 0.1, clamp, True)
        want = flr._reference(*args)
        torch.testing.assert_close(flr._fast(*args), want, rtol=1e-12, atol=1e-12)


def test_filtered_lrelu_xy_factors_and_bfloat16():
    x = _rand(1, 4, 11, 13)
    fu, fd = _filters((5, 3), (4,))
    kwargs = {"up": (2, 3), "down": (2, 1), "padding": (3, 1, 2, 4), "clamp": 4.0}
    want = kernels.filtered_lrelu(x, fu, fd, None, **kwargs)
    with kernels.use_backend("reference"):
        ref = kernels.filtered_lrelu(x, fu, fd, None, **kwargs)
    torch.testing.assert_close(want, ref, rtol=1e-5, atol=1e-5)
    half = kernels.filtered_lrelu(x.bfloat16(), fu, fd, None, **kwargs)
    assert half.dtype == torch.bfloat16
    assert (half.float() - ref).abs().max() <= 3e-2 * ref.abs().max()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"x": torch.zeros(4, 8, 8)}, "shape \\[N, C, H, W\\]"),
        ({"b": torch.zeros(3)}, "b must be None or a \\[C\\] = \\[2\\] tensor"),
        ({"padding": (1, 2, 3)}, "padding must be"),
        ({"up": 2.5}, "up must be an integer"),
        ({"fd": torch.ones(1, 1, 3)}, "fd must be 1D"),
        ({"fu": torch.ones(12), "fd": torch.ones(12), "up": 1, "down": 2}, "filter too big"),
        ({"clamp": -2}, "clamp must be None or >= 0"),
    ],
)
def test_filtered_lrelu_argument_errors(kwargs, match):
    args = {"x": torch.zeros(1, 2, 8, 8)} | kwargs
    with pytest.raises(ValueError, match=match):
        kernels.filtered_lrelu(**args)
