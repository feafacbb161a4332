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


FLR_CASES = [
    # (up, down, fu taps, fd taps, pad, gain, slope, clamp): SG3's layers and the odd ones
    (2, 2, 12, 12, (9, 8, 9, 8), 2**0.5, 0.2, 256.0),
    (4, 2, 24, 12, (-6, -9, -6, -9), 2**0.5, 0.2, 256.0),
    (2, 2, 12, 12, (9, 8, 9, 8), 2**0.5, 0.2, None),
    (2, 2, 12, 12, (9, 8, 9, 8), 1.0, 1.0, 4.0),
    (2, 2, 12, 12, (9, 8, 9, 8), -1.5, 0.2, 3.0),  # negative gain: the unfused order
    (2, 2, 12, 12, (9, 8, 9, 8), 2**0.5, 0.3, 0.7),  # -clamp/slope not exact in float32
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("up,down,fu_taps,fd_taps,pad,gain,slope,clamp", FLR_CASES)
def test_fused_activation_equals_separate_passes(
    up, down, fu_taps, fd_taps, pad, gain, slope, clamp, dtype, monkeypatch
):
    flr = importlib.import_module("kernels.filtered_lrelu")
    # large values (inputs to 400, bias to 150): the clamp bites on both sides
    x = (_rand(2, 5, 14, 13, seed=6) * 400).to(dtype).contiguous(memory_format=torch.channels_last)
    fu = torch.rand(fu_taps, generator=torch.Generator().manual_seed(7)) / fu_taps * 2
    fd = torch.rand(fd_taps, generator=torch.Generator().manual_seed(8)) / fd_taps
    b = (_rand(5, seed=9) * 50).to(dtype)
    args = (x, fu.to(dtype), fd.to(dtype), b, (up, up), (down, down), pad, gain, slope, clamp)
    monkeypatch.setattr(flr, "FUSED_ACTIVATION", False)
    separate = flr._fast(*args, False)
    monkeypatch.setattr(flr, "FUSED_ACTIVATION", True)
    monkeypatch.setattr(ufd, "CONV_LRELU", False)
    clamp_in_copies = flr._fast(*args, False)
    monkeypatch.setattr(ufd, "CONV_LRELU", True)
    conv_post_op = flr._fast(*args, False)
    assert torch.equal(clamp_in_copies, separate)
    if dtype == torch.float32:
        assert torch.equal(conv_post_op, separate)
    else:  # oneDNN rounds the conv's output to bf16 after its leaky ReLU, not before
        torch.testing.assert_close(conv_post_op.float(), separate.float(), rtol=0.02, atol=0.5)
    want = flr._reference(*[a.float() if isinstance(a, torch.Tensor) else a for a in args], False)
    exact = dtype == torch.float32
    tol = {"rtol": 1e-4, "atol": 1e-3} if exact else {"rtol": 0.02, "atol": 1.0}
    torch.testing.assert_close(conv_post_op.float(), want, **tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_clamp_before_lrelu_is_exact_around_its_bound(dtype):
    flr = importlib.import_module("kernels.filtered_lrelu")
    act = flr._activation(0.2, 256.0, dtype)
    assert act is not None and act.hi == 256.0
    # every value of dtype from -4000 to 4000 near the lower bound, and a spread elsewhere
    lo = torch.tensor(act.lo, dtype=dtype)
    near = lo.float() + torch.arange(-2000, 2000, dtype=torch.float32) * 2e-3
    t = torch.cat(
        [near, torch.linspace(-5000, 5000, 40001), torch.tensor([float("inf"), -float("inf")])]
    )
    t = t.to(dtype)
    want = torch.nn.functional.leaky_relu(t, 0.2).clamp(-256.0, 256.0)
    assert torch.equal(act.apply_(t.clone()), want)


def test_activation_keeps_the_separate_order_where_it_cannot_be_exact():
    flr = importlib.import_module("kernels.filtered_lrelu")
    assert flr._activation(-0.1, 256.0, torch.float32) is None  # slope < 0: not monotonic
    assert flr._activation(1.5, 256.0, torch.float32) is None
    assert flr._activation(0.2, float("inf"), torch.float32) is None
    assert flr._activation(0.2, None, torch.float32).lo is None


def test_conv_lrelu_falls_back_with_one_warning(monkeypatch, caplog):
    flr = importlib.import_module("kernels.filtered_lrelu")
    x = (_rand(1, 4, 10, 9, seed=10) * 3).contiguous(memory_format=torch.channels_last)
    fu = torch.rand(12, generator=torch.Generator().manual_seed(11)) / 6
    args = (x, fu, fu / 2, None, (2, 2), (2, 2), (9, 8, 9, 8), 2**0.5, 0.2, 1.0, False)
    monkeypatch.setattr(ufd, "HEIGHT_GEMM", False)  # the phase convs, where oneDNN's op rides
    monkeypatch.setattr(flr, "FUSED_ACTIVATION", False)
    want = flr._fast(*args)
    monkeypatch.setattr(flr, "FUSED_ACTIVATION", True)
    monkeypatch.setattr(ufd, "CONV_LRELU", True)

    def refuse(*_args):
        raise RuntimeError("no oneDNN here")

    monkeypatch.setattr(ufd, "_conv_lrelu", refuse)
    with caplog.at_level("WARNING", logger="kernels.upfirdn2d"):
        first = flr._fast(*args)
        second = flr._fast(*args)
    assert torch.equal(first, want) and torch.equal(second, want)
    assert ufd.CONV_LRELU is False
    warnings = [r for r in caplog.records if "oneDNN" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels", [3, 8, 200])
def test_channel_operand_rows_give_the_same_values(dtype, channels):
    x = _rand(2, channels, 5, 7, seed=12).to(dtype).contiguous(memory_format=torch.channels_last)
    v = _rand(2, channels, seed=13).to(dtype)
    b = _rand(channels, seed=14).to(dtype)
    row = ufd.channel_operand(v, x)
    assert row.shape[:3] == (2, channels, 1)
    assert torch.equal(x * row, x * v.reshape(2, channels, 1, 1))
    assert torch.equal(x + ufd.channel_operand(b, x), x + b.reshape(1, channels, 1, 1))
    if dtype == torch.bfloat16 or channels < ufd.CHANNEL_ROWS_BELOW:
        assert row.shape[3] == 7 and row.is_contiguous(memory_format=torch.channels_last)
        assert (x * row).is_contiguous(memory_format=torch.channels_last)
    plain = ufd.channel_operand(v, x.contiguous())  # not channels-last: plain broadcasting
    assert plain.shape == (2, channels, 1, 1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(
    "taps,up,down,pad",
    [
        (4, 1, 1, (1, 1, 1, 1)),  # SG2's FIR after the up conv
        (4, 1, 2, (1, 1, 1, 1)),  # stride 2, aligned
        (4, 1, 2, (2, 1, 1, 2)),  # stride 2, before and after differ (odd skip: F.pad)
        (12, 2, 1, (9, 8, 9, 8)),
        (12, 1, 2, (0, 0, 3, 0)),
        (6, 3, 2, (-2, 4, 3, -1)),
    ],
)
def test_padding_in_the_conv_equals_a_padded_copy(taps, up, down, pad, dtype, monkeypatch):
    x = _rand(2, 3, 11, 12, seed=15).to(dtype).contiguous(memory_format=torch.channels_last)
    f = torch.rand(taps, generator=torch.Generator().manual_seed(16)).to(dtype)
    args = (x, f, (up, up), (down, down), pad, False, float(up * up))
    monkeypatch.setattr(ufd, "CONV_PADDING", False)
    copied = ufd._fast(*args)
    monkeypatch.setattr(ufd, "CONV_PADDING", True)
    in_conv = ufd._fast(*args)
    assert torch.equal(in_conv, copied)
    if dtype == torch.float32:
        torch.testing.assert_close(in_conv, ufd._reference(*args), rtol=1e-5, atol=1e-5)


HEIGHT_CASES = [
    # (height, taps, up, down, height pads): SG3's up passes, SG2's up/down, crops, wide zeros
    (12, 12, 2, 1, (9, 8)),
    (12, 24, 4, 1, (-6, -9)),
    (130, 4, 2, 1, (2, 1)),  # 260 output rows: several blocks of the row matrix
    (40, 12, 1, 2, (0, 0)),  # a down pass
    (7, 5, 2, 1, (60, 2)),  # 60 zero rows on top: the first blocks read no input row
    (11, 6, 3, 2, (3, -1)),
]


@pytest.mark.parametrize("h,taps,up,down,pad", HEIGHT_CASES)
@pytest.mark.parametrize("batch", [1, 3])
def test_height_pass_by_gemm_equals_the_phase_convs(h, taps, up, down, pad, batch, monkeypatch):
    """Every output row of the GEMM form: the same sums as the phase convs and the reference."""
    x = _rand(batch, 5, h, 40, seed=h).contiguous(memory_format=torch.channels_last)
    x = x[:, :, :, 1:35]  # rows of a narrowed view: strided, still one [W*C] vector each
    f = torch.rand(taps, generator=torch.Generator().manual_seed(taps))
    args = (x, f, (1, up), (1, down), (3, 2, *pad), False, float(up))
    calls = []
    real = ufd._height_pass_gemm
    monkeypatch.setattr(ufd, "_height_pass_gemm", lambda *a: calls.append(1) or real(*a))
    gemm = ufd._fast(*args)
    assert calls, "the height pass did not run as a GEMM"
    monkeypatch.setattr(ufd, "HEIGHT_GEMM", False)
    convs = ufd._fast(*args)
    ref = ufd._reference(*args)
    assert gemm.shape == convs.shape == ref.shape
    torch.testing.assert_close(gemm, convs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gemm, ref, rtol=1e-5, atol=1e-5)


def test_filtered_lrelu_with_height_gemm_equals_the_phase_convs(monkeypatch):
    """SG3's layer op, strip by strip, with the activation after the GEMM."""
    flr = importlib.import_module("kernels.filtered_lrelu")
    x = (_rand(2, 6, 20, 17, seed=3) * 60).contiguous(memory_format=torch.channels_last)
    fu = torch.rand(12, generator=torch.Generator().manual_seed(4)) / 6
    b = _rand(6, seed=5)
    args = (x, fu, fu / 2, b, (2, 2), (2, 2), (9, 8, 9, 8), 2**0.5, 0.2, 25.0, False)
    monkeypatch.setattr(flr, "STRIP_BYTES", 6 * 34 * 2 * 4 * 4)  # a few rows per strip
    gemm = flr._fast(*args)
    monkeypatch.setattr(ufd, "HEIGHT_GEMM", False)
    convs = flr._fast(*args)
    unclamped = flr._fast(*args[:-2], None, False)
    assert (gemm - unclamped).abs().max() > 1  # the clamp bit
    torch.testing.assert_close(gemm, convs, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gemm, flr._reference(*args), rtol=1e-5, atol=1e-5)


def test_bf16_height_passes_keep_the_phase_convs(monkeypatch):
    def refuse(*_args):
        raise AssertionError("bf16 took the GEMM")

    monkeypatch.setattr(ufd, "_height_pass_gemm", refuse)
    x = _rand(1, 4, 10, 9, dtype=torch.bfloat16).contiguous(memory_format=torch.channels_last)
    y = ufd._fast(x, torch.ones(4) / 4, (2, 2), (1, 1), (2, 1, 2, 1), False, 4.0)
    assert y.shape == (1, 4, 20, 18)


def test_clamp_bound_reads_the_input_peak():
    flr = importlib.import_module("kernels.filtered_lrelu")
    fu = torch.full((4,), 0.25)  # sum of |taps| 1 per pass
    x = torch.zeros(1, 3, 5, 5)
    x[0, 1, 2, 3] = -9.0
    for layout in (torch.contiguous_format, torch.channels_last):
        xl = x.contiguous(memory_format=layout)
        assert flr._clamp_cannot_bite(xl, fu, 4.0, 40.0)  # 9 * 4 <= 40
        assert not flr._clamp_cannot_bite(xl, fu, 4.0, 30.0)
        assert not flr._clamp_cannot_bite(xl, fu * 2, 4.0, 40.0)  # taps summing to 2: squared
    x[0, 0, 0, 0] = float("nan")
    assert not flr._clamp_cannot_bite(x, fu, 4.0, 1e30)


@pytest.mark.parametrize("scale", [1.0, 300.0])
def test_clamp_left_out_only_where_it_cannot_bite(scale, monkeypatch):
    """Bit for bit the clamped result: the bound holds at scale 1, at 300 the clamp bites."""
    flr = importlib.import_module("kernels.filtered_lrelu")
    x = (_rand(1, 6, 16, 15, seed=7) * scale).contiguous(memory_format=torch.channels_last)
    fu = torch.rand(12, generator=torch.Generator().manual_seed(8)) / 6
    args = (x, fu, fu / 2, None, (2, 2), (2, 2), (9, 8, 9, 8), 2**0.5, 0.2, 256.0, False)
    decided = []
    real = flr._clamp_cannot_bite
    monkeypatch.setattr(
        flr, "_clamp_cannot_bite", lambda *a: decided.append(real(*a)) or decided[-1]
    )
    on = flr._fast(*args)
    monkeypatch.setattr(flr, "CLAMP_BOUND", False)
    off = flr._fast(*args)
    unclamped = flr._fast(*args[:-2], None, False)
    assert decided[0] == (scale == 1.0)
    assert torch.equal(on, off)
    assert torch.equal(on, unclamped) == (scale == 1.0)
