"""Section latents resolved against a tiny random generator: shapes, psi, files, errors."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from installation.errors import ShowError
from installation.models.latents import seed_to_z
from installation.models.mapping import MappingNetwork
from installation.models.spec import MappingSpec
from installation.render.resolve import resolve_section, resolve_show
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.paths import random_walk_seeds
from installation.walk.timeline import Timeline

Z_DIM, W_DIM, NUM_WS = 8, 8, 16


@pytest.fixture(scope="module")
def G() -> Any:
    """The tiny model's mapping (z 8, w 8, 16 ws) with random weights; synthesis is not needed."""
    spec = MappingSpec(
        z_dim=Z_DIM,
        c_dim=0,
        w_dim=W_DIM,
        num_ws=NUM_WS,
        num_layers=2,
        embed_features=0,
        layer_features=8,
    )
    mapping = MappingNetwork(spec)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in mapping.parameters():
            param.copy_(torch.randn(param.shape, generator=generator))
        mapping.w_avg.copy_(torch.linspace(-1.0, 1.0, W_DIM))
    return SimpleNamespace(z_dim=Z_DIM, w_dim=W_DIM, num_ws=NUM_WS, c_dim=0, mapping=mapping)


def write_show(tmp_path: Path, walk: str, extra: str = "", model: str = "{path: m.pkl}") -> Show:
    """A one-section show with the given walk (flow YAML) and extra section keys."""
    (tmp_path / "m.pkl").write_bytes(b"")
    text = (
        f"models:\n  m: {model}\nsections:\n  - name: s\n    model: m\n    loops: 1\n"
        f"    walk: {walk}\n{extra}"
    )
    path = tmp_path / "show.yaml"
    path.write_text(text)
    return load_show(path)


def mapped(G: Any, seed: int, psi: float = 1.0) -> np.ndarray:
    """ws [num_ws, w_dim] of a seed through G's mapping."""
    with torch.inference_mode():
        z = torch.from_numpy(seed_to_z(seed, Z_DIM)[None])
        return G.mapping(z, None, truncation_psi=psi)[0].numpy()


def test_w_keyframes_of_every_kind(tmp_path: Path, G: Any) -> None:
    """seed (model psi / own psi), w [w_dim] and [num_ws, w_dim], projected, mean, random."""
    w_vector = np.arange(W_DIM, dtype=np.float32)
    ws_full = np.random.default_rng(0).standard_normal((NUM_WS, W_DIM)).astype(np.float32)
    np.save(tmp_path / "w.npy", w_vector)
    np.save(tmp_path / "ws.npy", ws_full)
    np.savez(tmp_path / "proj.npz", w=ws_full)
    show = write_show(
        tmp_path,
        "{path: linear, keyframes: [{seed: 3}, {seed: 3, psi: 0.5}, {w: w.npy}, {w: ws.npy},"
        " {projected: proj.npz}, {mean: true}, {random: 11}]}",
        model="{path: m.pkl, psi: 0.7}",
    )
    latents = resolve_section(show.sections[0], G, show.model("m"))
    keys = latents.keyframes
    assert keys.shape == (7, NUM_WS, W_DIM) and keys.dtype == np.float32
    np.testing.assert_allclose(keys[0], mapped(G, 3, 0.7), atol=1e-6)
    np.testing.assert_allclose(keys[1], mapped(G, 3, 0.5), atol=1e-6)
    np.testing.assert_array_equal(keys[2], np.broadcast_to(w_vector, (NUM_WS, W_DIM)))
    np.testing.assert_array_equal(keys[3], ws_full)
    np.testing.assert_array_equal(keys[4], ws_full)
    np.testing.assert_allclose(
        keys[5], np.broadcast_to(np.linspace(-1, 1, W_DIM), keys[5].shape), atol=1e-6
    )
    np.testing.assert_allclose(keys[6], mapped(G, random_walk_seeds(11, 1)[0], 0.7), atol=1e-6)
    assert latents.num_ws == NUM_WS and latents.w_avg.shape == (W_DIM,)
    assert not any(isinstance(v, torch.Tensor) for v in vars(latents).values())


