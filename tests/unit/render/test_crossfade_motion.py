"""Crossfades between moving walks keep the motion steady (issue 14: motion that never lurches).

A real ShowRenderer on a tiny random StyleGAN3 renders the seconds around each section change at
30 frames/s; the step between frames is the mean absolute pixel change. Across the change the
step of one frame is never more than 1.5x (or less than 1/1.5x) the step of the frame before.
"""

from __future__ import annotations

import numpy as np
import pytest

from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from tiny_models import wide_tiny_sg3

FPS = 30  # the shows' rate (output.fps)
MAX_STEP_RATIO = 1.5


def render_steps(renderer: ShowRenderer, start_s: float, stop_s: float) -> np.ndarray:
    """Mean absolute pixel change (8-bit levels) between frames at FPS from start to stop."""
    times = np.arange(round(start_s * FPS), round(stop_s * FPS) + 1) / FPS
    slots = list(enumerate(float(t_s) for t_s in times))
    frames = []
    for first in range(0, len(slots), 16):  # the renderer's own batched path, as a show plays
        frames += renderer.render_batch(slots[first : first + 16])
    images = np.stack([f.pixels.astype(np.float64) for f in frames]) * 127.5
    return np.abs(np.diff(images, axis=0)).reshape(len(images) - 1, -1).mean(axis=1)


def worst_ratio(steps: np.ndarray) -> float:
    """The largest ratio between consecutive steps, either way."""
    ratios = steps[1:] / steps[:-1]
    return float(np.max(np.maximum(ratios, 1.0 / ratios)))


SECTIONS = """\
  - name: a
    model: tiny
    duration_s: 8
    transition: {kind: crossfade, duration_s: 3}
    walk: {path: cubic, closed: true, easing: linear, seconds_per_keyframe: 4, perceptual: true,
           keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}
  - name: b
    model: tiny
    duration_s: 8
    transition: {kind: image_crossfade, duration_s: 3}
    walk: {path: linear, easing: linear, seconds_per_keyframe: 10, perceptual: true,
           keyframes: [{seed: 4}, {seed: 5}]}
  - name: c
    model: other
    duration_s: 8
    transition: {kind: image_crossfade, duration_s: 3}
    walk: {path: cubic, closed: true, easing: linear, seconds_per_keyframe: 4, perceptual: true,
           keyframes: [{seed: 6}, {seed: 7}]}
"""


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> ShowRenderer:
    """Three sections: a w crossfade, an image crossfade to another model, and one at the wrap."""
    root = tmp_path_factory.mktemp("show")
    for name in ("tiny", "other"):
        (root / f"{name}.safetensors").write_bytes(b"")  # the loader only checks that it exists
    text = (
        "models:\n  tiny: {path: tiny.safetensors, psi: 0.8}\n"
        "  other: {path: other.safetensors, psi: 0.8}\nsections:\n" + SECTIONS
    )
    (root / "show.yaml").write_text(text, encoding="utf-8")
    generators = {"tiny": wide_tiny_sg3(0), "other": wide_tiny_sg3(1)}
    return ShowRenderer(load_show(root / "show.yaml"), generators, "cpu")


@pytest.mark.parametrize(
    ("change_s", "kind"),
    [(8.0, "w crossfade: closed loop -> open walk"),
     (16.0, "image crossfade: open walk -> another model"),
     (24.0, "image crossfade at the playlist wrap")],
)  # fmt: skip
def test_section_change_keeps_the_speed_steady(
    renderer: ShowRenderer, change_s: float, kind: str
) -> None:
    """The 3 s crossfade and the 0.4 s after it: no step is 1.5x the one before, either way."""
    steps = render_steps(renderer, change_s - 3.2, change_s + 0.4)
    print(f"{kind}: worst step ratio {worst_ratio(steps):.2f}, steps {np.round(steps, 2)}")
    assert steps.min() > 0.05  # the picture keeps moving through the change
    assert worst_ratio(steps) <= MAX_STEP_RATIO
