"""The generators' CPU path (issue 19) against their definitions (the 'reference' backend)."""

from __future__ import annotations

import importlib

import pytest
import torch
import torch.nn.functional as F

import kernels
from installation.models import Generator, stylegan2
from installation.models.random_init import initialize_random
from installation.models.spec import MappingSpec, NetworkSpec, SG2Spec
from installation.models.stylegan2 import modulate, transposed_conv_by_phases
from kernels import winograd
from tiny_models import tiny_sg3


def tiny_sg2(seed: int = 0) -> Generator:
    """A random StyleGAN2 (skip, noise, clamp): 16 px, 16 channels, w = 8."""
    resolutions = (4, 8, 16)
    synthesis = SG2Spec(
        img_resolution=16, img_channels=3, w_dim=8, num_ws=6, architecture="skip",
        channels=(16, 16, 8), fp16_resolutions=(16,), conv_clamp=256,
    )  # fmt: skip
    assert list(synthesis.block_resolutions) == list(resolutions)
    mapping = MappingSpec(z_dim=8, c_dim=0, w_dim=8, num_ws=6, num_layers=2,
                          embed_features=0, layer_features=8)  # fmt: skip
    G = Generator(NetworkSpec(architecture="stylegan2", mapping=mapping, synthesis=synthesis))
    return initialize_random(G, seed=seed)


