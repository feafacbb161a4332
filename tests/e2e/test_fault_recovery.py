"""Render-thread supervision in running headless shows, with injected faults (--inject-faults).

A tiny StyleGAN3 plays a small show through app.run (a real offscreen EGL presenter, the real
render thread, the status file and --stats-json); supervision's constants are shortened so each
run takes seconds. One run goes through run_show.py in a subprocess for the exit status.
"""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pythonosc.udp_client import SimpleUDPClient

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.errors import InstallationError
from installation.render import loop as loop_module
from installation.run import recovery
from installation.settings import AppSettings
from tiny_models import tiny_show_tree

REPO = Path(__file__).resolve().parents[2]
SHOW_TEXT = """\
models:
  tiny:
    path: ../assets/demo/demo-sg3.safetensors
sections:
  - name: loop
    model: tiny
    loops: 100
    walk:
      space: w
      path: cubic
      closed: true
      seconds_per_keyframe: 1
      keyframes:
        - seed: 1
        - seed: 2
        - seed: 3
"""
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def show_path(tmp_path_factory) -> Path:
    """A one-section show (300 s per pass) on a tiny SG3 model in a tmp tree."""
    return tiny_show_tree(tmp_path_factory.mktemp("supervised"), SHOW_TEXT, "show.yaml")


@pytest.fixture
def quick(monkeypatch):
    """Supervision in seconds: short backoff, 2 failed passes, short retry delay."""
    monkeypatch.setattr(recovery, "BACKOFF_FIRST_S", 0.3)
    monkeypatch.setattr(recovery, "FAILED_PASSES_LIMIT", 2)
    monkeypatch.setattr(loop_module, "RETRY_DELAY_S", 0.05)


class TimedPresenter(OffscreenPresenter):
    """The real offscreen presenter, noting (wall time, frame show time) of each new frame."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown: list[tuple[float, float]] = []

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        if not self.shown or self.shown[-1][1] != frame.show_time_s:
            self.shown.append((time.perf_counter(), frame.show_time_s))


def run_show(monkeypatch, caplog, tmp_path, show_path, **options):
    """app.run with these settings; (exit code, stats, status file, presenter, log records)."""
    presenters: list[TimedPresenter] = []

    def open_presenter(settings):
        presenters.append(TimedPresenter((32, 32)))
        return presenters[-1]

    monkeypatch.setattr(app, "open_presenter", open_presenter)
    settings = AppSettings(show_path=show_path, is_headless=True, is_watching=False, fps=20.0,
                           stats_json=tmp_path / "stats.json",
                           status_file=tmp_path / "status.json", **options)  # fmt: skip
    with caplog.at_level(logging.INFO):
        exit_code = app.run(settings)
    stats = json.loads((tmp_path / "stats.json").read_text())
    status = json.loads((tmp_path / "status.json").read_text())
    return exit_code, stats, status, presenters[0], caplog.records


def free_udp_port() -> int:
    """A UDP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def record_time(records, text: str) -> float:
    """perf_counter-comparable time of the first log record containing `text`."""
    record = next(r for r in records if text in r.getMessage())
    return record.created - time.time() + time.perf_counter()


def assert_shown_after(presenter: TimedPresenter, wall_s: float, show_s: float) -> None:
    """New frames were shown after wall_s, and they carry on from show_s (no jump back)."""
    later = [t_s for at_s, t_s in presenter.shown if at_s > wall_s]
    assert len(later) >= 3, f"only {len(later)} new frames after the recovery"
    assert min(later) >= show_s - 1.0, (min(later), show_s)


def test_an_exception_burst_is_recovered_and_frames_keep_coming(
    monkeypatch, caplog, tmp_path, show_path, quick
):
    exit_code, stats, status, presenter, records = run_show(
        monkeypatch, caplog, tmp_path, show_path, max_duration_s=6.0, inject_faults="raise@1*3"
    )
    assert exit_code == 0
    assert stats["recoveries"] >= 1 and stats["frames_failed"] >= 2
    assert stats["last_recovery_reason"].endswith("failed passes in a row")
    assert status["recoveries"] == stats["recoveries"] and status["supervision"] == "ok"
    failed = next(r for r in records if "render thread 0 failed" in r.getMessage())
    assert failed.levelno == logging.ERROR
    assert "InjectedFault: injected fault in the generator" in failed.getMessage()  # traceback
    assert "Traceback" in failed.getMessage()
    took_over = next(r for r in records if "took over" in r.getMessage())
    show_s = float(took_over.getMessage().rsplit("show_time_s=", 1)[1])
    assert show_s > 0.5  # the walk resumed where it was, not at 0
    assert_shown_after(presenter, record_time(records, "took over"), show_s)


