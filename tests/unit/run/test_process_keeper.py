"""The supervisor's pure parts: argv rewriting, back-off and giving up, the nightly restart time
(fake clocks across midnight and both DST changes), status samples, the watchdog, the flags."""

import datetime
import json
import os
import threading
import time
import zoneinfo
from pathlib import Path

import pytest

from installation.run import process_keeper
from installation.run.process_keeper import (
    FailureCounter,
    RestartPolicy,
    StatusSample,
    Watchdog,
    child_argv,
    continued_start_s,
    next_restart_s,
    read_status,
)
from installation.run.stats import LIVENESS_FD_ENV, Beacon, read_beats
from installation.settings import DEFAULT_SUPERVISE_TIMEOUT_S, settings_from_argv

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris_s(*fields: int, fold: int = 0) -> float:
    """Epoch seconds of a Paris wall-clock time."""
    return datetime.datetime(*fields, tzinfo=PARIS, fold=fold).timestamp()


def paris_wall(epoch_s: float) -> datetime.datetime:
    """The Paris wall clock (naive) at `epoch_s`."""
    return datetime.datetime.fromtimestamp(epoch_s, PARIS).replace(tzinfo=None)


# --- argv rewriting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["show.yaml", "--supervise", "--headless", "--supervise-timeout", "5", "--fps", "5"],
        ["show.yaml", "--supervise", "--headless", "--supervise-timeout=5", "--fps", "5"],
        ["--restart-at", "04:00", "show.yaml", "--supervise", "--headless", "--fps", "5"],
        ["show.yaml", "--supervise", "--headless", "--restart=04:00", "--fps", "5"],  # abbreviated
        ["show.yaml", "--supervise", "--supervise-t", "9", "--headless", "--fps", "5"],
    ],
)
def test_child_argv_drops_only_the_supervisor_options(argv):
    assert settings_from_argv(argv).is_supervised  # a command line the supervisor accepts
    assert child_argv(argv, None, None) == ["show.yaml", "--headless", "--fps", "5"]


def test_child_argv_continues_the_show_time_over_an_earlier_start(tmp_path):
    argv = ["show.yaml", "--start", "3", "--supervise", "--headless", "--star=4"]
    status = tmp_path / "status.json"
    rewritten = child_argv(argv, 1234.5678, status)
    assert rewritten[-4:] == ["--start", "1234.568", "--status-file", str(status)]
    settings = settings_from_argv(rewritten)  # what the child will run with
    assert settings.start_s == 1234.568 and settings.status_file == status
    assert not settings.is_supervised and settings.is_headless
    assert settings.show_path == Path("show.yaml")


def test_child_argv_keeps_everything_after_a_double_dash():
    assert child_argv(["--supervise", "--", "--supervise"], None, None) == ["--", "--supervise"]


# --- back-off and giving up -------------------------------------------------------------------


