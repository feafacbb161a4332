"""`run_show.py --supervise` with real processes: a killed child is replaced and the show time
carries on; a frozen child is detected through the status file and replaced; the supervisor
stops with SIGTERM and takes its child along when it is killed itself; exit 0 and exit 2 end it;
quick failures make it give up; --restart-at swaps the child for a fresh one (a fake clock).

The shows run headless on a tiny StyleGAN3 (16 px) at 5 fps, so each child starts in seconds.
"""

import datetime
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from installation.models import save_generator
from installation.run.process_keeper import ProcessKeeper, RestartPolicy, next_restart_s
from tiny_models import tiny_sg3

REPO = Path(__file__).resolve().parents[2]
RUN_SHOW = REPO / "run_show.py"
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
WAIT_S = 90.0  # a child's start on a busy CI machine
SHOW_TEXT = """\
models:
  tiny:
    path: tiny.safetensors
sections:
  - name: loop
    model: tiny
    loops: 1
    walk:
      space: w
      path: cubic
      closed: true
      seconds_per_keyframe: 2
      keyframes:
        - seed: 1
        - seed: 2
        - seed: 3
"""
PLAY_ARGS = ("--headless", "--size", "32x32", "--fps", "5", "--batch", "1")
# a stand-in show for the in-process ProcessKeeper: writes a status (pid, frames, show time from
# its start argument) every 0.1 s; exits 0 on SIGTERM or, as a restarted child, after 1 s;
# with a non-empty exit argument it says "boom" and exits with that code at once
FAKE_CHILD = """\
import json, os, signal, sys, time
status, start, exit_code = sys.argv[1:4]
if exit_code:
    sys.stderr.write("boom\\n")
    sys.exit(int(exit_code))
show_s = 0.0 if start == "None" else float(start)
stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
started_s = time.monotonic()
frames = 0

def write(is_running):
    record = {"pid": os.getpid(), "frames_shown": frames, "running": is_running,
              "show_time_s": show_s + time.monotonic() - started_s}
    with open(status + ".tmp", "w") as file:
        json.dump(record, file)
    os.replace(status + ".tmp", status)

while not stopping and not (start != "None" and time.monotonic() - started_s > 1.0):
    frames += 1
    write(True)
    time.sleep(0.1)
write(False)
"""


@pytest.fixture(scope="module")
def show_path(tmp_path_factory) -> Path:
    """A one-section looping show on a tiny SG3 model."""
    root = tmp_path_factory.mktemp("supervised")
    save_generator(tiny_sg3(), root / "tiny.safetensors")
    path = root / "show.yaml"
    path.write_text(SHOW_TEXT, encoding="utf-8")
    return path


