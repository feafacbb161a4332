"""models/latents.py: NVIDIA's latent rules, numpy and torch sides alike."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from installation.models.latents import (
    class_vector,
    edit_ws,
    float_to_uint8,
    map_z,
    seed_to_z,
    seed_z,
    to_uint8,
    truncate_ws,
)
from installation.models.mapping import MappingNetwork
from installation.models.spec import MappingSpec


def test_seed_to_z_follows_nvidia_convention():
    for seed in [0, 1, 42, 2**31 - 1]:
        z = seed_to_z(seed, 512)
        assert z.dtype == np.float32 and z.shape == (512,)
        np.testing.assert_array_equal(z, np.random.RandomState(seed).randn(512).astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_seed_z_is_seed_to_z_as_a_tensor_row(seed: int):
    expected = torch.from_numpy(np.random.RandomState(seed).randn(1, 512)).to(torch.float32)
    z = seed_z(seed, 512)
    assert z.dtype == torch.float32 and z.shape == (1, 512)
    assert torch.equal(z, expected)


def test_class_vector():
    assert class_vector(0, 3) is None
    assert torch.equal(class_vector(4, 2, batch=2), torch.tensor([[0.0, 0, 1, 0]] * 2))
    assert torch.equal(class_vector(3, None), torch.zeros(1, 3))  # conditional, no class
    labels = torch.tensor([0, 3, 1, 3])
    assert torch.equal(class_vector(5, labels), F.one_hot(labels, 5).float())


CUTOFFS = [None, 0, 3, 8, 20]


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_truncate_ws_keeps_each_sides_arithmetic(cutoff: int | None):
    rng = np.random.default_rng(cutoff or 0)
    psi = 0.7
    ws = rng.standard_normal((8, 16))  # float64, as the timeline truncates
    w_avg = rng.standard_normal(16).astype(np.float32)
    expected = ws.copy()
    rows = slice(0, cutoff)
    expected[rows] = w_avg + psi * (expected[rows] - w_avg)
    got = truncate_ws(ws, w_avg, psi, cutoff)
    assert got.dtype == np.float64 and np.array_equal(got, expected)
    assert not np.shares_memory(got, ws)

    ws_t = torch.from_numpy(rng.standard_normal((2, 8, 16)).astype(np.float32))
    w_avg_t = torch.from_numpy(w_avg)
    expected_t = ws_t.clone()
    expected_t[:, rows] = w_avg_t.lerp(expected_t[:, rows], psi)
    assert torch.equal(truncate_ws(ws_t, w_avg_t, psi, cutoff), expected_t)


def test_edit_ws_mixes_rows_then_adds_delta_on_both_sides():
    rng = np.random.default_rng(5)
    ws = rng.standard_normal((8, 16))
    source = rng.standard_normal((8, 16)).astype(np.float32)
    delta = rng.standard_normal((8, 16))
    mixing = [(0, 2, source), (5, 8, 2 * source)]
    expected = ws.copy()
    expected[0:2] = source[0:2]
    expected[5:8] = 2 * source[5:8]
    expected += delta
    assert np.array_equal(edit_ws(ws, mixing, delta), expected)
    assert np.array_equal(edit_ws(ws), ws)

    ws_t = torch.from_numpy(ws.astype(np.float32))
    expected_t = ws_t.clone()
    expected_t[0:2] = torch.from_numpy(source[0:2])
    expected_t[5:8] = torch.from_numpy(2 * source[5:8])
    expected_t = expected_t + torch.from_numpy(delta.astype(np.float32))
    assert torch.equal(edit_ws(ws_t, mixing, delta), expected_t)


def test_float_to_uint8_is_one_rule_for_numpy_and_torch():
    x = np.linspace(-1.2, 1.2, 1001, dtype=np.float32).reshape(1, 1, 7, 143)
    got_np = float_to_uint8(x)
    got_t = float_to_uint8(torch.from_numpy(x))
    expected = np.clip(x * 127.5 + 128.0, 0, 255).astype(np.uint8)
    assert got_np.dtype == np.uint8 and np.array_equal(got_np, expected)
    assert got_t.dtype == torch.uint8 and np.array_equal(got_t.numpy(), expected)
    assert np.array_equal(to_uint8(torch.from_numpy(x)), expected.transpose(0, 2, 3, 1))


def test_map_z_is_the_mapping_with_the_entrys_class_psi_and_cutoff():
    spec = MappingSpec(z_dim=8, c_dim=3, w_dim=8, num_ws=6, num_layers=2, embed_features=8,
                       layer_features=8)  # fmt: skip
    mapping = MappingNetwork(spec)
    generator = torch.Generator().manual_seed(0)
    for tensor in [*mapping.parameters(), mapping.w_avg]:
        tensor.normal_(generator=generator)
    G = SimpleNamespace(c_dim=3, mapping=mapping)
    z = torch.cat([seed_z(seed, 8) for seed in (1, 2)])
    c = torch.tensor([[0.0, 1.0, 0.0]] * 2)
    with torch.inference_mode():
        expected = mapping(z, c, truncation_psi=0.5, truncation_cutoff=2)
        assert torch.equal(map_z(G, z, 1, 0.5, 2), expected)
        assert not torch.equal(map_z(G, z, 2, 0.5, 2), expected)