def test_a_hang_is_detected_within_its_deadline_and_a_new_thread_takes_over(
    monkeypatch, caplog, tmp_path, show_path, quick
):
    exit_code, stats, status, presenter, records = run_show(
        monkeypatch, caplog, tmp_path, show_path, max_duration_s=8.0, hang_timeout_s=2.0,
        inject_faults="hang@1:30",
    )  # fmt: skip
    assert exit_code == 0
    assert stats["recoveries"] == 1 and stats["last_recovery_reason"].startswith("hang")
    hung_s = record_time(records, "injected fault: hang")
    detected_s = record_time(records, "render thread 0 failed")
    assert 2.0 <= detected_s - hung_s < 5.0  # the deadline (2 s) plus the main thread's tick
    message = next(r.getMessage() for r in records if "render thread 0 failed" in r.getMessage())
    assert "before_pass" in message and "time.sleep" in message  # the stuck thread's stack
    before = [t_s for at_s, t_s in presenter.shown if at_s < hung_s]
    assert before, "no frame before the hang"
    took_over = next(r for r in records if "render thread 1 took over" in r.getMessage())
    show_s = float(took_over.getMessage().rsplit("show_time_s=", 1)[1])
    assert show_s >= max(before)  # show time went on through the hang: no jump back to 0
    assert_shown_after(presenter, record_time(records, "took over"), show_s)
    assert stats["longest_frame_gap_s"] >= 1.0  # the hang shows as the longest wait


def test_a_recovery_rebuilds_the_show_playing_now_not_the_startup_one(
    monkeypatch, caplog, tmp_path, show_path, quick
):
    other = show_path.parent / "other.yaml"
    other.write_text(SHOW_TEXT.replace("name: loop", "name: other"), encoding="utf-8")
    port = free_udp_port()

    def load_other() -> None:  # once the show plays, switch to other.yaml over OSC
        deadline_s = time.monotonic() + TIMEOUT_S
        while not (tmp_path / "status.json").exists() and time.monotonic() < deadline_s:
            time.sleep(0.05)
        SimpleUDPClient("127.0.0.1", port).send_message("/show/load", "other")

    sender = threading.Thread(target=load_other, daemon=True)
    sender.start()
    exit_code, stats, status, _, records = run_show(
        monkeypatch, caplog, tmp_path, show_path, max_duration_s=10.0, osc_port=port,
        osc_host="127.0.0.1", inject_faults="raise@5*3",
    )  # fmt: skip
    sender.join(1.0)
    assert exit_code == 0 and stats["recoveries"] >= 1
    assert any("other.yaml" in r.getMessage() for r in records if "load" in r.getMessage())
    assert status["section"] == "other"  # after the recovery: still the show loaded over OSC
    assert status["show"] == "other"


def test_repeated_faults_take_degrade_steps(monkeypatch, caplog, tmp_path, show_path, quick):
    monkeypatch.setattr(recovery, "DEGRADE_AFTER", 1)
    exit_code, stats, status, _, records = run_show(
        monkeypatch, caplog, tmp_path, show_path, max_duration_s=12.0, max_batch=4,
        inject_faults="raise@1:4",  # every render thread fails for 4 s
    )  # fmt: skip
    assert exit_code == 0
    assert stats["recoveries"] >= 2
    assert stats["degrade_steps"].startswith("batch 4 -> 1")
    assert stats["degrade_level"] == stats["recoveries"] - 1
    assert status["supervision"] == "degraded" and status["degrade_level"] >= 1
    steps = [r for r in records if r.getMessage().startswith("degrade level")]
    assert steps[0].levelno == logging.WARNING and "batch 4 -> 1" in steps[0].getMessage()
    if stats["degrade_level"] >= 2:  # the rebuilt generators run in the other precision
        assert "precision fast -> exact" in stats["degrade_steps"]
        assert stats["precision"] == "exact"


def test_too_many_recoveries_exit_with_their_own_status(show_path, tmp_path):
    stats_path = tmp_path / "stats.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SDL_VIDEODRIVER": "offscreen"}
    result = subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), str(show_path), "--headless", "--size",
         "32x32", "--no-watch", "--duration", "60", "--inject-faults", "raise@0.5:60",
         "--max-recoveries", "2", "--stats-json", str(stats_path)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == recovery.EXIT_TOO_MANY_RECOVERIES == 75, result.stderr[-2000:]
    assert "too many recoveries (2 within 600 s): exiting with status 75" in result.stderr
    stats = json.loads(stats_path.read_text())
    assert stats["recoveries"] == 2 and stats["exit"] == "too many recoveries"


def test_a_bad_fault_spec_is_a_one_line_usage_error():
    result = subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), "--headless", "--inject-faults", "boom@3"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env={**os.environ,
                                                                "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.returncode == 2
    assert "fault 'boom@3': expected KIND@T[:D|*N]" in result.stderr


def test_a_hang_while_loading_the_models_is_a_startup_error(monkeypatch, caplog):
    monkeypatch.setattr(recovery, "STARTUP_ALLOWANCE_S", 0.5)
    release = threading.Event()

    def stuck_build(settings):
        release.wait(30)
        raise RuntimeError("released")

    settings = AppSettings(is_headless=True, hang_timeout_s=0.2)
    presenter = OffscreenPresenter((16, 16))
    started_s = time.perf_counter()
    try:
        with pytest.raises(InstallationError, match="loading the show's models: hang: no "
                           "heartbeat .* during build"):  # fmt: skip
            app.play(settings, stuck_build, presenter)
    finally:
        release.set()
        presenter.close()
    assert time.perf_counter() - started_s < 10.0
    assert "stuck_build" in caplog.text  # the stuck thread's stack is logged
