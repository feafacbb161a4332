"""The status file from the first moment, and a full disk, with real processes.

- A slow first start (the first generator pass hangs 4 s) is visible: the status file says
  `starting` before torch has loaded, then `loading`, then `playing`, then `stopped`.
- On a full disk (a real tmpfs filled to the last byte; where this process may not mount one,
  RLIMIT_FSIZE in the show process makes every file write fail the same way) the show plays to
  its end: the failed status and log writes are one line each on stderr, never a traceback.
- Under --supervise, a show that cannot write its status file is not taken for a hung one (its
  liveness beats reach the supervisor through a pipe), while a frozen (SIGSTOPped) one still is.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tiny_models import tiny_show_tree

REPO = Path(__file__).resolve().parents[2]
RUN_SHOW = REPO / "run_show.py"
WAIT_S = 90.0
FULL_DISK_BYTES = 128 * 1024
SHOW_TEXT = """\
models:
  tiny:
    path: ../assets/demo/demo-sg3.safetensors
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


@pytest.fixture(scope="module")
def show_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A looping one-section show on a tiny StyleGAN3 (16 px)."""
    return tiny_show_tree(tmp_path_factory.mktemp("status"), SHOW_TEXT)


def child_env() -> dict[str, str]:
    """The environment for a headless show: no display variables, no shader cache writes."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MESA_SHADER_CACHE_DISABLE"] = "true"
    return env


@contextlib.contextmanager
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None] | None]]:
    """(a folder whose file writes fail for lack of space, a preexec_fn for the show process).

    A 128 KiB tmpfs filled with one file: new files can be created (the command line check
    passes) but not written, as on a full disk. Where mounting is not allowed, a plain folder
    and a preexec_fn that caps the size of any file the process writes (RLIMIT_FSIZE, SIGXFSZ
    ignored: writes fail with EFBIG instead of ENOSPC).
    """
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FULL_DISK_BYTES}", "tmpfs",
                              str(folder)], capture_output=True).returncode == 0  # fmt: skip
    if not mounted:

        def cap_file_size() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

        yield folder, cap_file_size
        return
    try:
        with contextlib.suppress(OSError), (folder / "filler").open("wb") as filler:
            for _ in range(2 * FULL_DISK_BYTES // 4096):
                filler.write(b"\0" * 4096)
                filler.flush()
        with pytest.raises(OSError):  # really full
            (folder / "probe").write_bytes(b"x" * 4096)
        yield folder, None
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def states_seen(path: Path, process: subprocess.Popen, timeout_s: float) -> list[dict]:
    """Poll the status file every 10 ms until the process ends: each record that differs."""
    records: list[dict] = []
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        is_done = process.poll() is not None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None
        if record is not None and (not records or record != records[-1]):
            records.append(record)
        if is_done:
            return records
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"the show did not end within {timeout_s:g} s")


def test_status_file_says_starting_then_loading_before_the_first_frame(show_path, tmp_path):
    status = tmp_path / "status.json"
    process = subprocess.Popen(
        [sys.executable, str(RUN_SHOW), str(show_path), *PLAY_ARGS, "--frames", "3",
         "--status-file", str(status), "--inject-faults", "hang@0:4"],
        cwd=REPO, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    records = states_seen(status, process, WAIT_S)
    stderr = process.stderr.read() if process.stderr else ""
    assert process.wait() == 0, stderr
    states = [r.get("state") for r in records]
    order = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert order == ["starting", "loading", "playing", "stopped"], (order, stderr[-3000:])
    assert all(r["pid"] == process.pid and r["show"] == "show" for r in records)
    loading = [r for r in records if r["state"] in ("starting", "loading")]
    assert all(r["frames_shown"] == 0 and r["show_time_s"] is None for r in loading)
    # the slow first pass (4 s) kept the state at loading, rewritten meanwhile
    assert sum(r["state"] == "loading" for r in records) >= 2
    assert records[-1]["frames_shown"] == 3 and records[-1]["running"] is False


def test_full_disk_status_and_log_writes_fail_in_one_line_each_and_the_show_plays_on(
    show_path, tmp_path
):
    with full_disk(tmp_path) as (folder, preexec):
        status, log_file = folder / "status.json", folder / "show.log"
        result = subprocess.run(
            [sys.executable, str(RUN_SHOW), str(show_path), *PLAY_ARGS, "--frames", "15",
             "--fps", "10", "--status-file", str(status), "--log-file", str(log_file)],
            cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=WAIT_S,
            preexec_fn=preexec,
        )  # fmt: skip
    err = result.stderr
    assert result.returncode == 0, err[-3000:]
    assert "summary frames generated=15 shown=15" in err  # it played to the end
    assert "Traceback" not in err and "Logging error" not in err
    status_lines = [line for line in err.splitlines() if "status file not written" in line]
    log_lines = [line for line in err.splitlines() if "log file not written" in line]
    assert len(status_lines) == 1 and f"path={status}" in status_lines[0], status_lines
    assert len(log_lines) == 1 and f"path={log_file}" in log_lines[0], log_lines
    assert re.search(r"(No space left on device|File too large)", status_lines[0] + log_lines[0])
    assert not (folder / ".status.json.tmp").exists()  # no half-written temp file left


class Relay:
    """A supervisor's stderr, read into memory by a thread (a pipe: never full, never a file)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        """Everything read so far."""
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, count: int = 1, timeout_s: float = WAIT_S) -> list[str]:
        """The first `count` matches of `pattern` (a regex), waiting for them."""
        deadline_s = time.monotonic() + timeout_s
        while time.monotonic() < deadline_s:
            found = re.findall(pattern, self.text)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        tail = self.text[-4000:]
        raise AssertionError(f"no {count} x {pattern!r} within {timeout_s:g} s:\n{tail}")


def test_supervisor_keeps_a_show_that_cannot_write_its_status_but_restarts_a_frozen_one(
    show_path, tmp_path
):
    timeout_s = 3
    with full_disk(tmp_path) as (folder, preexec):
        supervisor = subprocess.Popen(
            [sys.executable, str(RUN_SHOW), str(show_path), *PLAY_ARGS, "--supervise",
             "--supervise-timeout", str(timeout_s), "--status-file", str(folder / "status.json")],
            cwd=REPO, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, preexec_fn=preexec,
        )  # fmt: skip
        relay = Relay(supervisor)
        try:
            (first,) = relay.wait_for(r"show process started pid=(\d+)")
            relay.wait_for(r"installation.app: show started")
            time.sleep(4 * timeout_s)  # four supervise timeouts without one status write
            assert "status file not written" in relay.text  # the disk really is full
            assert "hung" not in relay.text and len(re.findall("show process started",
                                                               relay.text)) == 1  # fmt: skip
            os.kill(int(first), signal.SIGSTOP)  # frozen: no beats
            relay.wait_for(rf"show process hung pid={first}: no liveness beat or status write "
                           r"for \d+ s", timeout_s=30)  # fmt: skip
            starts = relay.wait_for(r"show process started pid=(\d+)", count=2, timeout_s=30)
            assert starts[1] != first
            relay.wait_for(r"installation.app: show started", count=2)  # the new one plays
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(30) == 0
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
                supervisor.wait(10)
    assert "Traceback" not in relay.text
