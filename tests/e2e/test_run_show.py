"""run_show.py end to end, in subprocesses: headless, SDL offscreen window, no display, bad show;
and the app's render/present loop in-process with a real offscreen context.

A tiny StyleGAN3 (16 px, w_dim 8) stands in for the demo model, with a small show in the full
format next to it: a cubic seed loop in w, then a slerp in z with an LFO on rotate_deg and an
image crossfade back to the loop.
"""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from stub_timeline import StubTimeline

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.display.presenter import NEXT_SECTION, QUIT, TOGGLE_OVERLAY
from installation.models import load_generator
from installation.render import loop as loop_module
from installation.render.frame import Frame
from installation.render.show_renderer import ShowRenderer
from installation.run import opening_hours
from installation.settings import DEFAULT_SHOW_PATH, AppSettings, settings_from_argv
from installation.show.load import load_show
from tiny_models import tiny_show_tree

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
    return tiny_show_tree(tmp_path_factory.mktemp("demo"), SHOW_TEXT, "demo.yaml")


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
    assert settings.show_path == DEFAULT_SHOW_PATH and settings.fps is None
    assert settings.resolved_precision == "fast" and settings.device == "auto"
    assert not settings.is_headless and settings.is_blending and settings.fit == "letterbox"
    settings = settings_from_argv(
        ["x.yaml", "--display", "1", "--windowed", "--size", "640x360", "--fps", "24",
         "--frames", "9", "--duration", "2.5", "--precision", "exact", "--headless",
         "--start", "3.5", "--kiosk", "--fit", "fill", "--no-blend", "--batch", "4",
         "--latency-ms", "150", "--stats-json", "s.json", "--osc-port", "9000"]
    )  # fmt: skip
    assert (settings.show_path, settings.display_index, settings.window_size_px) == (
        Path("x.yaml"), 1, (640, 360),
    )  # fmt: skip
    assert (settings.fps, settings.max_frames, settings.max_duration_s) == (24.0, 9, 2.5)
    assert settings.is_windowed and settings.is_headless and settings.precision == "exact"
    assert (settings.start_s, settings.is_kiosk, settings.fit, settings.is_blending) == (
        3.5, True, "fill", False,
    )  # fmt: skip
    assert (settings.max_batch, settings.latency_budget_s, settings.osc_port) == (4, 0.15, 9000)
    assert settings.stats_json == Path("s.json")
    assert settings_from_argv(["--out", "v.mp4"]).resolved_precision == "exact"
    assert settings_from_argv(["--out", "frames/"]).out_path == "frames/"  # "/" kept: a folder


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fps", "-1"], "--fps: expected a number > 0 and <= 1000 frames/s, got '-1'"),
        (["--size", "12"], "--size: expected WIDTHxHEIGHT"),
        (["--fit", "zoom"], "--fit: invalid choice: 'zoom'"),
        (["--start", "x"], "--start: expected a number in 0..1000000000 s, got 'x'"),
        (["--osc-port", "70000"], "--osc-port: expected a port number 1..65535"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(args, expected):
    result = run_show(*args)
    assert result.returncode == 2
    assert expected in result.stderr


def test_missing_show_file_exits_1_naming_it(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = run_show(str(missing), "--headless", "--frames", "1")
    assert result.returncode == 1
    assert result.stderr.startswith("run_show: ") and str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def test_out_mp4_writes_the_show_frame_exactly(demo_copy, tmp_path):
    out = tmp_path / "show.mp4"
    stats_path = tmp_path / "stats.json"
    result = run_show(str(demo_copy), "--out", str(out), "--fps", "10", "--duration", "2.4",
                      "--stats-json", str(stats_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    video = np.stack(list(iio_v2_frames(out)))
    assert video.shape == (24, 16, 16, 3)  # 2.4 s at 10 fps, the model's 16 px
    steps = np.abs(np.diff(video.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert (steps > 0).sum() >= 20  # the walk moves the image along the video
    stats = json.loads(stats_path.read_text())
    assert stats["frames_written"] == 24 and stats["precision"] == "exact"


def test_out_size_fits_frames_into_the_video(demo_copy, tmp_path):
    out = tmp_path / "sized"
    result = run_show(str(demo_copy), "--out", f"{out}/", "--frames", "2", "--size", "64x32")
    assert result.returncode == 0, result.stderr
    frame = iio.imread(out / "frame_000000.png")
    assert frame.shape == (32, 64, 3)
    assert (frame[:, :16] == 0).all() and frame[:, 16:48].max() > 0  # letterboxed 16 px model


def test_out_png_folder_matches_the_renderer(demo_copy, tmp_path):
    out = tmp_path / "frames"
    result = run_show(str(demo_copy), "--out", f"{out}/", "--fps", "5", "--frames", "4",
                      "--start", "1.5")  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = sorted(out.glob("frame_*.png"))
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(4)]
    renderer = tiny_show_renderer(demo_copy, precision="exact")
    for i, file in enumerate(files):
        expected = renderer.render(i, 1.5 + i / 5).rgb8()
        got = iio.imread(file)
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def iio_v2_frames(path: Path):
    """Frames of a video, read with imageio's ffmpeg reader."""
    import imageio.v2 as iio2

    reader = iio2.get_reader(path)
    try:
        yield from reader
    finally:
        reader.close()


def tiny_show_renderer(show_path: Path, precision: str) -> ShowRenderer:
    """A ShowRenderer of the tiny demo copy, built the way the app builds it."""
    show = load_show(show_path)
    generators = {e.name: load_generator(e.path, "cpu", precision) for e in show.models}
    return ShowRenderer(show, generators, "cpu")


class RecordingPresenter(OffscreenPresenter):
    """A real offscreen presenter that keeps (frame, read-back) of every present()."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[Frame, np.ndarray]] = []

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        self.shown.append((frame, self.read_back()))


def test_presented_pixels_equal_the_generator_output(demo_copy, tmp_path):
    settings = AppSettings(show_path=demo_copy, is_headless=True, max_frames=12, fps=20.0,
                           is_blending=False, start_s=2.5, is_watching=False,
                           stats_json=tmp_path / "stats.json")  # fmt: skip
    renderer = tiny_show_renderer(demo_copy, precision="exact")  # float32: batch = single
    presenter = RecordingPresenter()
    try:
        exit_code = app.play(settings, renderer, presenter)
    finally:
        presenter.close()
    assert exit_code == 0
    assert len(presenter.shown) >= 10
    assert presenter.shown[0][0].show_time_s == 2.5  # --start
    assert presenter.shown[0][0].is_planar  # CPU frames: planes converted by the shader
    reference = tiny_show_renderer(demo_copy, precision="exact")
    for frame, pixels in presenter.shown:  # each frame rendered again, alone, by the generator
        expected = reference.render(frame.index, frame.show_time_s).rgb8()
        assert np.abs(pixels.astype(int) - expected.astype(int)).max() <= 1
    times = [frame.show_time_s for frame, _ in presenter.shown]
    assert all(b > a for a, b in zip(times, times[1:], strict=False))  # the walk moves forward
    stats = json.loads((tmp_path / "stats.json").read_text())
    for key in ("frames_generated", "frames_shown", "frames_dropped", "frames_late",
                "gen_ms_median", "gen_ms_p95", "display_fps", "peak_rss_mb"):  # fmt: skip
        assert key in stats
    assert stats["frames_shown"] == len(presenter.shown)  # every shown frame was drawn once
    assert stats["frames_generated"] == 12


class FlakyRenderer:
    """Renders solid frames whose value is the index; raises for batches with `failing` ones."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.timeline = StubTimeline()

    def render_batch(self, slots, params=None, epoch=0) -> list[Frame]:
        if any(index in self.failing for index, _ in slots):
            raise RuntimeError(f"boom at {slots[0][0]}")
        return [
            Frame(np.full((8, 8, 3), 10 * index, np.uint8), index, t_s, gen_ms=1.0, epoch=epoch)
            for index, t_s in slots
        ]


def test_failed_frame_is_logged_and_last_good_frame_stays_up(caplog, monkeypatch):
    monkeypatch.setattr(loop_module, "RETRY_DELAY_S", 0.0)
    settings = AppSettings(is_headless=True, max_frames=4, fps=200.0, max_batch=1)
    presenter = OffscreenPresenter()
    try:
        with caplog.at_level(logging.INFO):
            exit_code = app.play(settings, FlakyRenderer(failing={2, 3}), presenter)
        last_shown = presenter.read_back()
    finally:
        presenter.close()
    assert exit_code == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors[0].getMessage().startswith("render failed frames=2-2")
    assert errors[0].exc_info is not None  # with traceback
    assert len(errors) == 1 or "suppressed 1 similar" in errors[1].getMessage()
    assert "generated=2 shown=2 dropped=0 failed=2" in caplog.text
    assert (last_shown == 10).all()  # frame 1 is still on screen


class ScriptedPresenter(RecordingPresenter):
    """Sends UI events once a number of frames were shown: {shown count: [events]}."""

    def __init__(self, script: dict[int, list[str]]) -> None:
        super().__init__()
        self.script = dict(script)

    def poll(self) -> list[str]:
        return self.script.pop(len(self.shown), [])


def test_keys_jump_sections_toggle_the_overlay_and_quit(demo_copy):
    script = {4: [NEXT_SECTION], 9: [TOGGLE_OVERLAY], 12: [QUIT]}
    settings = AppSettings(show_path=demo_copy, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False)  # fmt: skip
    presenter = ScriptedPresenter(script)
    try:
        exit_code = app.play(settings, tiny_show_renderer(demo_copy, "exact"), presenter)
    finally:
        presenter.close()
    assert exit_code == 0 and not presenter.script  # every scripted event was polled
    shown = [frame for frame, _ in presenter.shown]
    assert {f.section_name for f in shown[:4]} == {"loop"} and shown[3].show_time_s < 1.0
    after = [f for f in shown if f.epoch == 1]
    assert after and all(f.section_name == "orbit" for f in after)
    assert after[0].show_time_s == pytest.approx(3.0)  # the orbit starts at 3 s
    first_after = next(i for i, f in enumerate(shown) if f is after[0])
    assert all(f.epoch == 1 for f in shown[first_after:])  # no old frame after the jump
    overlay_frame, with_overlay = presenter.shown[-1]
    plain = overlay_frame.rgb8()
    assert not np.array_equal(with_overlay, plain)  # the overlay covers part of the frame
    assert len(presenter.shown) <= 13  # QUIT ended the show


class StatusReadingPresenter(RecordingPresenter):
    """Reads the --status-file while the show runs (after 60 frames, when it was rewritten)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.seen: dict | None = None

    def poll(self) -> list[str]:
        if len(self.shown) == 60 and self.seen is None and self.path.exists():
            self.seen = json.loads(self.path.read_text())
        return []


def test_status_file_is_kept_while_running_and_final_on_exit(demo_copy, tmp_path):
    path = tmp_path / "status" / "show.json"
    settings = AppSettings(show_path=demo_copy, is_headless=True, fps=20.0, max_frames=70,
                           is_watching=False, status_file=path)  # fmt: skip
    presenter = StatusReadingPresenter(path)
    try:
        assert app.play(settings, tiny_show_renderer(demo_copy, "exact"), presenter) == 0
    finally:
        presenter.close()
    seen = presenter.seen
    assert seen is not None and seen["running"] is True and seen["pid"] == os.getpid()
    assert 0 < seen["frames_shown"] <= 60 and seen["section"] in ("loop", "orbit")
    assert seen["last_frame_age_s"] < 5
    final = json.loads(path.read_text())
    assert final["running"] is False and final["exit"] == "end"
    assert final["frames_shown"] >= seen["frames_shown"] and final["rss_mb"] > 0
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, nothing left behind


class QuitAfterPolls(OffscreenPresenter):
    """A real offscreen presenter that quits after `polls` display ticks."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.polls = polls

    def poll(self) -> list[str]:
        self.polls -= 1
        return ["quit"] if self.polls <= 0 else []


def play_within_hours(demo_copy, monkeypatch, hours_yaml: str, hour: int):
    """Play the demo with `show: opening_hours: <hours_yaml>` at `hour` o'clock; (board, pixels)."""
    import datetime

    show = demo_copy.parent / "hours.yaml"
    show.write_text(f"show:\n  opening_hours: {hours_yaml}\n" + demo_copy.read_text(),
                    encoding="utf-8")  # fmt: skip
    monkeypatch.setattr(opening_hours, "local_now",
                        lambda: datetime.datetime(2026, 11, 24, hour, 0))  # fmt: skip
    settings = AppSettings(show_path=show, is_headless=True, fps=20.0, is_watching=False)
    board = app.StatusBoard()
    presenter = QuitAfterPolls(40)
    try:
        app.play(settings, tiny_show_renderer(show, "exact"), presenter, board=board)
        pixels = presenter.read_back()
    finally:
        presenter.close()
    assert board.loop is not None and board.loop.clock is not None
    return board, pixels


@pytest.mark.parametrize(("hour", "is_open"), [(20, False), (12, True)])
def test_outside_opening_hours_the_picture_is_black_and_rendering_pauses(
    demo_copy, monkeypatch, hour, is_open
):
    board, pixels = play_within_hours(demo_copy, monkeypatch, '{from: "10:00", to: "18:00"}', hour)
    assert board.loop.clock.is_paused is not is_open  # closed: the machine idles
    assert (pixels.max() == 0) is not is_open  # closed: black


def test_outside_opening_hours_a_named_section_plays(demo_copy, monkeypatch):
    board, pixels = play_within_hours(
        demo_copy, monkeypatch, '{from: "10:00", to: "18:00", outside: orbit}', 20
    )
    loop = board.loop
    assert loop.player.hold_s is not None
    assert not loop.clock.is_paused  # the held section plays
    show_s = loop.clock.show_time_s(time.perf_counter())
    assert loop.section_index_at(show_s)[1] == "orbit"
    assert pixels.max() > 0  # not black
