"""run_show.py end to end, in subprocesses: headless, SDL offscreen window, no display, bad show;
and the app's render/present loop in-process with a real offscreen context.

A tiny StyleGAN3 (16 px, w_dim 8) stands in for the demo model, with a small show in the full
format next to it: a cubic seed loop in w, then a slerp in z with an LFO on rotate_deg and an
image crossfade back to the loop.
"""

import logging
import os
import queue
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.models import save_generator
from installation.render.frame import Frame
from installation.settings import DEFAULT_SHOW_PATH, AppSettings, settings_from_argv
from tiny_models import tiny_sg3

REPO = Path(__file__).resolve().parents[2]
SHOW_TEXT = """\
models:
  tiny:
    path: ../assets/demo/demo-sg3.safetensors
    psi: 0.8
sections:
  - name: loop
    model: tiny
    loops: 1
    transition: {kind: crossfade, duration_s: 0.5}
    walk:
      space: w
      path: cubic
      closed: true
      seconds_per_keyframe: 1
      keyframes:
        - seed: 1
        - seed: 2
        - seed: 3
  - name: orbit
    model: tiny
    duration_s: 3
    transition: {kind: image_crossfade, duration_s: 1}
    walk:
      space: z
      path: slerp
      closed: true
      easing: sine_in_out
      seconds_per_keyframe: 1
      keyframes:
        - seed: 4
        - seed: 5
    automation:
      rotate_deg: {lfo: {period_s: 2, amplitude: 10}}
"""
RUN_SHOW = REPO / "run_show.py"
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory) -> Path:
    """A small show (SHOW_TEXT) in a tmp tree whose ../assets/demo holds a tiny SG3 model."""
    root = tmp_path_factory.mktemp("demo")
    save_generator(tiny_sg3(), root / "assets" / "demo" / "demo-sg3.safetensors")
    show = root / "shows" / "demo.yaml"
    show.parent.mkdir()
    show.write_text(SHOW_TEXT, encoding="utf-8")
    return show


def run_show(*args: str, env_update: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run run_show.py with no display variables unless `env_update` sets some."""
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARIABLES}
    env["MESA_SHADER_CACHE_DISABLE"] = "true"
    env.update(env_update or {})
    return subprocess.run(
        [sys.executable, str(RUN_SHOW), *args], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=TIMEOUT_S,
    )  # fmt: skip


def test_headless_plays_demo_show_and_logs_summary(demo_copy):
    result = run_show(str(demo_copy), "--headless", "--frames", "5")
    assert result.returncode == 0, result.stderr
    assert "show started" in result.stderr
    assert "summary frames generated=5 shown=5 dropped=0 failed=0" in result.stderr
    assert "render failed" not in result.stderr


def test_window_code_path_runs_on_sdl_offscreen(demo_copy):
    result = run_show(
        str(demo_copy), "--windowed", "--size", "320x240", "--frames", "3",
        env_update={"SDL_VIDEODRIVER": "offscreen"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "window open driver=offscreen display=0 size=320x240 fullscreen=False" in result.stderr
    assert "shown=3" in result.stderr


def test_without_display_exits_2_with_one_line_hint(demo_copy):
    result = run_show(str(demo_copy))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("run_show: no display")
    assert "--headless" in lines[0] and "SDL_VIDEODRIVER=offscreen" in lines[0]


def test_broken_show_exits_nonzero_naming_file_and_line(demo_copy):
    bad = demo_copy.parent / "bad.yaml"  # beside the copy, so its model path still resolves
    bad.write_text(
        demo_copy.read_text().replace("duration_s: 3", "duration_s: -3"), encoding="utf-8"
    )
    line = 1 + bad.read_text().splitlines().index("    duration_s: -3")
    result = run_show(str(bad), "--headless", "--frames", "1")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"run_show: {bad}:{line}: sections[1].duration_s: must be a number > 0, got -3"
    ]


def test_settings_from_argv_defaults_and_options():
    settings = settings_from_argv([])
    assert settings.show_path == DEFAULT_SHOW_PATH and settings.fps == 30.0
    assert settings.precision == "fast" and settings.device == "cpu" and not settings.is_headless
    settings = settings_from_argv(
        ["x.yaml", "--display", "1", "--windowed", "--size", "640x360", "--fps", "24",
         "--frames", "9", "--duration", "2.5", "--precision", "exact", "--headless"]
    )  # fmt: skip
    assert (settings.show_path, settings.display_index, settings.window_size_px) == (
        Path("x.yaml"), 1, (640, 360),
    )  # fmt: skip
    assert (settings.fps, settings.max_frames, settings.max_duration_s) == (24.0, 9, 2.5)
    assert settings.is_windowed and settings.is_headless and settings.precision == "exact"


class FlakyRenderer:
    """Renders solid frames whose value is the index; raises on the indices in `failing`."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing

    def render(self, index: int, show_time_s: float) -> Frame:
        if index in self.failing:
            raise RuntimeError(f"boom at {index}")
        pixels = np.full((8, 8, 3), 10 * index, dtype=np.uint8)
        return Frame(pixels=pixels, index=index, show_time_s=show_time_s, gen_ms=1.0)


def test_failed_frame_is_logged_and_last_good_frame_stays_up(caplog, monkeypatch):
    monkeypatch.setattr(app, "RENDER_RETRY_DELAY_S", 0.0)
    settings = AppSettings(is_headless=True, max_frames=4, fps=200.0)
    presenter = OffscreenPresenter()
    try:
        with caplog.at_level(logging.INFO):
            exit_code = app.play(settings, FlakyRenderer(failing={2, 3}), presenter)
        last_shown = presenter.read_back()
    finally:
        presenter.close()
    assert exit_code == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors[0].getMessage().startswith("render failed frame=2")
    assert errors[0].exc_info is not None  # with traceback
    assert len(errors) == 1 or "suppressed 1 similar" in errors[1].getMessage()
    assert "generated=2 shown=2 dropped=0 failed=2" in caplog.text
    assert (last_shown == 10).all()  # frame 1 is still on screen


def test_put_newest_drops_the_oldest_when_full():
    frames: queue.Queue[Frame] = queue.Queue(maxsize=2)
    made = [FlakyRenderer(set()).render(i, 0.0) for i in range(3)]
    assert not app.put_newest(frames, made[0]) and not app.put_newest(frames, made[1])
    assert app.put_newest(frames, made[2])
    assert [frames.get_nowait().index for _ in range(2)] == [1, 2]