def test_backoff_doubles_from_one_second_up_to_a_minute():
    policy = RestartPolicy()
    assert [policy.backoff_s(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_quick_failures_in_a_row_give_up_on_the_fifth():
    counter = FailureCounter(RestartPolicy())
    assert [counter.record(ran_s=3.0) for _ in range(4)] == [1, 2, 4, 8]
    assert counter.record(ran_s=3.0) is None


def test_a_longer_run_breaks_the_quick_streak_and_a_healthy_one_resets_the_backoff():
    counter = FailureCounter(RestartPolicy())
    for _ in range(4):
        counter.record(ran_s=3.0)
    assert counter.record(ran_s=300.0) == 16  # not quick: no give-up, back-off goes on
    assert [counter.record(ran_s=3.0) for _ in range(4)] == [32, 60, 60, 60]
    assert counter.record(ran_s=3.0) is None  # five quick ones in a row again
    counter = FailureCounter(RestartPolicy())
    for _ in range(3):
        counter.record(ran_s=3.0)
    assert counter.record(ran_s=700.0) == 1  # ran 10+ minutes: healthy, back to 1 s


# --- nightly restart time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "at", "expected"),
    [
        ((2026, 6, 10, 3, 0), (4, 0), (2026, 6, 10, 4, 0)),  # later today
        ((2026, 6, 10, 4, 0), (4, 0), (2026, 6, 11, 4, 0)),  # exactly now: tomorrow
        ((2026, 6, 10, 4, 0, 1), (4, 0), (2026, 6, 11, 4, 0)),  # just after: tomorrow
        ((2026, 6, 10, 23, 59, 59), (0, 0), (2026, 6, 11, 0, 0)),  # midnight is one second on
        ((2026, 12, 31, 23, 30), (0, 15), (2027, 1, 1, 0, 15)),  # over the year's end
        ((2026, 3, 28, 12, 0), (2, 30), (2026, 3, 29, 3, 30)),  # 02:30 skipped: an hour later
        ((2026, 3, 29, 1, 0), (4, 0), (2026, 3, 29, 4, 0)),  # a 23 h night still hits 04:00
        ((2026, 10, 24, 12, 0), (4, 0), (2026, 10, 25, 4, 0)),  # a 25 h night too
    ],
)
def test_next_restart_is_the_next_local_wall_clock_time(now, at, expected):
    at_s = next_restart_s(paris_s(*now), datetime.time(*at), PARIS)
    assert paris_wall(at_s) == datetime.datetime(*expected)


def test_a_repeated_hour_restarts_once_when_clocks_go_back():
    at = datetime.time(2, 30)  # 2026-10-25: 03:00 CEST -> 02:00 CET, 02:30 happens twice
    first_s = next_restart_s(paris_s(2026, 10, 24, 12, 0), at, PARIS)
    assert first_s == paris_s(2026, 10, 25, 2, 30, fold=0)
    after_s = next_restart_s(first_s + 5, at, PARIS)  # after the restart: not again at 02:30
    assert paris_wall(after_s) == datetime.datetime(2026, 10, 26, 2, 30)
    assert after_s - first_s == 25 * 3600  # the second 02:30 (an hour later) was skipped


def test_system_local_time_is_used_without_a_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        now_s = paris_s(2026, 3, 28, 12, 0)
        assert next_restart_s(now_s, datetime.time(2, 30)) == paris_s(2026, 3, 29, 3, 30)
        assert next_restart_s(now_s, datetime.time(23, 0)) == paris_s(2026, 3, 28, 23, 0)
    finally:
        monkeypatch.undo()
        time.tzset()


# --- status samples and the watchdog ----------------------------------------------------------


def sample(frames: int = 10, show_s: float | None = 100.0, written_s: float = 1000.0,
           is_paused: bool = False, speed: float = 1.0, pid: int = 42) -> StatusSample:  # fmt: skip
    """A status sample with defaults."""
    return StatusSample(pid, written_s, frames, show_s, is_paused, speed, True)


def test_show_time_carries_on_with_the_wall_clock_unless_paused():
    assert continued_start_s(sample(written_s=1000.0), now_s=1007.5) == 107.5
    assert continued_start_s(sample(written_s=1000.0, speed=0.5), now_s=1010.0) == 105.0
    assert continued_start_s(sample(written_s=1000.0, is_paused=True), now_s=1010.0) == 100.0
    assert continued_start_s(sample(written_s=1000.0), now_s=990.0) == 100.0  # clock stepped back


def test_read_status_takes_a_status_and_rejects_anything_else(tmp_path):
    path = tmp_path / "status.json"
    assert read_status(path) is None  # missing
    path.write_text('{"pid": 7, "frames_shown": 3', encoding="utf-8")
    assert read_status(path) is None  # half-written
    path.write_text('["not", "a", "status"]', encoding="utf-8")
    assert read_status(path) is None
    path.write_text(json.dumps({"pid": 7, "loading": True, "show": "demo"}), encoding="utf-8")
    loading = read_status(path)
    assert loading is not None and loading.show_time_s is None and loading.is_paused
    record = {"pid": 7, "frames_shown": 30, "show_time_s": 12.25, "paused": False, "speed": 1.0,
              "running": False}  # fmt: skip
    path.write_text(json.dumps(record), encoding="utf-8")
    got = read_status(path)
    assert got is not None and (got.pid, got.frames_shown, got.show_time_s) == (7, 30, 12.25)
    assert not got.is_running and got.written_s == pytest.approx(os.stat(path).st_mtime)


def test_watchdog_gives_startup_grace_then_wants_new_frames_or_a_pause():
    policy = RestartPolicy(hang_timeout_s=10.0, startup_grace_s=30.0, frame_stall_s=20.0)
    dog = Watchdog(child_pid=42, started_s=0.0, policy=policy)
    assert dog.stall(29.0) is None  # still loading
    assert "within 30 s" in dog.stall(31.0)
    dog.update(sample(frames=5, written_s=1.0), now_s=20.0)
    dog.update(sample(frames=5, written_s=1.0, pid=99), now_s=25.0)  # someone else's: ignored
    assert dog.stall(29.0) is None
    for written_s, now_s in ((2.0, 29.0), (3.0, 38.0)):  # rewritten, but no new frame
        dog.update(sample(frames=5, written_s=written_s), now_s=now_s)
    assert dog.stall(40.0) is None  # frames may stall longer than the status rewrites
    assert "no new frame for 21 s" in dog.stall(41.0)
    dog.update(sample(frames=5, written_s=4.0, is_paused=True), now_s=41.0)  # paused: fine
    assert dog.stall(50.0) is None
    dog.update(sample(frames=6, written_s=5.0), now_s=51.0)
    assert dog.stall(60.0) is None
    assert "no liveness beat or status write for 11 s" in dog.stall(62.0)  # frozen


def test_watchdog_gives_a_starting_child_the_startup_allowance_then_wants_beats():
    policy = RestartPolicy(hang_timeout_s=10.0, startup_grace_s=30.0)
    dog = Watchdog(child_pid=42, started_s=0.0, policy=policy)
    starting = StatusSample(42, 1.0, 0, None, True, 1.0, True, state="starting")
    dog.update(starting, now_s=1.0, source="beat")
    assert dog.stall(25.0) is None  # imports, the show, a kernel build: not a hang yet
    assert "not past starting within 30 s of starting" in dog.stall(31.0)
    dog = Watchdog(child_pid=42, started_s=0.0, policy=policy)
    dog.update(starting, now_s=1.0, source="beat")
    loading = StatusSample(42, 2.0, 0, None, True, 1.0, True, state="loading")
    dog.update(loading, now_s=2.0, source="beat")
    assert dog.stall(11.0) is None
    assert "no liveness beat or status write for 11 s" in dog.stall(13.0)  # loading beats stop


def test_watchdog_compares_each_source_with_itself():
    """A beat and a status file written at other times, with other frame counts, read in turn
    again and again, are neither signs of life nor new frames."""
    policy = RestartPolicy(hang_timeout_s=10.0, startup_grace_s=30.0, frame_stall_s=20.0)
    dog = Watchdog(child_pid=42, started_s=0.0, policy=policy)
    beat, file = sample(frames=7, written_s=101.0), sample(frames=5, written_s=99.0)
    for now_s in range(1, 40):
        dog.update(beat, now_s=float(now_s), source="beat")
        dog.update(file, now_s=float(now_s), source="file")
    assert "no liveness beat or status write for 38 s" in dog.stall(39.0)
    dog.update(sample(frames=8, written_s=140.0), now_s=40.0, source="beat")  # a new frame
    assert dog.stall(45.0) is None
    dog.update(sample(frames=8, written_s=150.0), now_s=50.0, source="beat")  # alive, no frame
    assert dog.stall(59.0) is None
    dog.update(sample(frames=8, written_s=155.0), now_s=55.0, source="beat")
    assert "no new frame for 21 s" in dog.stall(61.0)


# --- the flags --------------------------------------------------------------------------------


def test_supervise_flags_parse_into_settings():
    settings = settings_from_argv(["--supervise", "--restart-at", "04:30",
                                   "--supervise-timeout", "20"])  # fmt: skip
    assert settings.is_supervised and settings.restart_at == datetime.time(4, 30)
    assert settings.supervise_timeout_s == 20.0
    plain = settings_from_argv([])
    assert not plain.is_supervised and plain.restart_at is None
    assert plain.supervise_timeout_s == DEFAULT_SUPERVISE_TIMEOUT_S


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--supervise", "--restart-at", "25:00"], "--restart-at: expected a time HH:MM"),
        (["--supervise", "--restart-at", "4:5"], "--restart-at: expected a time HH:MM"),
        (["--supervise", "--restart-at", "noon"], "--restart-at: expected a time HH:MM"),
        (["--supervise", "--supervise-timeout", "0"], "--supervise-timeout: expected a number"),
        (["--restart-at", "04:00"], "--restart-at needs --supervise"),
        (["--supervise-timeout", "5"], "--supervise-timeout needs --supervise"),
        (["--supervise", "--out", "v.mp4"], "--supervise is for live play, not with --out"),
    ],
)
def test_bad_supervise_flags_exit_2_with_one_line_reason(argv, expected, capsys):
    with pytest.raises(SystemExit) as exited:
        settings_from_argv(argv)
    assert exited.value.code == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and expected in error_lines[0]