def start_supervisor(*args: str, log_path: Path, is_headless: bool = True) -> subprocess.Popen:
    """`run_show.py --supervise ARGS` in the background, its stderr going to `log_path`."""
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARIABLES}
    env["MESA_SHADER_CACHE_DISABLE"] = "true"
    play = PLAY_ARGS if is_headless else ()
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, str(RUN_SHOW), *args, *play, "--supervise"], cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=log_file,
        )  # fmt: skip


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> object:
    """Poll `condition` until it returns something truthy; that value."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def status_where(path: Path, accept: Callable[[dict], bool]) -> Callable[[], dict | None]:
    """A condition: the status record when `accept(record)`, else None."""

    def read() -> dict | None:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if accept(record) else None

    return read


def status_with_mtime(path: Path) -> tuple[dict, float]:
    """The status record and the time it was written (read again if rewritten meanwhile)."""
    while True:
        written_s = path.stat().st_mtime
        record = json.loads(path.read_text(encoding="utf-8"))
        if path.stat().st_mtime == written_s:
            return record, written_s


def is_alive(pid: int) -> bool:
    """True while process `pid` exists (and is not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def started_children(log_path: Path) -> list[tuple[int, str]]:
    """(pid, start_s text) of every 'show process started' line in the supervisor's log."""
    text = log_path.read_text(encoding="utf-8", errors="replace")
    pattern = r"show process started pid=(\d+) start_s=(\S+ ?\S*) restarts"
    return [(int(pid), start) for pid, start in re.findall(pattern, text)]


def stop(process: subprocess.Popen) -> None:
    """Make sure a supervisor started by a test is gone (its child dies with it)."""
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_killed_and_frozen_children_are_replaced_continuing_the_show_time_then_sigterm_stops(
    show_path, tmp_path
):
    status, log_path = tmp_path / "status.json", tmp_path / "supervisor.log"
    supervisor = start_supervisor(str(show_path), "--status-file", str(status),
                                  "--supervise-timeout", "4", log_path=log_path)  # fmt: skip
    try:
        first = wait_for(status_where(status, lambda r: r.get("frames_shown", 0) >= 2),
                         "the first child's frames")  # fmt: skip
        sampled_s = time.time()
        os.kill(first["pid"], signal.SIGKILL)
        second = wait_for(
            status_where(status, lambda r: r["pid"] != first["pid"] and r["frames_shown"] >= 1),
            "frames from a restarted child",
        )
        restarted_s = time.time()
        log_text = log_path.read_text(encoding="utf-8")
        assert f"show process died pid={first['pid']} signal=SIGKILL" in log_text
        (_, given), (pid, continued) = started_children(log_path)
        assert given == "as given" and pid == second["pid"]
        # the show time carried on from the killed child's (2 s status period), not from 0
        assert (
            first["show_time_s"]
            <= float(continued)
            <= first["show_time_s"] + (restarted_s - sampled_s) + 2.5
        )
        assert second["show_time_s"] >= float(continued) > 1.0
        assert second["last_frame_age_s"] is not None and second["last_frame_age_s"] < 5

        os.kill(second["pid"], signal.SIGSTOP)  # frozen: no frames, no status rewrites
        earlier = (first["pid"], second["pid"])
        third = wait_for(
            status_where(status, lambda r: r["pid"] not in earlier and r["frames_shown"] >= 1),
            "a replacement child",
        )
        log_text = log_path.read_text(encoding="utf-8")
        assert re.search(rf"show process hung pid={second['pid']}: no liveness beat or status "
                         r"write for [4-9] s", log_text), log_text  # fmt: skip
        assert f"show process hung and was stopped pid={second['pid']} signal=SIGKILL" in log_text
        assert not is_alive(second["pid"])
        assert third["show_time_s"] > second["show_time_s"]

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0
    finally:
        stop(supervisor)
        print(log_path.read_text(encoding="utf-8", errors="replace")[-6000:])  # on failure
    assert not is_alive(third["pid"])
    final = json.loads(status.read_text(encoding="utf-8"))
    assert (final["pid"], final["running"], final["exit"]) == (third["pid"], False, "interrupted")
    assert "supervisor stopped by SIGTERM; show exit=0" in log_path.read_text(encoding="utf-8")


def test_after_a_kill_the_restarted_show_time_is_within_1_s_of_where_it_would_be(
    show_path, tmp_path
):
    """The new child adds its own start-up time (seconds: torch, GL, the model) to --start."""
    status, log_path = tmp_path / "status.json", tmp_path / "supervisor.log"
    supervisor = start_supervisor(str(show_path), "--status-file", str(status),
                                  log_path=log_path)  # fmt: skip
    try:
        wait_for(status_where(status, lambda r: r.get("frames_shown", 0) >= 2),
                 "the first child's frames")  # fmt: skip
        before, before_written_s = status_with_mtime(status)
        os.kill(before["pid"], signal.SIGKILL)
        wait_for(status_where(status, lambda r: r["pid"] != before["pid"] and
                              r.get("state") == "playing"), "the restarted child")  # fmt: skip
        after, after_written_s = status_with_mtime(status)
    finally:
        stop(supervisor)
    expected_s = before["show_time_s"] + (after_written_s - before_written_s)
    started = started_children(log_path)
    assert len(started) == 2 and started[1][0] == after["pid"]
    assert abs(after["show_time_s"] - expected_s) <= 1.0, (after["show_time_s"], expected_s)
    assert after["show_time_s"] > float(started[1][1])  # later than the --start it was given


def test_a_killed_supervisor_takes_its_child_along(tmp_path):
    """PR_SET_PDEATHSIG: a supervisor killed with no chance to stop its child leaves none."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; "
         "from installation.run.process_keeper import Child; "
         "child = Child([sys.executable, '-c', 'import time; time.sleep(60)']); "
         "print(child.pid, flush=True); time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        child_pid = int(parent.stdout.readline())
        assert is_alive(child_pid)
        parent.kill()
        parent.wait(10)
        wait_for(lambda: not is_alive(child_pid), "the orphaned child to die", 10)
    finally:
        stop(parent)


def test_child_exit_0_ends_the_supervisor_without_a_restart(show_path, tmp_path):
    log_path = tmp_path / "supervisor.log"
    supervisor = start_supervisor(str(show_path), "--frames", "3", log_path=log_path)
    try:
        assert supervisor.wait(WAIT_S) == 0
    finally:
        stop(supervisor)
    log_text = log_path.read_text(encoding="utf-8")
    assert len(started_children(log_path)) == 1
    assert "summary frames generated=3 shown=3" in log_text  # the child's log, passed through
    assert "exit=0; supervisor ends" in log_text
    private = re.search(r"status_file=(\S+)", log_text)
    assert private is not None and not Path(private.group(1)).parent.exists()  # cleaned up


def test_child_exit_2_is_not_restarted(show_path, tmp_path):
    log_path = tmp_path / "supervisor.log"
    supervisor = start_supervisor(str(show_path), log_path=log_path, is_headless=False)
    try:
        assert supervisor.wait(WAIT_S) == 2  # no display: a restart would find none either
    finally:
        stop(supervisor)
    log_text = log_path.read_text(encoding="utf-8")
    assert len(started_children(log_path)) == 1
    assert "show process exited 2 (bad options or no display" in log_text
    assert 'last_stderr="run_show: no display' in log_text


def fake_supervisor(tmp_path: Path, exit_code: str = "", **kwargs) -> ProcessKeeper:
    """A ProcessKeeper whose child is FAKE_CHILD (fast back-off for the tests)."""
    script = tmp_path / "child.py"
    script.write_text(FAKE_CHILD, encoding="utf-8")
    status = tmp_path / "status.json"

    def command_for(start_s: float | None, epoch_s: float | None) -> list[str]:
        return [sys.executable, str(script), str(status), str(start_s), exit_code]

    policy = RestartPolicy(backoff_first_s=0.05, give_up_after=3, stop_grace_s=5.0,
                           fresh_child_s=0.0)  # fmt: skip
    return ProcessKeeper(command_for, status, policy, **kwargs)


def test_quick_failures_make_the_supervisor_give_up(tmp_path, caplog):
    supervisor = fake_supervisor(tmp_path, exit_code="3")
    with caplog.at_level(logging.INFO, logger="installation.run.process_keeper"):
        assert supervisor.run() == 1
    starts = [r for r in caplog.records if r.getMessage().startswith("show process started")]
    deaths = [r.getMessage() for r in caplog.records if "show process died" in r.getMessage()]
    assert len(starts) == 3 and len(deaths) == 3
    assert "exit=3" in deaths[0] and 'last_stderr="boom"' in deaths[0]
    assert "restart in 0.05 s (failure 1 in a row)" in deaths[0]
    assert "restart in 0.1 s (failure 2 in a row)" in deaths[1]
    assert "giving up after 3 failures in a row, each within 120 s of starting" in deaths[2]


def test_restart_at_swaps_in_a_fresh_child_continuing_the_show_time(tmp_path, caplog):
    at = datetime.time(4, 0)
    base_s = next_restart_s(time.time(), at) - 2.0  # a fake wall clock 2 s before 04:00
    started_s = time.monotonic()
    supervisor = fake_supervisor(
        tmp_path, restart_at=at, wall_clock=lambda: base_s + time.monotonic() - started_s
    )
    with caplog.at_level(logging.INFO, logger="installation.run.process_keeper"):
        assert supervisor.run() == 0  # the fresh child ends by itself (exit 0) after 1 s
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("nightly restart at 04:00:00") for m in messages)
    starts = [m for m in messages if m.startswith("show process started")]
    assert len(starts) == 2 and "start_s=as given" in starts[0]
    continued_s = float(re.search(r"start_s=([\d.]+)", starts[1]).group(1))
    assert 0.5 < continued_s < 4.0  # the first child played ~2 s (less its start) before 04:00
    assert not any("died" in m or "hung" in m for m in messages)
