"""CPU thread policy: how torch's OpenMP threads wait, and how many there are.

torch's OpenMP runtime spin-waits between parallel regions by default. On a PC where anything
else wants the CPU (an update, a virus scan, a second program) the spinning threads and the
other process fight for the cores, and generation collapses to a fraction of a frame per second
with frozen pictures of several seconds (benchmarks/contention.py measures it). Idle threads
that sleep instead (OMP_WAIT_POLICY=PASSIVE) lose little when the PC is quiet and keep the show
moving when it is not.

OpenMP reads its settings once, when torch loads it, so `choose_policy()` runs before anything
imports torch: run_show.py and the `latent-walk` entry point call it first. It leaves the
variables the user set alone. Thread count: --threads (run_show.py), else $LATENT_WALK_THREADS,
else $OMP_NUM_THREADS, else the physical cores this process may use, one left free from 4 cores
up (for the display thread and the rest of the PC). `LATENT_WALK_THREAD_POLICY=torch` leaves
everything as torch chooses (spinning threads: the behaviour before this policy, for comparison).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

log = logging.getLogger(__name__)

ENV_POLICY = "LATENT_WALK_THREAD_POLICY"  # "passive" (default) or "torch": leave torch's own
ENV_THREADS = "LATENT_WALK_THREADS"  # default thread count for every entry point
POLICIES = ("passive", "torch")
# Idle OpenMP threads sleep at once instead of spinning: GNU OpenMP (torch's wheels on Linux)
# reads OMP_WAIT_POLICY; Intel's (conda builds) also reads KMP_BLOCKTIME (ms spent spinning).
PASSIVE_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}
CPUINFO_PATH = Path("/proc/cpuinfo")
CGROUP_CPU_MAX_PATH = Path("/sys/fs/cgroup/cpu.max")
MIN_CORES_TO_SPARE_ONE = 4  # from this many cores up one is left for display and the system


def choose_policy(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set OpenMP's wait policy and thread count unless the user chose; returns what was set.

    Call before torch is imported (OpenMP reads the environment once, when it loads).
    """
    env = os.environ if environ is None else environ
    policy = env.get(ENV_POLICY, "passive").strip().lower()
    if policy not in POLICIES:
        log.warning("$%s=%r: expected passive or torch; using passive", ENV_POLICY, policy)
        policy = "passive"
    if policy == "torch":
        return {}
    chosen = {key: value for key, value in PASSIVE_ENV.items() if key not in env}
    threads = None
    if env.get(ENV_THREADS):
        try:
            threads = parse_threads(env[ENV_THREADS], f"${ENV_THREADS}")
        except ValueError as err:
            log.warning("%s; ignored", err)
    if threads is not None:
        chosen["OMP_NUM_THREADS"] = str(threads)
    elif "OMP_NUM_THREADS" not in env:
        chosen["OMP_NUM_THREADS"] = str(default_threads())
    if chosen and environ is None and "torch" in sys.modules:
        log.warning("torch was imported before the thread policy was chosen; it may not apply")
    env.update(chosen)
    return chosen


def physical_cores(
    cpuinfo: str | None = None, allowed: set[int] | None = None, cpu_max: str | None = None
) -> int:
    """Physical cores this process may use (affinity, hyper-threads, a cgroup quota counted)."""
    if allowed is None:
        allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO_PATH.read_text()
        except OSError:
            cpuinfo = ""
    cores: set[tuple[str, str]] = set()
    for block in cpuinfo.strip().split("\n\n"):
        fields = dict(
            (key.strip(), value.strip())
            for key, sep, value in (line.partition(":") for line in block.splitlines())
            if sep
        )
        if "processor" not in fields or (allowed and int(fields["processor"]) not in allowed):
            continue
        # without core ids (some VMs, other architectures) each logical CPU counts as a core
        cores.add((fields.get("physical id", "0"), fields.get("core id", fields["processor"])))
    count = len(cores) or len(allowed) or os.cpu_count() or 1
    quota = cgroup_cpu_limit(cpu_max)
    return max(1, min(count, quota) if quota else count)


def cgroup_cpu_limit(cpu_max: str | None = None) -> int | None:
    """CPUs a cgroup v2 quota allows (rounded up), or None when there is no quota."""
    if cpu_max is None:
        try:
            cpu_max = CGROUP_CPU_MAX_PATH.read_text()
        except OSError:
            return None
    quota, _, period = cpu_max.strip().partition(" ")
    try:
        return max(1, -(-int(quota) // int(period or "100000")))
    except ValueError:  # "max": no quota
        return None


def default_threads(cores: int | None = None) -> int:
    """Threads for torch when nobody said: the physical cores, one left free from 4 cores up."""
    cores = physical_cores() if cores is None else cores
    return cores - 1 if cores >= MIN_CORES_TO_SPARE_ONE else cores


def parse_threads(text: str, source: str) -> int:
    """A thread count from `source` (e.g. '$LATENT_WALK_THREADS'); ValueError names the source."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{source}={text!r}: expected a number of threads >= 1")
    return count


def configure_torch(requested: int | None = None) -> int:
    """Set torch's CPU threads to `requested` (None: as the environment said); logs the policy."""
    import torch

    if requested is not None:
        torch.set_num_threads(requested)
    count = torch.get_num_threads()
    wait = os.environ.get("OMP_WAIT_POLICY", "").upper()
    if wait == "PASSIVE":  # debug: a startup failure stays one line on stderr
        log.debug("CPU threads: %d for torch, OpenMP wait policy PASSIVE", count)
    else:  # the environment turned the policy off: say what that risks
        log.warning(
            "CPU threads: %d for torch, OpenMP wait policy %s: idle threads spin, so another "
            "busy program can freeze the show (unset OMP_WAIT_POLICY / %s to let the app choose)",
            count, wait or "unset (spin)", ENV_POLICY,
        )  # fmt: skip
    return count