def test_an_unwritable_status_file_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    status = blocker / "status.json"  # its folder is a file
    with pytest.raises(SystemExit) as exited:
        settings_from_argv(["--supervise", "--status-file", str(status)])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"run_show.py: error: --status-file {status}: cannot create it: {blocker} "
                     "is not a directory (see run_show.py --help)"]  # fmt: skip


def test_supervisor_module_does_not_pull_in_torch():
    source = Path(process_keeper.__file__).read_text(encoding="utf-8")
    assert "import torch" not in source and "installation.app" not in source


# --- the liveness beat ------------------------------------------------------------------------


def test_beats_never_block_a_show_whose_supervisor_does_not_read():
    read_fd, write_fd = os.pipe()
    try:
        beacon = Beacon(write_fd)
        facts = {"state": "playing", "frames_shown": 12, "show_time_s": 3.25, "note": "x" * 200}
        thread = threading.Thread(target=lambda: [beacon.beat(facts, is_forced=True)
                                                  for _ in range(5000)])  # > 64 KiB: pipe full
        thread.start()
        thread.join(10)
        assert not thread.is_alive()  # a full pipe skips beats, it never blocks the show
        data = os.read(read_fd, 1 << 20)
        beats, rest = read_beats(data + b'{"state": "half')
        assert len(beats) > 100 and beats[-1] == facts and rest == b'{"state": "half'
        assert beacon.fd == write_fd  # still beating
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_beats_are_once_a_second_unless_forced_and_stop_when_the_supervisor_is_gone():
    read_fd, write_fd = os.pipe()
    now = [0.0]
    beacon = Beacon(write_fd, clock=lambda: now[0])
    for step in range(30):  # 3 s of display ticks at 10 per second
        now[0] = step / 10
        beacon.beat({"state": "playing", "frames_shown": step})
    beats, _ = read_beats(os.read(read_fd, 65536))
    assert [b["frames_shown"] for b in beats] == [0, 10, 20]
    os.close(read_fd)  # the supervisor died: EPIPE (SIGPIPE is ignored by Python)
    beacon.beat({"state": "playing"}, is_forced=True)
    assert beacon.fd is None
    os.close(write_fd)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LIVENESS_FD_ENV, "")
        assert Beacon.from_environment().fd is None  # not supervised: beats go nowhere
