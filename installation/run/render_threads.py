"""The render threads: start one, watch it from the main thread, replace it after a failure.

Each render thread builds its renderer (the models load on it: all torch work stays on that one
thread), then runs a RenderLoop until stopped. The main thread calls RenderThreads.tick() every
display tick; the policy (hang deadlines, back-off, degrade steps, giving up) is the
RecoveryPlanner's (run/recovery.py). A hung thread cannot be killed: it is abandoned, and the
last good frame stays up while its replacement builds.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kernels.backend
from installation.display.presenter import QUIT, Presenter
from installation.errors import InstallationError
from installation.faults import FaultInjector, FaultyRenderer, parse_faults
from installation.render.frame import Frame
from installation.render.loop import BatchRenderer, LoopSettings, RenderLoop
from installation.run.presets_file import PresetsFile
from installation.run.recovery import (
    EXIT_TOO_MANY_RECOVERIES,
    Heartbeat,
    RecoveryPlanner,
    RecoveryPolicy,
    RenderChoices,
    thread_stack,
)
from installation.run.show_reload import Reloader
from installation.run.startup import Built, RunInfo
from installation.settings import AppSettings
from installation.walk.commands import Command

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 10.0  # a pass in progress cannot be interrupted; allow a slow one to finish
POLL_INTERVAL_S = 0.02  # the main thread handles window events at least this often


@dataclass
class Worker:
    """One render thread: its generation, heartbeat, and the loop it built."""

    generation: int
    heartbeat: Heartbeat
    thread: threading.Thread
    ready: queue.Queue[tuple[RenderLoop, RunInfo] | BaseException]
    loop: RenderLoop | None = None
    info: RunInfo | None = None
    reloader: Reloader | None = None  # the loop's hot reload
    resume_from: RenderLoop | None = None  # the replaced loop, dropped once taken over from


class RenderThreads:
    """Starts the render thread, watches it, and replaces it after a failure or a hang.

    The main thread calls tick() every display tick; the policy (deadlines, backoff, degrade
    steps, giving up) is the RecoveryPlanner's. `loop` is the loop the main thread follows: the
    newest one that has its first frame, so the last good frame stays up while a new one builds.
    """

    def __init__(
        self, settings: AppSettings, source: BatchRenderer | Callable[[AppSettings], Built],
        frames: queue.Queue[Frame], commands: queue.SimpleQueue[Command],
        loop_settings: LoopSettings, stopping: threading.Event, reloader: Reloader | None,
        info: RunInfo | None,
    ) -> None:  # fmt: skip
        self.settings, self.source, self.frames, self.commands = settings, source, frames, commands
        self.loop_settings, self.stopping = loop_settings, stopping
        self.reloader = reloader  # the followed loop's hot reload (a ready renderer: the caller's)
        self.info = info or RunInfo(kernels=kernels.backend.current())
        choices = RenderChoices(settings.max_batch, settings.resolved_precision,
                                kernels.backend.current(), loop_settings.fps)  # fmt: skip
        policy = RecoveryPolicy.from_settings(settings.hang_timeout_s, settings.max_recoveries)
        self.recovery = RecoveryPlanner(policy, choices)
        self.injector = None
        if settings.inject_faults:
            self.injector = FaultInjector(parse_faults(settings.inject_faults))
            log.warning("fault injection (testing): %s", settings.inject_faults)
        self.worker: Worker | None = None
        self.loop: RenderLoop = None  # type: ignore[assignment]  # set by follow() once built
        self.restart_at_s: float | None = None  # a restart waiting for its backoff
        self.is_exit = False  # too many recoveries

    def start(self, resume_from: RenderLoop | None = None) -> Worker:
        """Start a render thread (the next generation) that builds, then runs a RenderLoop."""
        generation = 0 if self.worker is None else self.worker.generation + 1
        worker = Worker(generation, Heartbeat(generation), threading.Thread(), queue.Queue(),
                        resume_from=resume_from)  # fmt: skip
        worker.thread = threading.Thread(target=self._main, args=(worker,),
                                         name=f"render-{generation}" if generation else "render",
                                         daemon=True)  # fmt: skip  # a hung one must not block exit
        self.worker = worker
        worker.thread.start()
        return worker

    def follow(self, worker: Worker) -> None:
        """Follow `worker`'s loop from now on (it has built and renders)."""
        assert worker.loop is not None
        self.loop, self.info, self.reloader = worker.loop, worker.info or self.info, worker.reloader

    def _main(self, worker: Worker) -> None:
        """The render thread: build, then loop until stopped, done or abandoned.

        The replaced loop is let go once its state is taken over, so its renderer (models,
        latents) is freed instead of living as long as this thread.
        """
        worker.heartbeat.thread_id = threading.get_ident()
        try:
            renderer, reloader, info = self._build(worker.generation)
        except BaseException as err:  # startup: the main thread raises it; later: a recovery
            if worker.generation == 0:
                worker.ready.put(err)
            else:
                worker.heartbeat.crashed(err)
            return
        choices = self.recovery.choices
        loop_settings = dataclasses.replace(  # start_s: a restarted show's time carried on
            self.loop_settings, max_batch=choices.max_batch, fps=choices.render_fps,
            start_s=self.settings.start_now_s(),
        )  # fmt: skip
        loop = RenderLoop(renderer, self.frames, self.commands, loop_settings,
                          time.perf_counter, reloader, heartbeat=worker.heartbeat,
                          resume_from=worker.resume_from, presets=PresetsFile())  # fmt: skip
        worker.resume_from = None
        worker.info, worker.reloader = info, reloader  # before .loop: the main thread takes
        worker.loop = loop  # them once .loop is set
        worker.ready.put((loop, info))
        loop.run(self.stopping)

    def _build(self, generation: int) -> Built:
        """The renderer for this generation, with the degrade ladder's choices applied."""
        choices = self.recovery.choices
        if hasattr(self.source, "render_batch"):  # a ready renderer: reused; precision is set
            renderer: Any = self.source
            if generation > 0:
                for generator in getattr(renderer, "generators", {}).values():
                    generator.set_precision(choices.precision)
            built: Built = (renderer, self.reloader, self.info)
        else:
            if choices.kernels != kernels.backend.current():
                kernels.backend.select(choices.kernels)  # type: ignore[arg-type]
            # the show playing now (a /show/load or a reload may have changed it), not argv's
            reloader = self.reloader
            build_settings = dataclasses.replace(
                self.settings, max_batch=choices.max_batch, precision=choices.precision,
                show_path=reloader.path if reloader is not None else self.settings.show_path,
            )  # type: ignore[arg-type]  # fmt: skip
            if reloader is None:
                built = self.source(build_settings)  # type: ignore[operator]
            else:  # the show playing, already checked: not read from its file again
                built = self.source(build_settings, reloader.accepted)  # type: ignore[operator]
        renderer, reloader, info = built
        if generation > 0:
            info = dataclasses.replace(info, precision=choices.precision,
                                       kernels=kernels.backend.current())  # fmt: skip
        if self.injector is not None:
            renderer = FaultyRenderer(renderer, self.injector)
        return renderer, reloader, info

    def tick(self) -> None:
        """Main thread, every tick: follow a new loop once it renders; replace a failed one."""
        worker = self.worker
        assert worker is not None
        if worker.loop is not None and worker.loop is not self.loop and worker.loop.clock:
            self.follow(worker)  # the new thread has its first frame
            self.recovery.running()
            log.warning("render thread %d took over at show_time_s=%.3f", worker.generation,
                        worker.loop.clock.anchor_show_s)  # fmt: skip
        if self.restart_at_s is not None:
            if time.perf_counter() >= self.restart_at_s and not self.stopping.is_set():
                self.restart_at_s = None
                self.start(resume_from=self.loop)
        elif not self.is_exit:
            reason = self.recovery.failure(worker.heartbeat, worker.thread.is_alive())
            if reason is not None:
                self._recover(worker, reason)

    def recovery_line(self) -> str | None:
        """The overlay's line about recoveries and degrade steps; None before the first one."""
        summary = self.recovery.summary()
        if summary["recoveries"] == 0:
            return None
        return (f"{summary['supervision']}  recoveries {summary['recoveries']}  degrade "
                f"{summary['degrade_level']} {summary['degrade_steps']}").rstrip()  # fmt: skip

    def _recover(self, worker: Worker, reason: str) -> None:
        """Give the thread up (logging why, with its traceback or stack) and plan a new one."""
        heartbeat = worker.heartbeat
        heartbeat.is_abandoned = True  # if it ever wakes, it puts no frames and ends
        detail = thread_stack(heartbeat.thread_id) if reason.startswith("hang") else (
            heartbeat.last_error
        )  # fmt: skip
        decision = self.recovery.recover(reason)
        log.error("render thread %d failed: %s; recovery %d; the last good frame stays up\n%s",
                  worker.generation, reason, self.recovery.recoveries, detail)  # fmt: skip
        if decision.is_exit:
            policy = self.recovery.policy
            log.error("too many recoveries (%d within %g s): exiting with status %d so the "
                      "process is restarted", policy.recovery_limit, policy.recovery_window_s,
                      EXIT_TOO_MANY_RECOVERIES)  # fmt: skip
            self.is_exit = True
            return
        if decision.degrade is not None:
            log.warning("degrade level %d: %s (after %d recoveries in a row; last: %s)",
                        self.recovery.degrade_level, decision.degrade,
                        self.recovery.streak, reason)  # fmt: skip
        log.warning("render thread restarts in %g s", decision.delay_s)
        self.restart_at_s = time.perf_counter() + decision.delay_s

    def check_loading(self) -> None:
        """While the first render thread loads the models: raise if it hangs (past 300 s).

        Raises:
            InstallationError: the load hung; the stuck thread's stack is logged.
        """
        worker = self.worker
        assert worker is not None
        reason = self.recovery.failure(worker.heartbeat, worker.thread.is_alive())
        if reason is None:
            return
        worker.heartbeat.is_abandoned = True
        log.error("render thread hung while loading: %s\n%s", reason,
                  thread_stack(worker.heartbeat.thread_id))  # fmt: skip
        raise InstallationError(f"loading the show's models: {reason}")

    def is_running(self) -> bool:
        """False once the render thread has ended for good (--frames done, stopped)."""
        worker = self.worker
        return self.restart_at_s is not None or (worker is not None and worker.thread.is_alive())

    def join(self) -> None:
        """Wait for the current render thread (abandoned ones are daemons, left behind)."""
        worker = self.worker
        if worker is None or worker.heartbeat.is_abandoned:
            return
        worker.thread.join(JOIN_TIMEOUT_S)
        if worker.thread.is_alive():
            log.warning("thread did not stop name=%s timeout_s=%g", worker.thread.name,
                        JOIN_TIMEOUT_S)  # fmt: skip


def wait_until_built(
    ready: queue.Queue[tuple[RenderLoop, RunInfo] | BaseException], presenter: Presenter,
    threads: RenderThreads | None = None, on_wait: Callable[[], None] | None = None,
) -> tuple[RenderLoop, RunInfo] | None:
    """Keep the window responsive while the render thread loads; None when quit meanwhile.

    `on_wait` runs every poll (the status file and the liveness beat say `loading`).

    Raises:
        InstallationError: the load hung past the startup allowance (the process exits non-zero
            and an outer supervisor restarts it).
    """
    while True:
        if on_wait is not None:
            on_wait()
        try:
            item = ready.get(timeout=POLL_INTERVAL_S)
        except queue.Empty:
            if QUIT in presenter.poll():
                log.info("quit requested while loading")
                return None
            if threads is not None:
                threads.check_loading()
            continue
        if isinstance(item, BaseException):
            raise item
        return item
