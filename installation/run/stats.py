"""Run statistics and what the show says about itself: memory peaks, the summary log line, the
--stats-json file, the --status-file and the liveness beat to a --supervise parent.

No torch at import: run_show.py writes the first status (state `starting`) before torch loads,
and the supervisor reads the beat protocol from here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import functools
import gc
import json
import logging
import os
import resource
import time
from pathlib import Path
from typing import Any, Literal

from installation.logs import RateLimitedLog

log = logging.getLogger(__name__)
# a status file that cannot be written (a full disk): one line per 10 minutes for the whole run
STATUS_WRITE_LOG = RateLimitedLog(log, interval_s=600.0)

# The status file's `state`: starting (the process is up, before torch, the show and the
# kernels), loading (the show is read; the models load), playing, stopped (the final record).
State = Literal["starting", "loading", "playing", "stopped"]
LIVENESS_FD_ENV = "LATENT_WALK_LIVENESS_FD"  # set by --supervise: the pipe the beats go to
BEAT_INTERVAL_S = 1.0  # a beat at most this often (the supervisor's timeout is many of them)
MAX_BEAT_BYTES = 512  # one beat line; below PIPE_BUF (4096), so each write is atomic


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cuda_peak_mb() -> float | None:
    """Peak CUDA memory allocated by torch in MiB, or None without CUDA."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def cuda_memory_mb() -> float | None:
    """CUDA memory torch holds now (reserved by its allocator) in MiB, or None without CUDA."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.memory_reserved() / 2**20


def rss_mb() -> float:
    """Resident memory of this process now, in MiB (Linux /proc; 0 where it is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def release_memory() -> bool:
    """Collect garbage and hand free heap memory back to the OS; True when glibc's trim ran.

    Each render thread allocates from its own glibc malloc arena, so after a recovery (a new
    thread, the old one's renderer freed) the freed memory stays counted in RSS until trimmed;
    the minute summary calls this so RSS tracks what is really in use.
    """
    gc.collect()
    malloc_trim = _malloc_trim()
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True


@functools.cache
def _malloc_trim() -> Any:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    libc_name = ctypes.util.find_library("c")
    try:
        malloc_trim = ctypes.CDLL(libc_name).malloc_trim if libc_name else None
    except (OSError, AttributeError):
        return None
    if malloc_trim is not None:
        malloc_trim.argtypes = [ctypes.c_size_t]
    return malloc_trim


def write_status_file(path: Path, status: dict[str, Any]) -> str | None:
    """Replace the status file atomically (temp file + rename); the error text, or None.

    A failed write (a full disk) leaves no temp file behind and the previous status in place.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(status, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # the folder itself is unusable: nothing was left in it either
            pass
        return str(err)
    return None


def report_status(path: Path, status: dict[str, Any]) -> bool:
    """Write the status file; a failure is logged (rate-limited) and the show goes on."""
    error = write_status_file(path, status)
    if error is not None:
        STATUS_WRITE_LOG.log(logging.ERROR, "status file not written path=%s: %s (the show "
                             "plays on)", path, error)  # fmt: skip
    return error is None


def starting_status(state: State, show: str | os.PathLike[str]) -> dict[str, Any]:
    """The status record before the first frame: pid, state, show, time (no show time yet)."""
    return {
        "pid": os.getpid(),
        "state": state,
        "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "running": True,
        "loading": True,
        "show": Path(show).stem,
        "frames_shown": 0,
        "show_time_s": None,
    }


def announce_start(status_file: Path | None, show: str | os.PathLike[str]) -> None:
    """The process is up: state `starting` in the status file and to a --supervise parent."""
    Beacon.from_environment().beat({"state": "starting"})
    if status_file is None:
        return
    report_status(status_file, starting_status("starting", show))


class Beacon:
    """The show's liveness beat to a --supervise parent: one JSON line a second, over a pipe.

    It needs no disk, so a full disk (a status file that cannot be written) is not taken for a
    hang. The main thread beats (a frozen main thread stops beating); a parent that does not
    read never blocks the show (the pipe is non-blocking; a beat that does not fit is skipped).
    """

    def __init__(self, fd: int | None, clock: Any = time.monotonic) -> None:
        self.fd = fd
        self.clock = clock
        self.next_beat_s = -float("inf")
        if fd is not None:
            try:
                os.set_blocking(fd, False)
            except OSError as err:
                log.warning("liveness pipe unusable fd=%d: %s", fd, err)
                self.fd = None

    @classmethod
    def from_environment(cls) -> Beacon:
        """The pipe the supervisor named in $LATENT_WALK_LIVENESS_FD (no pipe without it)."""
        text = os.environ.get(LIVENESS_FD_ENV, "")
        return cls(int(text) if text.isdigit() else None)

    def beat(self, facts: dict[str, Any], is_forced: bool = False) -> None:
        """Send `facts` (state, frames, show time ...) unless the last beat was under 1 s ago."""
        now_s = self.clock()
        if self.fd is None or (now_s < self.next_beat_s and not is_forced):
            return
        self.next_beat_s = now_s + BEAT_INTERVAL_S
        line = (json.dumps(facts, separators=(",", ":")) + "\n").encode()
        if len(line) > MAX_BEAT_BYTES:
            line = (json.dumps({"state": facts.get("state")}) + "\n").encode()
        try:
            os.write(self.fd, line)
        except BlockingIOError:  # the parent is not reading: it will see the next one
            return
        except OSError:  # the parent is gone (EPIPE): nobody to tell
            self.fd = None


def read_beats(data: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """Complete beat lines in `data` -> (the beats that parse, the incomplete rest)."""
    *lines, rest = data.split(b"\n")
    beats = []
    for line in lines:
        try:
            beat = json.loads(line)
        except ValueError:
            continue
        if isinstance(beat, dict):
            beats.append(beat)
    return beats, rest[-MAX_BEAT_BYTES:]


def write_stats(path: Path, stats: dict[str, Any]) -> None:
    """Write the statistics as JSON (a failure is logged: it must not fail the run)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        log.error("stats not written path=%s: %s", path, err)
        return
    log.info("stats written path=%s", path)


def log_summary(label: str, stats: dict[str, Any]) -> None:
    """One line: frames generated/shown/dropped/failed/late, gen ms median/p95, rates, memory,
    the longest wait for a new frame, and the render thread's recoveries and degrade level."""
    log.info(
        "%s frames generated=%d shown=%d dropped=%d failed=%d late=%d gen_ms_median=%.1f "
        "gen_ms_p95=%.1f generated_fps=%.2f display_fps=%.2f elapsed_s=%.1f peak_rss_mb=%.0f "
        "rss_mb=%.0f longest_gap_s=%.2f recoveries=%d degrade_level=%d",
        label, stats["frames_generated"], stats["frames_shown"], stats["frames_dropped"],
        stats["frames_failed"], stats["frames_late"], stats["gen_ms_median"],
        stats["gen_ms_p95"], stats["generated_fps"], stats["display_fps"], stats["elapsed_s"],
        stats["peak_rss_mb"], rss_mb(), stats.get("longest_frame_gap_s", 0.0),
        stats.get("recoveries", 0), stats.get("degrade_level", 0),
    )  # fmt: skip
