"""The CPU fast-path steps of upfirdn2d (issue 19) against the polyphase path and the reference."""

from __future__ import annotations

import importlib

import pytest
import torch

ufd = importlib.import_module("kernels.upfirdn2d")


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


UP_CASES = [
    # (taps, up, pad): start = taps-1-pad0 inside the transposed conv's output, and outside it
    (12, 2, (9, 8, 9, 8)),  # SG3 up-2 layers
    (24, 4, (-6, -9, -6, -9)),  # SG3 up-4 layers (crops)
    (4, 2, (2, 1, 2, 1)),  # SG2 upsample2d
    (5, 2, (7, 6, 0, 9)),  # padding wider than the filter: zeros on both sides
    (6, 3, (-2, 4, 3, -1)),
]


@pytest.mark.parametrize("taps,up,pad", UP_CASES)
def test_transposed_up_pass_matches_polyphase_and_reference(taps, up, pad, monkeypatch):
    x = _rand(2, 3, 12, 13).contiguous(memory_format=torch.channels_last)
    f = torch.rand(taps, generator=torch.Generator().manual_seed(1))
    args = (x, f, (up, up), (1, 1), pad, False, float(up * up))
    ref = ufd._reference(*args)
    monkeypatch.setattr(ufd, "TRANSPOSED_UP", False)
    polyphase = ufd._fast(*args)
    monkeypatch.setattr(ufd, "TRANSPOSED_UP", True)
    transposed = ufd._fast(*args)
    assert transposed.shape == ref.shape
    assert transposed.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(transposed, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(transposed, polyphase, rtol=1e-5, atol=1e-5)


def test_sg2_filter_factors_into_two_passes_and_a_random_one_does_not():
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = torch.outer(taps, taps) / 64
    col, row = ufd._separable_factors(f)
    torch.testing.assert_close(torch.outer(col, row), f, rtol=0, atol=1e-8)
    random = torch.rand(4, 4, generator=torch.Generator().manual_seed(2))
    assert ufd._separable_factors(random) is None
    assert ufd._separable_factors(torch.zeros(4, 4)) is None


@pytest.mark.parametrize(
    "up,down,pad", [(2, 1, (2, 1, 2, 1)), (1, 1, (1, 1, 1, 1)), (1, 2, (1, 1, 1, 1))]
)
def test_rank_one_2d_filter_two_passes_match_reference(up, down, pad, monkeypatch):
    x = _rand(2, 4, 10, 9, seed=3).contiguous(memory_format=torch.channels_last)
    f = torch.outer(torch.tensor([1.0, 3.0, 3.0, 1.0]), torch.tensor([1.0, 2.0, 5.0, 1.0])) / 99
    args = (x, f, (up, up), (down, down), pad, False, 4.0)
    ref = ufd._reference(*args)
    monkeypatch.setattr(ufd, "SEPARABLE_2D", False)
    two_d = ufd._fast(*args)
    monkeypatch.setattr(ufd, "SEPARABLE_2D", True)
    separable = ufd._fast(*args)
    torch.testing.assert_close(separable, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(separable, two_d, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pad", [(0, 0, 0, 0), (2, 1, -1, 3)])
@pytest.mark.parametrize("batch", [1, 3])
def test_one_tap_filtered_lrelu_only_pads_and_scales(pad, batch):
    flr = importlib.import_module("kernels.filtered_lrelu")
    x = (_rand(batch, 4, 7, 6, seed=4) * 3).contiguous(memory_format=torch.channels_last)
    b = _rand(4, seed=5)
    args = (x, None, None, b, (1, 1), (1, 1), pad, 1.7, 0.2, 2.0, False)
    want = flr._reference(*args)
    got = flr._fast(*args)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
