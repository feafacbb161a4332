"""On a CUDA device: the renderer's GPU path (uint8 on the device, pinned copy) and the player.

Skipped with a reason where torch sees no CUDA device (CI has none).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.models import load_generator, save_generator
from installation.render.show_renderer import ShowRenderer
from installation.settings import AppSettings
from installation.show.load import load_show
from tiny_models import tiny_sg3

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

SHOW_TEXT = """\
models:
  tiny: {path: tiny.safetensors, psi: 0.8}
sections:
  - name: loop
    model: tiny
    walk: {space: z, path: slerp, closed: true, seconds_per_keyframe: 1,
           keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}
    automation:
      rotate_deg: {lfo: {period_s: 2, amplitude: 10}}
"""


@pytest.fixture
def show_path(tmp_path: Path) -> Path:
    save_generator(tiny_sg3(), tmp_path / "tiny.safetensors")
    path = tmp_path / "show.yaml"
    path.write_text(SHOW_TEXT, encoding="utf-8")
    return path


def renderer_on(show_path: Path, device: str) -> ShowRenderer:
    show = load_show(show_path)
    generators = {e.name: load_generator(e.path, device, "exact") for e in show.models}
    return ShowRenderer(show, generators, device)


def test_cuda_frames_are_uint8_and_match_the_cpu_frames(show_path):
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    slots = [(i, 0.37 * i) for i in range(6)]
    on_gpu = renderer_on(show_path, "cuda").render_batch(slots)
    on_cpu = renderer_on(show_path, "cpu").render_batch(slots)
    for gpu_frame, cpu_frame in zip(on_gpu, on_cpu, strict=True):
        assert gpu_frame.pixels.dtype == np.uint8 and gpu_frame.pixels.shape == (16, 16, 3)
        diff = np.abs(gpu_frame.rgb8().astype(int) - cpu_frame.rgb8().astype(int))
        assert diff.max() <= 1


def test_headless_player_runs_on_cuda(show_path):
    settings = AppSettings(show_path=show_path, is_headless=True, max_frames=20, fps=60.0,
                           device="cuda", is_watching=False)  # fmt: skip
    presenter = OffscreenPresenter()
    try:
        exit_code = app.play(settings, renderer_on(show_path, "cuda"), presenter)
        shown = presenter.read_back()
    finally:
        presenter.close()
    assert exit_code == 0 and shown.std() > 0
