"""Render-thread recovery: heartbeat, hang deadline, backoff, degrade ladder.

Pure policy with an injected wall clock; it starts no threads (run/render_threads.py does). The
render thread beats its Heartbeat (what it does, since when); the main thread asks the
RecoveryPlanner each tick whether that thread needs replacing (a hang, failed passes in a row, a
crash), and on a recovery the planner says how long to back off, which degrade step to take,
or that the process should exit with EXIT_TOO_MANY_RECOVERIES so an outer keeper (systemd,
--supervise) restarts it.

A hung Python thread cannot be killed: it is abandoned (Heartbeat.is_abandoned); if it ever
wakes it puts no frames and ends. Each render thread has its own Heartbeat (its generation).
"""

from __future__ import annotations

import datetime
import logging
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

from installation.run.backoff import backoff_s

log = logging.getLogger(__name__)

HANG_MIN_S = 20.0  # no beat for this long (at least) is a hang
HANG_PASS_FACTOR = 10.0  # ... or this many times the slowest measured pass, if longer
STARTUP_ALLOWANCE_S = 300.0  # model build, first frame, a show reload: loading may be slow
FAILED_PASSES_LIMIT = 3  # failed passes in a row that call for a new render thread
BACKOFF_FIRST_S = 1.0  # wait before the first restart; doubles with each further one
BACKOFF_MAX_S = 60.0
# A recovery this long after the previous one starts a new streak (backoff 1 s, no degrade):
# a crash loop keeps its streak, an isolated fault every few minutes does not freeze the picture
# for a minute (the 30-min soak with a fault every 3 min climbed to 60 s waits at 10 min)
HEALTHY_RESET_S = 120.0
RECOVERY_LIMIT = 10  # this many recoveries within RECOVERY_WINDOW_S: exit the process
RECOVERY_WINDOW_S = 600.0
DEGRADE_AFTER = 2  # recoveries in a streak before the first degrade step
# Exit status after too many recoveries (EX_TEMPFAIL: "try again later"); an outer supervisor
# restarts the whole process (a fresh CUDA context, fresh memory).
EXIT_TOO_MANY_RECOVERIES = 75
SLOW_ACTIVITIES = ("build", "first frame", "reload")  # deadline: STARTUP_ALLOWANCE_S

# Degrade steps, in the order they are taken. There is no "lower resolution" step: a generator's
# output size is fixed by its weights, and resampling afterwards saves nothing. The step that does
# what a lower resolution would do for the load is rendering fewer frames ("fps": half the render
# rate; the presenter blends or holds frames in between).
DEGRADE_STEPS = ("batch", "precision", "kernels", "fps")
MIN_RENDER_FPS = 5.0  # the fps step never goes below this


class Heartbeat:
    """One render thread's liveness: written by that thread, read by the main thread.

    Single attribute writes and reads are atomic under the GIL; no lock is needed.
    """

    def __init__(self, generation: int, wall_clock: Callable[[], float] = time.perf_counter):
        self.generation = generation
        self.wall_clock = wall_clock
        self.activity = "build"  # build, first frame, pass, wait, reload, retry
        self.last_beat_s = wall_clock()
        self.slowest_pass_s = 0.0  # slowest measured (successful) pass
        self.failed_in_row = 0
        self.last_error = ""  # traceback text of the last failure
        self.is_crashed = False  # the thread ended on an error outside a pass
        self.is_abandoned = False  # set by the main thread: end without putting frames
        self.thread_id: int | None = None

    def beat(self, activity: str) -> None:
        """The thread is alive and starts `activity` now."""
        self.activity = activity
        self.last_beat_s = self.wall_clock()

    def pass_done(self, pass_s: float, is_measured: bool = True) -> None:
        """A pass rendered its frames in pass_s seconds."""
        self.failed_in_row = 0
        if is_measured:
            self.slowest_pass_s = max(self.slowest_pass_s, pass_s)
        self.beat("wait")

    def pass_failed(self, error: BaseException) -> None:
        """A pass raised `error` (its traceback is kept for the recovery's log line)."""
        self.failed_in_row += 1
        self.last_error = "".join(traceback.format_exception(error)).rstrip()
        if is_out_of_memory(error):
            free_cuda_cache()
        self.beat("retry")

    def crashed(self, error: BaseException) -> None:
        """The thread ends on `error` outside a pass (or its build failed)."""
        self.last_error = "".join(traceback.format_exception(error)).rstrip()
        self.is_crashed = True


