"""run_show.py with several outputs: the window spans them (SDL offscreen), headless draws each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiny_models import tiny_show_tree

REPO = Path(__file__).resolve().parents[2]
SHOW_TEXT = """\
show:
  outputs:
    screens: [0, {display: 0, fit: stretch}]
    overlap: 0.25
    gamma: 2.4
models:
  tiny: {path: ../assets/demo/demo-sg3.safetensors}
sections:
  - name: a
    model: tiny
    duration_s: 10
    walk: {space: z, path: slerp, seconds_per_keyframe: 1, keyframes: [{seed: 1}, {seed: 2}]}
"""


@pytest.fixture(scope="module")
def show_path(tmp_path_factory) -> Path:
    return tiny_show_tree(tmp_path_factory.mktemp("outputs"), SHOW_TEXT, "outputs.yaml")


def run_show(*args: str, driver: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}  # fmt: skip
    env["MESA_SHADER_CACHE_DISABLE"] = "true"
    if driver:
        env["SDL_VIDEODRIVER"] = driver
    return subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), *args], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_show_outputs_preview_side_by_side_in_a_window(show_path):
    result = run_show(str(show_path), "--windowed", "--size", "256x96", "--frames", "3",
                      driver="offscreen")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "window outputs=0:128x96+0+0 0:128x96+128+0 overlap=0.25 gamma=2.4" in result.stderr
    assert "shown=3" in result.stderr


def test_command_line_outputs_headless(show_path):
    result = run_show(str(show_path), "--headless", "--size", "64x64", "--outputs", "1,2,3",
                      "--overlap", "8px", "--frames", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "offscreen outputs=3 overlap=8px gamma=2.4" in result.stderr  # gamma: the show's
    assert "shown=2" in result.stderr
