"""ShowRenderer on a tiny StyleGAN3: determinism, image crossfade blend, camera rotation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from installation.models import Generator
from installation.models.latents import to_uint8
from installation.models.random_init import initialize_random
from installation.models.spec import MappingSpec, NetworkSpec
from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from tiny_models import tiny_sg3

SHOW_TEXT = """\
models:
  tiny: {path: tiny.safetensors, psi: 0.8}
sections:
  - name: loop
    model: tiny
    loops: 1
    transition: {kind: crossfade, duration_s: 0.5}
    walk: {space: w, path: cubic, closed: true, seconds_per_keyframe: 1,
           keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}
  - name: orbit
    model: tiny
    duration_s: 4
    transition: {kind: image_crossfade, duration_s: 2}
    walk: {space: z, path: slerp, closed: true, seconds_per_keyframe: 1,
           keyframes: [{seed: 4}, {seed: 5}]}
    automation:
      rotate_deg: {lfo: {period_s: 8, amplitude: 30}}
"""
LOOP_S = 3.0  # the first section: 3 keyframes x 1 s


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> ShowRenderer:
    """A two-section show on a tiny random SG3 (16 px, w_dim 8)."""
    root = tmp_path_factory.mktemp("show")
    (root / "tiny.safetensors").write_bytes(b"")  # the loader only checks that it exists
    (root / "show.yaml").write_text(SHOW_TEXT, encoding="utf-8")
    show = load_show(root / "show.yaml")
    return ShowRenderer(show, {"tiny": tiny_sg3()}, "cpu")


def test_same_time_gives_the_same_frame(renderer: ShowRenderer) -> None:
    for t_s in (0.3, LOOP_S + 1.7, LOOP_S + 3.5):
        a = renderer.render(0, t_s).pixels
        b = renderer.render(1, t_s).pixels
        # CPU frames are float16 planes [C, H, W]; the shader converts them (Frame docstring)
        assert a.shape == (3, 16, 16) and a.dtype == np.float16 and a.flags.c_contiguous
        np.testing.assert_array_equal(a, b)


def test_a_batch_renders_what_single_frames_render(renderer: ShowRenderer) -> None:
    # a loop frame, a camera-orbit frame, a crossfade frame and one of the next pass, together
    times = [0.3, LOOP_S + 0.5, LOOP_S + 3.0, 2 * LOOP_S + 3.7 + 0.1]
    batch = renderer.render_batch(list(enumerate(times)), epoch=3)
    assert [f.index for f in batch] == [0, 1, 2, 3] and {f.epoch for f in batch} == {3}
    assert [f.section_name for f in batch[:3]] == ["loop", "orbit", "orbit"]
    for frame, t_s in zip(batch, times, strict=True):
        single = renderer.render(9, t_s)
        assert frame.show_time_s == t_s and frame.model_name == "tiny"
        np.testing.assert_allclose(frame.pixels.astype(np.float32),
                                   single.pixels.astype(np.float32), atol=2e-3)  # fmt: skip


def test_image_crossfade_blends_its_two_parts(renderer: ShowRenderer) -> None:
    t_s = LOOP_S + 3.0  # halfway through the orbit's 2 s image crossfade back to the loop
    params = renderer.timeline.at(t_s)
    assert params.crossfade is not None
    partner, weight = params.crossfade
    assert weight == pytest.approx(0.5)
    with torch.inference_mode():
        a = renderer.image(params)
        b = renderer.image(partner)
        expected = to_uint8(((1 - weight) * a + weight * b)[None])[0]
    got = renderer.render(0, t_s).rgb8()
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # float16 planes: 1 level
    assert not np.array_equal(expected, to_uint8(a[None])[0])


def test_camera_rotation_changes_the_image(renderer: ShowRenderer) -> None:
    params = renderer.timeline.at(LOOP_S + 0.5)  # orbit section, rotate_deg = 30 sin(...) != 0
    assert params.rotate_deg != 0.0 and params.crossfade is None
    still = type(params)(**{**params.__dict__, "rotate_deg": 0.0})
    with torch.inference_mode():
        turned = to_uint8(renderer.image(params)[None])[0]
        straight = to_uint8(renderer.image(still)[None])[0]
    assert np.abs(turned.astype(int) - straight.astype(int)).mean() > 1.0


def test_noise_strength_automation_reaches_a_stylegan2(tmp_path) -> None:
    """A noise_strength curve scales a StyleGAN2's noise: 0 renders like noise_mode none."""
    from installation.models.spec import SG2Spec

    text = """\
models:
  sg2: {path: sg2.safetensors}
sections:
  - name: calm
    model: sg2
    duration_s: 4
    walk: {space: w, path: linear, seconds_per_keyframe: 4, keyframes: [{seed: 1}, {seed: 2}]}
    automation:
      noise_strength: {keys: [[0, 0], [2, 0], [3, 3]]}
"""
    (tmp_path / "sg2.safetensors").write_bytes(b"")
    (tmp_path / "show.yaml").write_text(text, encoding="utf-8")
    show = load_show(tmp_path / "show.yaml")
    mapping = MappingSpec(z_dim=8, c_dim=0, w_dim=8, num_ws=6, num_layers=2, embed_features=0,
                          layer_features=8)  # fmt: skip
    synthesis = SG2Spec(img_resolution=16, img_channels=3, w_dim=8, num_ws=6,
                        architecture="skip", channels=(16, 16, 8))  # fmt: skip
    G = initialize_random(Generator(NetworkSpec("stylegan2", mapping, synthesis)), seed=1)
    renderer = ShowRenderer(show, {"sg2": G}, "cpu")
    params = renderer.timeline.at(1.0)
    assert params.noise_strength == 0
    ws = renderer.ws(params)[None]
    with torch.inference_mode():
        quiet = to_uint8(G.synthesis(ws, noise_mode="none"))[0]
    assert np.abs(renderer.render(0, 1.0).rgb8().astype(int) - quiet.astype(int)).max() <= 1
    loud = renderer.timeline.at(3.0)
    assert loud.noise_strength == 3
    with torch.inference_mode():
        quiet_at_3 = to_uint8(G.synthesis(renderer.ws(loud)[None], noise_mode="none"))[0]
    diff = np.abs(renderer.render(1, 3.0).rgb8().astype(int) - quiet_at_3.astype(int))
    assert diff.max() > 10
