"""kernels/winograd.py: float32 3x3 convs by Winograd F(4x4, 3x3) against float64 convolutions."""

from __future__ import annotations

import threading

import pytest
import torch
import torch.nn.functional as F

from installation.models import stylegan2
from kernels import winograd

# Winograd's transforms cost some float32 accuracy: relative to the output's largest value, a few
# 1e-6 at these channel counts, up to 2e-5 at 512 (oneDNN's direct conv: about 1e-6).
REL_TOL = 2e-5


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double() - want).abs().max() / want.abs().max())


def reference(x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
    return F.conv2d(x.double(), weight.double(), padding=padding)


@pytest.mark.parametrize(
    ("n", "in_ch", "out_ch", "h", "w", "padding"),
    [
        (1, 8, 5, 7, 9, 1),  # sizes that are no multiple of the 4x4 tile
        (2, 16, 8, 13, 6, 2),  # SG3's full conv (padding 2), a batch
        (1, 4, 4, 3, 3, 1),
        (1, 3, 7, 1, 1, 2),  # a 1x1 image: all padding
        (3, 32, 16, 17, 23, 0),  # 'valid'
        (1, 64, 48, 40, 37, 2),
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
def test_conv3x3_equals_the_convolution(n, in_ch, out_ch, h, w, padding, channels_last):
    gen = torch.Generator().manual_seed(n * 1000 + in_ch + h)
    x = torch.randn(n, in_ch, h, w, generator=gen)
    weight = torch.randn(out_ch, in_ch, 3, 3, generator=gen)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = winograd.conv3x3(x, winograd.transform_weight(weight), padding)
    want = reference(x, weight, padding)
    assert y.shape == want.shape and y.dtype == torch.float32
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert relative_error(y, want) < REL_TOL


@pytest.mark.parametrize("band_floats", [1, 36 * 8 * 3 * 2, 1 << 30])
def test_bands_of_any_height_give_the_same_image(band_floats, monkeypatch):
    """One tile row per band, a few, or the whole image: the halos between bands are right."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 8, 29, 11, generator=gen)
    weight = torch.randn(6, 8, 3, 3, generator=gen)
    monkeypatch.setattr(winograd, "BAND_FLOATS", band_floats)
    y = winograd.conv3x3(x, winograd.transform_weight(weight), 2)
    assert relative_error(y, reference(x, weight, 2)) < REL_TOL


def test_in_scale_scales_the_input_channels():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(1, 12, 10, 10, generator=gen)
    weight = torch.randn(5, 12, 3, 3, generator=gen)
    scale = torch.rand(12, generator=gen) * 3
    y = winograd.conv3x3(x, winograd.transform_weight(weight), 1, in_scale=scale)
    want = reference(x * scale.reshape(1, -1, 1, 1), weight, 1)
    assert relative_error(y, want) < REL_TOL


def test_pays_off_only_for_wide_float32_3x3_convs(monkeypatch):
    x = torch.zeros(1, 128, 8, 8)
    wide = torch.zeros(128, 128, 3, 3)
    assert winograd.pays_off(x, wide)
    assert not winograd.pays_off(x.bfloat16(), wide)  # fast mode keeps oneDNN's bf16 convs
    assert not winograd.pays_off(x, torch.zeros(128, 128, 1, 1))  # SG3-R's 1x1 convs
    assert not winograd.pays_off(torch.zeros(1, 64, 8, 8), torch.zeros(64, 64, 3, 3))  # narrow
    monkeypatch.setattr(winograd, "ENABLED", False)
    assert not winograd.pays_off(x, wide)


def test_threads_keep_their_own_buffers():
    """Two threads convolving different shapes at once each get their own image."""
    gen = torch.Generator().manual_seed(5)
    jobs = []
    for in_ch, size in ((16, 31), (24, 18)):
        x = torch.randn(1, in_ch, size, size, generator=gen)
        weight = torch.randn(8, in_ch, 3, 3, generator=gen)
        jobs.append((x, winograd.transform_weight(weight), reference(x, weight, 2)))
    errors: list[float] = []

    def run(job) -> None:
        x, u, want = job
        for _ in range(20):
            errors.append(relative_error(winograd.conv3x3(x, u, 2), want))

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 40 and max(errors) < REL_TOL


def test_a_layer_follows_an_edited_weight(monkeypatch):
    """The cached transformed weight is rebuilt when the layer's weight changes in place."""
    monkeypatch.setattr(winograd, "MIN_CHANNEL_PRODUCT", 0)
    layer = stylegan2.SynthesisLayer(8, 8, w_dim=4, resolution=8, use_noise=False)
    gen = torch.Generator().manual_seed(6)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(8, 8, 3, 3, generator=gen))
        layer.affine.weight.copy_(torch.randn(8, 4, generator=gen))
        layer.affine.bias.fill_(1)
    x = torch.randn(1, 8, 8, 8, generator=gen)
    w = torch.randn(1, 4, generator=gen)
    with torch.inference_mode():
        before = layer(x, w)
    with torch.no_grad():
        layer.weight.mul_(-1)
    with torch.inference_mode():
        after = layer(x, w)
        monkeypatch.setattr(winograd, "ENABLED", False)
        direct = layer(x, w)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, direct, rtol=1e-5, atol=1e-5)


def test_buffers_made_under_inference_mode_serve_calls_outside_it():
    """The thread's buffers, first made inside torch.inference_mode(), are written again by calls
    under no_grad and with autograd on (building a model calibrates it under no_grad)."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(1, 8, 21, 19, generator=gen)
    weight = torch.randn(6, 8, 3, 3, generator=gen)
    u = winograd.transform_weight(weight)
    want = reference(x, weight, 2)
    winograd._buffers.store.clear()
    with torch.inference_mode():
        first = winograd.conv3x3(x, u, 2)
    with torch.no_grad():
        second = winograd.conv3x3(x, u, 2)
    third = winograd.conv3x3(x, u, 2)
    for y in (first, second, third):
        assert relative_error(y, want) < REL_TOL
