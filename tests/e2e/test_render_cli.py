"""`latent-walk render`: a real process writes every frame and prints its plan, estimate and
progress; PNG frames, --preview's size and precision, the shared offline code's pieces.

A tiny StyleGAN3 (16 px) stands in for the demo model; the show asks for 64 px output, so a
full render upscales and a preview stays at the model's own size.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from installation.cli import main
from installation.models import load_generator
from installation.render.show_renderer import ShowRenderer
from installation.run import offline
from installation.settings import AppSettings
from installation.show.load import load_show
from tiny_models import TINY_SIZE_PX, tiny_show_tree

REPO = Path(__file__).resolve().parents[2]
SHOW_TEXT = """\
show:
  output: {size_px: [64, 64], fps: 10}
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
  - name: drift
    model: tiny
    duration_s: 2
    walk:
      space: z
      path: slerp
      seconds_per_keyframe: 1
      keyframes:
        - seed: 4
        - seed: 5
"""
TIMEOUT_S = 120


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """The in-process renders run torch on one thread (tiny model; a busy runner's waiting
    threads only slow it down), restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def show_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The show above beside a tiny SG3 in the demo model's place."""
    return tiny_show_tree(tmp_path_factory.mktemp("render"), SHOW_TEXT, "show.yaml")


def cli_env() -> dict[str, str]:
    """The environment of a CLI subprocess: one torch thread (the tiny model needs no more)."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def video_frames(path: Path) -> np.ndarray:
    """All frames of a video [N, H, W, 3], read with imageio's ffmpeg reader."""
    import imageio.v2 as iio2

    reader = iio2.get_reader(path)
    try:
        return np.stack([np.asarray(frame) for frame in reader])  # list() would ask len(): inf
    finally:
        reader.close()


def test_render_writes_every_frame_and_prints_plan_estimate_and_progress(
    show_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "show.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "installation", "render", str(show_path), "--out", str(out),
         "--fps", "20", "--batch", "2", "--stats-json", str(tmp_path / "stats.json")],
        cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    # the plan first: one pass of the 4 s show at 20 frames/s, at the show's 64 px
    plan = [line for line in lines if line.startswith("render: 80 frames")]
    assert plan == [f"render: 80 frames (0:04 at 20 frames/s), 64x64, exact precision -> {out}"]
    estimate = [line for line in lines if line.startswith("render: estimated ")]
    assert len(estimate) == 1 and "s/frame, measured on the first frames" in estimate[0]
    assert lines.index(plan[0]) < lines.index(estimate[0])
    progress = [line for line in lines if line.startswith("render ") and "% " in line]
    assert progress[-1].startswith("render  100% 80/80 frames")
    counts = [int(line.split("/")[0].split()[-1]) for line in progress]
    assert counts == sorted(counts) and len(progress) >= 5  # counted in frames, every 10 %
    assert lines[-1].startswith(f"render: wrote 80 frames to {out} in ")
    assert "Traceback" not in result.stderr
    assert video_frames(out).shape == (80, 64, 64, 3)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames_written"] == 80 and stats["precision"] == "exact"
    assert stats["estimated_s"] > 0


def test_render_png_frames_match_the_show_at_their_times(show_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    args = ["render", str(show_path), "--out", f"{out}/", "--start", "0.5", "--frames", "5"]
    assert main([*args, "--size", "16x16", "--precision", "exact"]) == 0
    files = sorted(out.glob("frame_*.png"))
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(5)]
    show = load_show(show_path)
    generators = {e.name: load_generator(e.path, "cpu", "exact") for e in show.models}
    renderer = ShowRenderer(show, generators, "cpu")
    for i, file in enumerate(files):
        expected = renderer.render(i, 0.5 + i / 10).rgb8().astype(int)
        assert np.abs(iio.imread(file).astype(int) - expected).max() <= 1, file.name
    assert np.abs(iio.imread(files[0]).astype(int) - iio.imread(files[4])).max() > 10  # it moves