def test_z_walk_gives_z_vectors(tmp_path: Path, G: Any) -> None:
    """In space z keyframes are z vectors; the timeline then interpolates z."""
    np.save(tmp_path / "z.npy", np.ones(Z_DIM, dtype=np.float32))
    show = write_show(tmp_path, "{space: z, path: linear, keyframes: [{seed: 1}, {z: z.npy}]}")
    latents = resolve_section(show.sections[0], G)
    assert latents.keyframes.shape == (2, Z_DIM)
    np.testing.assert_array_equal(latents.keyframes[0], seed_to_z(1, Z_DIM))
    frame = Timeline(show, resolve_show(show, {"m": G})).at(2.0)
    assert frame.space == "z"
    np.testing.assert_allclose(frame.latent, 0.5 * (seed_to_z(1, Z_DIM) + 1.0), atol=1e-6)


def test_w_keyframe_in_z_walk_is_an_error(tmp_path: Path, G: Any) -> None:
    """A w keyframe cannot be walked in z: validation already names the section and keyframe."""
    np.save(tmp_path / "w.npy", np.ones(W_DIM, dtype=np.float32))
    with pytest.raises(ShowError, match=r"sections\[0\]\.walk\.keyframes\[1\]: .*space: z"):
        write_show(tmp_path, "{space: z, path: linear, keyframes: [{seed: 1}, {w: w.npy}]}")


def test_wrong_shaped_file_names_file_and_shapes(tmp_path: Path, G: Any) -> None:
    """A .npy whose shape does not fit the model: ShowError with the file, expected and found."""
    np.save(tmp_path / "w.npy", np.ones(5, dtype=np.float32))
    show = write_show(tmp_path, "{path: linear, keyframes: [{seed: 1}, {w: w.npy}]}")
    with pytest.raises(ShowError) as info:
        resolve_section(show.sections[0], G)
    message = str(info.value)
    assert str(tmp_path / "w.npy") in message
    assert "(8,)" in message and "(16, 8)" in message and "found (5,)" in message


def test_random_walk_noise_loop_mixing_directions(tmp_path: Path, G: Any) -> None:
    """Random-walk keyframes are its seeds; noise loop centre w_avg; mixing and directions."""
    np.save(tmp_path / "dir.npy", np.ones(W_DIM, dtype=np.float32))
    show = write_show(
        tmp_path,
        "{path: random_walk, random_walk: {seed: 4, count: 3}}",
        "    mixing: [{layers: coarse, from: {seed: 9}}]\n"
        "    directions: [{file: dir.npy, layers: fine, intensity: 0.5}]\n",
    )
    latents = resolve_section(show.sections[0], G)
    seeds = random_walk_seeds(4, 3)
    assert latents.keyframes.shape == (3, NUM_WS, W_DIM)
    np.testing.assert_allclose(latents.keyframes[2], mapped(G, seeds[2]), atol=1e-6)
    np.testing.assert_allclose(latents.mixing_sources[0], mapped(G, 9), atol=1e-6)
    np.testing.assert_array_equal(latents.directions[0], np.ones((NUM_WS, W_DIM)))
    frame = Timeline(show, {"s": latents}).at(0.0)
    np.testing.assert_allclose(frame.latent[:4], mapped(G, 9)[:4], atol=1e-6)
    np.testing.assert_allclose(frame.latent[8:], mapped(G, seeds[0])[8:] + 0.5, atol=1e-5)
    np.testing.assert_allclose(frame.latent[4:8], mapped(G, seeds[0])[4:8], atol=1e-5)

    loop = write_show(tmp_path, "{path: noise_loop, noise: {seed: 1}}")
    centre = resolve_section(loop.sections[0], G).keyframes
    assert centre.shape == (1, NUM_WS, W_DIM)
    np.testing.assert_allclose(centre[0, 0], np.linspace(-1, 1, W_DIM), atol=1e-6)


def test_a_class_index_the_model_does_not_have_is_a_show_error(tmp_path: Path) -> None:
    """class_index past a conditional model's classes: ShowError naming model and range."""
    spec = MappingSpec(z_dim=Z_DIM, c_dim=3, w_dim=W_DIM, num_ws=NUM_WS, num_layers=2,
                       embed_features=8, layer_features=8)  # fmt: skip
    conditional = SimpleNamespace(z_dim=Z_DIM, w_dim=W_DIM, num_ws=NUM_WS, c_dim=3,
                                  mapping=MappingNetwork(spec))  # fmt: skip
    show = write_show(tmp_path, "{path: linear, keyframes: [{seed: 1}, {seed: 2}]}",
                      model="{path: m.pkl, class_index: 3}")  # fmt: skip
    with pytest.raises(ShowError, match=r"model 'm': class_index 3 is outside 0\.\.2"):
        resolve_section(show.sections[0], conditional, show.models[0])
