"""scripts/make_demo_clip.py: an animated WebP/GIF of a show at the model's own size, whose
frames are the show's frames at their times."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from tiny_models import TINY_SIZE_PX, tiny_show_tree

REPO = Path(__file__).resolve().parents[2]
SHOW_TEXT = """\
show:
  output: {size_px: [64, 64], fps: 30}
models:
  tiny: {path: ../assets/demo/demo-sg3.safetensors}
sections:
  - name: a
    model: tiny
    duration_s: 2
    transition: {kind: crossfade, duration_s: 1}
    walk: {space: w, path: cubic, closed: true, seconds_per_keyframe: 1,
           keyframes: [{seed: 1}, {seed: 2}]}
  - name: b
    model: tiny
    duration_s: 2
    walk: {space: z, path: slerp, seconds_per_keyframe: 1, keyframes: [{seed: 4}, {seed: 5}]}
"""


def test_clip_is_animated_at_the_models_size(tmp_path: Path) -> None:
    show = tiny_show_tree(tmp_path, SHOW_TEXT)
    out = tmp_path / "clip.webp"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_demo_clip.py"), "--show", str(show),
         "--out", str(out), "--seconds", "2", "--fps", "5"],
        cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # centred on the end of section a (2 s): from 1 s, across the change into b
    assert result.stdout.startswith(f"wrote {out}: 10 frames 16x16 at 5 frames/s from 1 s, ")
    with Image.open(out) as clip:
        assert clip.size == (TINY_SIZE_PX, TINY_SIZE_PX) and clip.n_frames == 10
        frames = [np.asarray(f.convert("RGB"), dtype=int) for f in ImageSequence.Iterator(clip)]
    steps = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:], strict=False)]
    assert sum(step > 0.5 for step in steps) >= 7  # it moves


def test_gif_and_the_webp_size_limit(tmp_path: Path) -> None:
    save_clip = runpy.run_path(str(REPO / "scripts" / "make_demo_clip.py"))["save_clip"]
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(6)]  # noise
    size = save_clip(frames, tmp_path / "c.gif", 10.0, 1)
    with Image.open(tmp_path / "c.gif") as gif:
        assert gif.n_frames == 6 and gif.info["duration"] == 100
    best = save_clip(frames, tmp_path / "best.webp", 10.0, 10_000)  # fits at the first quality
    small = save_clip(frames, tmp_path / "small.webp", 10.0, best / 1024 * 0.8)
    assert small < best and size > 0  # the quality went down to fit