@dataclass(frozen=True)
class RecoveryPolicy:
    """The numbers of supervision; `from_settings` fills them from the module's constants."""

    hang_min_s: float = HANG_MIN_S
    hang_pass_factor: float = HANG_PASS_FACTOR
    startup_allowance_s: float = STARTUP_ALLOWANCE_S
    failed_passes_limit: int = FAILED_PASSES_LIMIT
    backoff_first_s: float = BACKOFF_FIRST_S
    backoff_max_s: float = BACKOFF_MAX_S
    healthy_reset_s: float = HEALTHY_RESET_S
    recovery_limit: int = RECOVERY_LIMIT
    recovery_window_s: float = RECOVERY_WINDOW_S
    degrade_after: int = DEGRADE_AFTER

    @classmethod
    def from_settings(cls, hang_timeout_s: float | None,
                      recovery_limit: int | None) -> RecoveryPolicy:  # fmt: skip
        """The constants as they are now (tests patch them), with the command line's overrides.

        A --hang-timeout is the deadline itself (not scaled by the slowest pass).
        """
        return cls(
            hang_min_s=HANG_MIN_S if hang_timeout_s is None else hang_timeout_s,
            hang_pass_factor=HANG_PASS_FACTOR if hang_timeout_s is None else 0.0,
            startup_allowance_s=STARTUP_ALLOWANCE_S,
            failed_passes_limit=FAILED_PASSES_LIMIT, backoff_first_s=BACKOFF_FIRST_S,
            backoff_max_s=BACKOFF_MAX_S, healthy_reset_s=HEALTHY_RESET_S,
            recovery_limit=RECOVERY_LIMIT if recovery_limit is None else recovery_limit,
            recovery_window_s=RECOVERY_WINDOW_S, degrade_after=DEGRADE_AFTER,
        )  # fmt: skip

    def hang_deadline_s(self, activity: str, slowest_pass_s: float) -> float:
        """Seconds without a beat that count as a hang while the thread does `activity`."""
        deadline_s = max(self.hang_min_s, self.hang_pass_factor * slowest_pass_s)
        if activity in SLOW_ACTIVITIES:
            return max(deadline_s, self.startup_allowance_s)
        return deadline_s

    def backoff_s(self, streak: int) -> float:
        """Wait before the `streak`-th restart in a row (1-based): 1, 2, 4 ... up to the max."""
        return backoff_s(streak, self.backoff_first_s, self.backoff_max_s)


@dataclass(frozen=True)
class RenderChoices:
    """What the degrade ladder can change about rendering."""

    max_batch: int
    precision: str  # fast / exact
    kernels: str  # the backend in use: cuda / torch / reference
    render_fps: float  # the rate frames are rendered at (the display's fps at first)


def ladder(choices: RenderChoices, taken: Collection[str] = ()) -> list[str]:
    """The degrade steps not `taken` yet that change something, in order (CPU: no kernels)."""
    steps = []
    if choices.max_batch > 1:
        steps.append("batch")
    steps.append("precision")  # fast <-> exact: another code path (and less memory one way)
    if choices.kernels == "cuda":
        steps.append("kernels")
    if choices.render_fps / 2 >= MIN_RENDER_FPS:
        steps.append("fps")
    return [step for step in steps if step not in taken]


def degraded(choices: RenderChoices, step: str) -> tuple[RenderChoices, str]:
    """(choices after `step`, a description like 'batch 8 -> 1')."""
    if step == "batch":
        return replace(choices, max_batch=1), f"batch {choices.max_batch} -> 1"
    if step == "precision":
        other = "exact" if choices.precision == "fast" else "fast"
        return replace(choices, precision=other), f"precision {choices.precision} -> {other}"
    if step == "kernels":
        return replace(choices, kernels="reference"), f"kernels {choices.kernels} -> reference"
    if step == "fps":
        fps = choices.render_fps / 2
        return replace(choices, render_fps=fps), f"render fps {choices.render_fps:g} -> {fps:g}"
    raise ValueError(f"unknown degrade step {step!r}; expected one of {DEGRADE_STEPS}")