def test_preview_renders_fast_at_the_models_own_size(show_path: Path, tmp_path: Path) -> None:
    full, preview = tmp_path / "full", tmp_path / "preview"
    assert main(["render", str(show_path), "--out", f"{full}/", "--frames", "2"]) == 0
    assert main(["render", str(show_path), "--out", f"{preview}/", "--frames", "2", "--preview",
                 "--stats-json", str(tmp_path / "stats.json")]) == 0  # fmt: skip
    assert iio.imread(full / "frame_000000.png").shape == (64, 64, 3)  # the show's output size
    assert iio.imread(preview / "frame_000000.png").shape == (TINY_SIZE_PX, TINY_SIZE_PX, 3)
    assert json.loads((tmp_path / "stats.json").read_text())["precision"] == "fast"
    # an explicit --size and --precision still win over the preview's choices
    sized = tmp_path / "sized"
    assert main(["render", str(show_path), "--out", f"{sized}/", "--frames", "1", "--preview",
                 "--size", "32x16", "--precision", "exact"]) == 0  # fmt: skip
    assert iio.imread(sized / "frame_000000.png").shape == (16, 32, 3)


def test_ctrl_c_stops_and_leaves_a_playable_video(show_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "stopped.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "installation", "render", str(show_path), "--out", str(out),
         "--frames", "100000", "--batch", "1"],
        cwd=REPO, env=cli_env(), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        for line in process.stderr:  # the plan comes once the model is loaded
            if line.startswith("render: 100000 frames"):
                break
        deadline_s = time.monotonic() + TIMEOUT_S
        while not out.exists() and time.monotonic() < deadline_s:  # ffmpeg starts at frame 1
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=TIMEOUT_S) == 130
    finally:
        if process.poll() is None:
            process.kill()
    stopped = [line for line in rest.splitlines() if line.startswith("render: stopped after ")]
    assert len(stopped) == 1 and str(out) in stopped[0], rest
    assert "Traceback" not in rest
    written = int(stopped[0].split()[3])
    assert written > 0
    assert video_frames(out).shape == (written, 64, 64, 3)


def test_preview_size_keeps_the_aspect_and_never_upscales() -> None:
    assert offline.preview_size((1920, 1080), (256, 256)) == (256, 144)
    assert offline.preview_size((1024, 1024), (256, 256)) == (256, 256)
    assert offline.preview_size((128, 128), (256, 256)) == (128, 128)  # already smaller
    assert offline.preview_size(None, (256, 256)) is None  # the model's own size


def test_estimate_comes_once_after_the_warmup_and_one_batch() -> None:
    now = [0.0]
    estimate = offline.Estimate(frames=100, batch=4, clock=lambda: now[0])
    now[0] = 10.0  # the warm-up frame: loading and compiling
    assert estimate.update(1) is None
    now[0] = 11.0
    assert estimate.update(5) is None  # one batch, under ESTIMATE_MIN_S
    now[0] = 14.0
    total_s = estimate.update(9)  # two batches: 8 frames in 4 s
    assert estimate.per_frame_s == pytest.approx(0.5)
    assert total_s == pytest.approx(14.0 + 91 * 0.5)
    now[0] = 15.0
    assert estimate.update(13) is None  # said once


def test_estimate_of_a_video_waits_for_the_encoder_to_fill_up() -> None:
    now = [0.0]
    estimate = offline.Estimate(frames=1000, batch=8, is_video=True, clock=lambda: now[0])
    assert estimate.update(1) is None
    for done in range(9, 64, 8):  # x264 buffers these: their time says little
        now[0] += 0.5
        assert estimate.update(done) is None
    now[0] += 0.5
    assert estimate.update(65) is not None  # 64 frames measured
    late = offline.Estimate(frames=1000, batch=8, is_video=True, clock=lambda: now[0])
    late.update(1)
    now[0] += 11.0
    assert late.update(9) is not None  # or ESTIMATE_WINDOW_S (a slow model), whichever first


def test_estimate_message_offers_the_preview_only_for_long_renders(tmp_path: Path) -> None:
    settings = AppSettings(show_path=Path("shows/demo.yaml"), out_path="demo.mp4")
    plan = offline.RenderPlan(frames=7200, fps=30, size_px=(1024, 1024), precision="exact")
    long = offline.estimate_message(7000.0, 0.97, plan, settings, (256, 256))
    assert long.splitlines()[0].startswith("render: estimated 1:56:40 in all (0.97 s/frame")
    assert "--preview (fast precision, 256x256)" in long.splitlines()[1]
    assert "latent-walk render shows/demo.yaml --out demo.mp4 --preview" in long
    assert "--preview" not in offline.estimate_message(30.0, 0.1, plan, settings, (256, 256))


def test_an_unwritable_kind_of_output_is_one_line_before_any_work(
    show_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", str(show_path), "--out", str(tmp_path / "show.avi")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'show.avi'}: cannot write '.avi' output; use ")
    assert "\n" not in err  # no plan line: nothing was loaded
