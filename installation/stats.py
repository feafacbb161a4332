"""Run statistics helpers: memory peaks, the summary log line, the --stats-json file."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import json
import logging
import os
import resource
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cuda_peak_mb() -> float | None:
    """Peak CUDA memory allocated by torch in MiB, or None without CUDA."""
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.max_memory_allocated() / 2**20


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
    """Replace the status file atomically (temp file + rename); the error text, or None."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(status, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        return str(err)
    return None


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