@dataclass(frozen=True)
class Recovery:
    """What the RecoveryPlanner decided about one failure."""

    reason: str
    delay_s: float  # back off this long before starting the new render thread
    degrade: str | None  # the step taken now ('batch 8 -> 1'), or None
    is_exit: bool  # too many recoveries: exit the process instead


@dataclass
class RecoveryPlanner:
    """Counts recoveries and decides backoff, degrade steps and giving up (main thread)."""

    policy: RecoveryPolicy
    choices: RenderChoices
    wall_clock: Callable[[], float] = time.perf_counter
    recoveries: int = 0
    streak: int = 0  # recoveries since the last healthy period
    degrade_level: int = 0
    degrade_steps: list[str] = field(default_factory=list)  # descriptions, in order
    taken: set[str] = field(default_factory=set)  # DEGRADE_STEPS names taken (each once)
    state: str = "ok"  # ok / recovering
    last_reason: str | None = None
    last_time: str | None = None  # local ISO time of the last recovery
    last_recovery_s: float = -float("inf")
    times_s: deque[float] = field(default_factory=deque)

    def failure(self, heartbeat: Heartbeat, is_alive: bool) -> str | None:
        """Why the render thread needs replacing now ('hang ...', 'failed passes', ...), or None."""
        if heartbeat.is_crashed:
            return "render thread crashed"
        if heartbeat.failed_in_row >= self.policy.failed_passes_limit:
            return f"{heartbeat.failed_in_row} failed passes in a row"
        if not is_alive:
            return None
        silent_s = self.wall_clock() - heartbeat.last_beat_s
        deadline_s = self.policy.hang_deadline_s(heartbeat.activity, heartbeat.slowest_pass_s)
        if silent_s > deadline_s:
            return f"hang: no heartbeat for {silent_s:.1f} s during {heartbeat.activity} " \
                f"(deadline {deadline_s:g} s)"  # fmt: skip
        return None

    def recover(self, reason: str) -> Recovery:
        """Count a recovery; decide backoff, degrade step, or exit."""
        now_s = self.wall_clock()
        if now_s - self.last_recovery_s >= self.policy.healthy_reset_s:
            self.streak = 0
        self.recoveries += 1
        self.streak += 1
        self.last_reason, self.last_recovery_s, self.state = reason, now_s, "recovering"
        self.last_time = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self.times_s.append(now_s)
        while self.times_s and self.times_s[0] < now_s - self.policy.recovery_window_s:
            self.times_s.popleft()
        if len(self.times_s) >= self.policy.recovery_limit:
            return Recovery(reason, 0.0, None, is_exit=True)
        step = None
        steps = ladder(self.choices, self.taken)
        if self.streak > self.policy.degrade_after and steps:
            self.taken.add(steps[0])
            self.choices, step = degraded(self.choices, steps[0])
            self.degrade_level += 1
            self.degrade_steps.append(step)
        return Recovery(reason, self.policy.backoff_s(self.streak), step, is_exit=False)

    def running(self) -> None:
        """The new render thread has its first frame: back to normal (maybe degraded)."""
        self.state = "ok"

    def summary(self) -> dict[str, Any]:
        """The counters for the status file, /status and --stats-json."""
        return {
            "supervision": self.state if self.degrade_level == 0 or self.state != "ok"
            else "degraded",
            "recoveries": self.recoveries,
            "last_recovery_reason": self.last_reason,
            "last_recovery_time": self.last_time,
            "degrade_level": self.degrade_level,
            "degrade_steps": ", ".join(self.degrade_steps),
        }  # fmt: skip


def thread_stack(thread_id: int | None) -> str:
    """The current stack of the thread with this id (a hung render thread), as text."""
    frame = sys._current_frames().get(thread_id) if thread_id is not None else None
    if frame is None:
        return "(the thread has ended)"
    return "".join(traceback.format_stack(frame)).rstrip()


def is_out_of_memory(error: BaseException) -> bool:
    """True for torch's CUDA out-of-memory error."""
    torch = sys.modules.get("torch")
    oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    return oom is not None and isinstance(error, oom)


def free_cuda_cache() -> None:
    """Give cached CUDA memory back after an out-of-memory failure (no-op without CUDA)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
        log.warning("CUDA out of memory: cached memory released")