def _ws(G: Generator, batch: int) -> torch.Tensor:
    z = torch.randn(batch, G.z_dim, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        return G.mapping(z)


@pytest.mark.parametrize("make", [tiny_sg2, tiny_sg3], ids=["sg2", "sg3"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("force_winograd", [False, True], ids=["direct", "winograd"])
def test_cpu_path_matches_the_definition(make, batch, force_winograd, monkeypatch):
    if force_winograd:
        monkeypatch.setattr(winograd, "MIN_CHANNEL_PRODUCT", 0)
    G = make()
    ws = _ws(G, batch)
    with torch.inference_mode():
        with kernels.use_backend("reference"):
            definition = G.synthesis(ws)
        fast = G.synthesis(ws)
    torch.testing.assert_close(fast, definition, rtol=1e-4, atol=1e-4)


def test_prepared_weight_follows_a_loaded_state_dict():
    G, other = tiny_sg2(seed=0), tiny_sg2(seed=1)
    ws = _ws(G, 2)
    with torch.inference_mode():
        G.synthesis(ws)  # prepares and caches the CPU weights
        G.load_state_dict(other.state_dict())
        after = G.synthesis(ws)
        expected = other.synthesis(ws)
    torch.testing.assert_close(after, expected, rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(1, 5, 6, 7), (2, 3, 1, 4)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_transposed_conv_by_phases_equals_conv_transpose2d(shape, channels_last):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    weight = torch.randn(4, shape[1], 3, 3, generator=torch.Generator().manual_seed(1))
    expected = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
    torch.testing.assert_close(transposed_conv_by_phases(x, weight), expected)


@pytest.mark.parametrize("size", [2, 16])  # 4 px < 18 weight taps per input: the weight side
def test_modulating_weight_or_activations_gives_the_same_conv(size):
    x = torch.randn(1, 6, size, size, generator=torch.Generator().manual_seed(0))
    weight = torch.randn(2, 6, 3, 3, generator=torch.Generator().manual_seed(1))
    styles = torch.rand(1, 6, generator=torch.Generator().manual_seed(2)) + 0.5
    x_mod, w_mod = modulate(x, weight, styles)
    assert (w_mod is weight) == (size * size <= 2 * 9)
    expected = F.conv2d(x * styles.reshape(1, 6, 1, 1), weight, padding=1)
    torch.testing.assert_close(F.conv2d(x_mod, w_mod, padding=1), expected)


def test_fast_precision_stays_close_to_exact():
    G = tiny_sg3()
    ws = _ws(G, 2)
    with torch.inference_mode():
        exact = G.synthesis(ws)
        fast = G.set_precision("fast").synthesis(ws)
    mse = float((fast.clamp(-1, 1) - exact.clamp(-1, 1)).square().mean())
    assert 10 * torch.log10(torch.tensor(4 / mse)) >= 35  # the PSNR guard of the README


def test_prepared_weight_follows_a_replaced_parameter():
    G, other = tiny_sg2(seed=0), tiny_sg2(seed=1)
    ws = _ws(G, 1)
    with torch.inference_mode():
        G.synthesis(ws)
    for name, param in other.named_parameters():
        module_name, _, attr = name.rpartition(".")
        setattr(G.get_submodule(module_name), attr, torch.nn.Parameter(param.detach().clone()))
    for name, buffer in other.named_buffers():
        G.get_buffer(name).copy_(buffer)  # buffers are not prepared: copied in place
    with torch.inference_mode():
        torch.testing.assert_close(G.synthesis(ws), other.synthesis(ws), rtol=0, atol=0)


@pytest.mark.parametrize("make", [tiny_sg2, tiny_sg3], ids=["sg2", "sg3"])
def test_fused_activation_and_channel_rows_keep_exact_bits(make, monkeypatch):
    """The issue-19 steps after the modulated conv: exact output bit for bit, fast close."""
    flr = importlib.import_module("kernels.filtered_lrelu")
    ufd = importlib.import_module("kernels.upfirdn2d")
    G = make()
    ws = _ws(G, 3)
    with torch.inference_mode():
        on = {"exact": G.synthesis(ws), "fast": G.set_precision("fast").synthesis(ws)}
        switches = [(flr, "FUSED_ACTIVATION"), (ufd, "CONV_LRELU"), (ufd, "CHANNEL_ROWS"),
                    (ufd, "CONV_PADDING"), (stylegan2, "IN_PLACE_EPILOGUE"),
                    (stylegan2, "IN_PLACE_STYLES")]  # fmt: skip
        for module, name in switches:
            monkeypatch.setattr(module, name, False)
        off = {"fast": G.synthesis(ws), "exact": G.set_precision("exact").synthesis(ws)}
    assert torch.equal(on["exact"], off["exact"])
    torch.testing.assert_close(on["fast"], off["fast"], rtol=0.05, atol=0.05)


@pytest.mark.parametrize("make", [tiny_sg2, tiny_sg3], ids=["sg2", "sg3"])
@pytest.mark.parametrize("force_winograd", [False, True], ids=["direct", "winograd"])
def test_a_layer_leaves_its_callers_input_alone(make, force_winograd, monkeypatch):
    """Only the network's own loop lets a layer scale its input in place."""
    if force_winograd:  # these layers are too narrow to take it by default
        monkeypatch.setattr(winograd, "MIN_CHANNEL_PRODUCT", 0)
    G = make()
    ws = _ws(G, 3)
    syn = G.synthesis
    if isinstance(syn, stylegan2.SynthesisNetwork):
        layer = getattr(syn, f"b{syn.block_resolutions[-1]}").conv1
        x = torch.randn(3, layer.weight.shape[1], layer.resolution, layer.resolution)
        call = lambda: layer(x, ws[:, 0])  # noqa: E731
    else:
        layer = getattr(syn, syn.layer_names[1])
        x = torch.randn(3, layer.in_channels, *layer.spec.in_size[::-1])
        call = lambda: layer(x, ws[:, 1], torch.float32)  # noqa: E731
    x = x.contiguous(memory_format=torch.channels_last)
    before = x.clone()
    with torch.inference_mode():
        call()
    assert torch.equal(x, before)


def test_per_sample_weights_equal_scaling_the_activations():
    """ToRGB-like layers (few outputs) of a batch: each sample's own modulated weight."""
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(3, 16, 7, 7, generator=gen).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(3, 16, 1, 1, generator=gen)
    styles = torch.randn(3, 16, generator=gen)
    before = x.clone()
    assert stylegan2.has_few_outputs(x, weight)
    assert not stylegan2.has_few_outputs(x[:1], weight)  # one sample: modulate scales the weight
    assert not stylegan2.has_few_outputs(x, torch.zeros(8, 16, 3, 3))
    y = stylegan2.per_sample_convs(x, weight, styles, padding=0)
    want = F.conv2d(x * styles.reshape(3, 16, 1, 1), weight)
    assert y.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y, want, rtol=1e-5, atol=1e-5)
    assert torch.equal(x, before)


def test_a_block_called_on_its_own_leaves_its_input_alone():
    """Only the network's loop tells a block its input is scratch (conv0 scales it in place)."""
    G = tiny_sg2()
    ws = _ws(G, 3)
    block = G.synthesis.b16
    x = torch.randn(3, block.conv0.in_channels, 8, 8).contiguous(memory_format=torch.channels_last)
    before = x.clone()
    with torch.inference_mode():
        block(x, None, ws[:, :3], "const", torch.float32, torch.channels_last)
    assert torch.equal(x, before)
