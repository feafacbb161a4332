"""The app: builds the pieces, runs the render thread and the present loop, stops them.

One frame's way: show file -> keyframe latents of every section (once, resolve_show) ->
RenderLoop (render thread: commands, schedule, Timeline.at(t) -> ws -> G.synthesis) -> Frame ->
frames queue -> FramePacer (main thread: which frame at this display tick) -> presenter.
`--out` renders the same timeline through the same ShowRenderer into a video file instead.
A single `stopping` event ends both threads (STYLE.md §8).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import kernels.backend
from installation.control.mailbox import CommandQueue
from installation.device import resolve_device
from installation.display.offscreen import OffscreenPresenter
from installation.display.pacing import FramePacer, PaceCounters, Pick
from installation.display.presenter import (
    NEXT_SECTION,
    PAUSE,
    PREV_SECTION,
    QUIT,
    RELOAD,
    TOGGLE_OVERLAY,
    Presenter,
)
from installation.display.window import WindowPresenter, require_display
from installation.errors import InstallationError
from installation.faults import FaultInjector, FaultyRenderer, parse_faults
from installation.render.frame import Frame
from installation.render.loop import BatchRenderer, LoopSettings, RenderLoop, RenderStats
from installation.run.offline import render_offline
from installation.run.recovery import (
    EXIT_TOO_MANY_RECOVERIES,
    Heartbeat,
    RecoveryPolicy,
    RenderChoices,
    Supervisor,
    thread_stack,
)
from installation.run.startup import (  # noqa: F401 - check_device, Reloader: part of app's API
    Built,
    Reloader,
    RunInfo,
    build_renderer,
    check_device,
    load_startup,
    try_reload,
)
from installation.run.stats import (
    Beacon,
    cuda_peak_mb,
    log_summary,
    peak_rss_mb,
    release_memory,
    report_status,
    rss_mb,
    starting_status,
    write_stats,
)
from installation.settings import (
    FALLBACK_REFRESH_HZ,
    HEADLESS_FPS,
    OSC_DEFAULT_ALLOW,
    OSC_DEFAULT_HEARTBEAT_S,
    OSC_DEFAULT_HOST,
    AppSettings,
)
from installation.show.schema import OscSettings, Show
from installation.walk.commands import (
    Command,
    HoldSection,
    JumpSection,
    ReloadShow,
    SetPaused,
    TogglePause,
)
from installation.walk.hours import fade_level
from installation.walk.steering import describe_steerable, refusal

log = logging.getLogger(__name__)

FRAMES_QUEUE_SIZE = 2  # STYLE.md §8: bounded, the newest frame wins (plus one lookahead batch)
JOIN_TIMEOUT_S = 10.0  # a pass in progress cannot be interrupted; allow a slow one to finish
POLL_INTERVAL_S = 0.02  # the main thread handles window events at least this often
SUMMARY_INTERVAL_S = 60.0  # STYLE.md §9: an fps/dropped-frame summary every minute
OVERLAY_INTERVAL_S = 0.25  # overlay text refresh
STATUS_FILE_INTERVAL_S = 2.0  # --status-file rewrite period
OPENING_FADE_S = 10.0  # the picture fades in at opening time and out before closing time
VSYNC_MARGIN_S = 0.002  # wake this much before the next vertical blank to prepare the frame
KEY_COMMANDS: dict[str, Command] = {
    PAUSE: TogglePause(),
    NEXT_SECTION: JumpSection(+1),
    PREV_SECTION: JumpSection(-1),
    RELOAD: ReloadShow(),
}


def run(settings: AppSettings) -> int:
    """Play the show until quit, --frames or --duration (or render it with --out).

    Returns the process exit code.

    Raises:
        InstallationError: a startup failure (show, model, display), with a one-line message.
    """
    if settings.is_offline:
        return render_offline(dataclasses.replace(settings, device=resolve_device(settings.device)))
    if not settings.is_headless:
        require_display()
    show = load_startup(settings)  # checks the device (auto included) first
    settings = dataclasses.replace(settings, device=resolve_device(settings.device))
    commands = CommandQueue()  # merges what waits: no backlog from a storm of messages
    board = StatusBoard()
    board.info = RunInfo(show=str(settings.show_path))
    osc = start_osc(settings, commands, board, show)
    try:
        presenter = open_presenter(settings)
        try:
            # the models load on the render thread: all torch work stays on that one thread;
            # after a recovery they load again for the show playing then (the last one a reload
            # accepted), which is not read from its file again: that may be broken by now
            def build(build_settings: AppSettings, playing: Show | None = None) -> Built:
                return build_renderer(build_settings, playing or show)

            return play(settings, build, presenter, commands=commands, board=board)
        finally:
            presenter.close()
    finally:
        if osc is not None:
            osc.stop()


def osc_options(settings: AppSettings, show: Show | None) -> dict[str, Any] | None:
    """OscControl's options: the command line, else the show's `show.osc`, else the defaults.

    None when neither gives a port (no OSC server).
    """
    osc = show.settings.osc if show is not None else OscSettings()
    port = settings.osc_port if settings.osc_port is not None else osc.port
    if port is None:
        return None
    heartbeat_s = osc.heartbeat_s
    return {
        "host": settings.osc_host or osc.host or OSC_DEFAULT_HOST,
        "port": port,
        "allow": settings.osc_allow or osc.allow or OSC_DEFAULT_ALLOW,
        "feedback_target": settings.osc_feedback or osc.feedback,
        "heartbeat_s": OSC_DEFAULT_HEARTBEAT_S if heartbeat_s is None else heartbeat_s,
    }


def start_osc(
    settings: AppSettings,
    commands: queue.SimpleQueue[Command],
    board: StatusBoard,
    show: Show | None = None,
) -> Any:
    """The OSC server on its own thread, or None without --osc-port.

    Raises:
        ControlError: the port is taken (or the host cannot be bound).
    """
    options = osc_options(settings, show)
    if options is None:
        return None
    from installation.control.osc import OscControl  # only when OSC is asked for

    osc = OscControl(commands=commands, status=board.status, refusal=board.refusal, **options)
    osc.start()  # logs where it listens and what it allows
    return osc


class StatusBoard:
    """The running show's state for OSC feedback; play() attaches the parts, others read them.

    Reads only: single attribute reads and dict copies are atomic under the GIL, so the OSC
    thread can call status() while the render and main threads run.
    """

    def __init__(self) -> None:
        self.loop: RenderLoop | None = None
        self.pacer: FramePacer | None = None
        self.state: PresentState | None = None
        self.info = RunInfo()
        self.supervisor: Supervisor | None = None

    def attach(
        self, loop: RenderLoop, pacer: FramePacer, state: PresentState, info: RunInfo
    ) -> None:
        """Called by play() once the render thread has built the renderer."""
        self.loop, self.pacer, self.state, self.info = loop, pacer, state, info

    def status(self) -> dict[str, float | int | str | bool]:
        """Section, show time, pause, speed, rates, model, level and the live values."""
        loop, pacer, state = self.loop, self.pacer, self.state
        clock = loop.clock if loop is not None else None
        supervision = self.supervisor.summary() if self.supervisor is not None else {}
        if loop is None or pacer is None or state is None or clock is None:
            return {"state": "loading", "loading": True, "show": Path(self.info.show).stem,
                    **supervision}  # fmt: skip
        now_s = time.perf_counter()
        show_s = clock.show_time_s(now_s)
        section_index, section_name = loop.section_index_at(show_s)
        elapsed_s = max(now_s - state.started_s, 1e-9)
        current = pacer.current
        reloader_path = getattr(loop.reloader, "path", None)  # follows /show/load and reloads
        status: dict[str, float | int | str | bool] = {
            "state": "playing",
            "show": Path(reloader_path or self.info.show).stem,
            "section": section_name,
            "section_index": section_index,
            "show_time_s": round(show_s, 3),
            "paused": clock.is_paused,
            "speed": clock.rate,
            "level": loop.fade.level_at(now_s),
            "fps": round(pacer.counters.shown / elapsed_s, 2),
            "generated_fps": round(loop.stats.generated / elapsed_s, 2),
            "model": current.model_name if current is not None else self.info.models,
            "kernels": self.info.kernels,
        }
        status["steerable"] = describe_steerable(loop.section_at(show_s))
        for name, (value, weight) in loop.live.at(now_s).items():
            status[f"live/{name}"] = round(value, 4)
            status[f"live/{name}/weight"] = round(weight, 3)
        status.update({k: v for k, v in supervision.items() if v is not None})
        return status

    def refusal(self, command: Command) -> str | None:
        """Why the section playing now would not take `command` (OSC replies /status/refused)."""
        loop = self.loop
        clock = loop.clock if loop is not None else None
        if loop is None or clock is None:
            return None
        section = loop.section_at(clock.show_time_s(time.perf_counter()))
        return refusal(command, section, loop.renderer.timeline.show)


def opening_level(
    loop: RenderLoop, commands: queue.SimpleQueue[Command], state: PresentState
) -> float:
    """The show's opening hours as a picture level (fading at the edges); pauses when closed.

    Outside the hours the render thread is paused (the machine idles) and the picture is black
    (`outside: black`) or the last frame stays (`hold`); `outside: <section>` plays that section
    over and over, and at opening the show goes on from where it was at closing.
    """
    show = getattr(getattr(loop.renderer, "timeline", None), "show", None)  # the newest show
    hours = getattr(getattr(show, "settings", None), "opening_hours", None)
    if hours is None:
        return 1.0
    level = fade_level(hours, local_now(), OPENING_FADE_S)
    is_open = level > 0.0
    if is_open != state.is_open:
        state.is_open = is_open
        if hours.outside in ("black", "hold"):
            commands.put(SetPaused(not is_open))
        else:
            commands.put(HoldSection(None if is_open else hours.outside))
        log.info("opening hours: %s (outside: %s)", "open" if is_open else "closed",
                 hours.outside)  # fmt: skip
    return level if hours.outside == "black" else 1.0


def local_now() -> datetime.datetime:
    """Local wall-clock time, naive (opening hours are wall-clock times; tests replace this)."""
    return datetime.datetime.now()


def write_status(
    path: Path,
    board: StatusBoard,
    state: PresentState,
    pacer: FramePacer,
    loop: RenderLoop,
    is_running: bool = True,
) -> None:
    """Rewrite the --status-file: the board's status plus process health (main thread)."""
    now_s = time.perf_counter()
    record: dict[str, Any] = {
        "pid": os.getpid(),
        "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "running": is_running,
        "exit": None if is_running else state.quit_reason,
        "uptime_s": round(now_s - state.started_s, 1),
        "frames_shown": pacer.counters.shown,
        "frames_generated": loop.stats.generated,
        "frames_failed": loop.stats.failed,
        "commands_failed": loop.stats.failed_commands,
        "longest_frame_gap_s": round(state.longest_gap_s, 2),
        "last_frame_age_s": None if state.last_present_s is None
        else round(now_s - state.last_present_s, 2),
        "rss_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        **board.status(),
    }  # fmt: skip
    if not is_running:
        record["state"] = "stopped"
    report_status(path, record)


class Reporter:
    """What the running show reports about itself, from the main thread: the --status-file
    (every 2 s) and the liveness beat to a --supervise parent (every 1 s; needs no disk)."""

    def __init__(self, status_file: Path | None, beacon: Beacon | None = None) -> None:
        self.status_file = status_file
        self.beacon = beacon or Beacon.from_environment()
        self.next_status_s = 0.0
        self.is_playing_reported = False  # the first playing tick writes at once (state change)

    def loading(self, board: StatusBoard) -> None:
        """While the models load: state `loading`, so a slow first start is seen as alive."""
        self.beacon.beat({"state": "loading"})
        now_s = time.perf_counter()
        if self.status_file is not None and now_s >= self.next_status_s:
            self.next_status_s = now_s + STATUS_FILE_INTERVAL_S
            record = {**starting_status("loading", board.info.show), **board.status()}
            report_status(self.status_file, record)

    def playing(self, board: StatusBoard, state: PresentState, pacer: FramePacer,
                loop: RenderLoop, now_s: float) -> None:  # fmt: skip
        """Every display tick: beat with the show time and frames; the status file when due."""
        clock = loop.clock
        if clock is not None:
            self.beacon.beat({
                "state": "playing", "frames_shown": pacer.counters.shown,
                "show_time_s": round(clock.show_time_s(now_s), 3), "paused": clock.is_paused,
                "speed": clock.rate,
            })  # fmt: skip
        is_due = now_s >= self.next_status_s or not self.is_playing_reported
        if self.status_file is not None and is_due:
            write_status(self.status_file, board, state, pacer, loop)
            self.next_status_s = now_s + STATUS_FILE_INTERVAL_S
            self.is_playing_reported = True


def open_presenter(settings: AppSettings) -> Presenter:
    """An offscreen EGL presenter for --headless, otherwise the pygame window."""
    if settings.is_headless:
        return OffscreenPresenter(settings.output_size_px, fit=settings.fit)
    return WindowPresenter(
        settings.display_index, settings.is_windowed, settings.output_size_px,
        fit=settings.fit, is_kiosk=settings.is_kiosk,
    )  # fmt: skip


def display_fps(settings: AppSettings, presenter: Presenter) -> float:
    """--fps, else the monitor's refresh (FALLBACK_REFRESH_HZ when unknown; headless: 30)."""
    if settings.fps is not None:
        return settings.fps
    if settings.is_headless:
        return HEADLESS_FPS
    refresh_hz = getattr(presenter, "refresh_hz", None)
    if refresh_hz:
        return float(refresh_hz)
    log.info("monitor refresh unknown; fps=%g", FALLBACK_REFRESH_HZ)
    return FALLBACK_REFRESH_HZ


@dataclass
class PresentState:
    """The main thread's own counts and the overlay switch."""

    started_s: float
    draws: int = 0  # presenter.present calls (new frame, new blend or new overlay)
    is_overlay_on: bool = False
    last_overlay_s: float = -math.inf
    overlay_lines: list[str] | None = None  # what the presenter shows now
    level: float = 1.0  # picture level the presenter draws with
    last_present_s: float | None = None  # perf_counter time of the last draw
    is_open: bool = True  # within the show's opening hours (as last acted on)
    played_s: float = 0.0  # show time played (for --duration): jumps and seeks do not count
    last_show_s: float | None = None
    last_epoch: int = 0
    supervision_line: str | None = None  # overlay: recoveries and degrade steps, once any
    shown_count: int = 0  # frames shown as of the last tick
    last_new_frame_s: float | None = None  # perf_counter time a new frame was first shown
    longest_gap_s: float = 0.0  # longest wait for a new frame (while not paused)

    def count_gap(self, shown: int, now_s: float, is_paused: bool) -> None:
        """Track the longest time between newly shown frames (a pause restarts the wait)."""
        if is_paused or shown != self.shown_count or self.last_new_frame_s is None:
            if shown != self.shown_count and self.last_new_frame_s is not None and not is_paused:
                self.longest_gap_s = max(self.longest_gap_s, now_s - self.last_new_frame_s)
            self.shown_count, self.last_new_frame_s = shown, now_s

    def count_played(self, show_s: float, epoch: int) -> None:
        """Add the show time that passed since the last tick, unless the clock jumped."""
        if self.last_show_s is not None and epoch == self.last_epoch:
            self.played_s += max(0.0, show_s - self.last_show_s)
        self.last_show_s, self.last_epoch = show_s, epoch

    quit_reason: str = "end"


def play(
    settings: AppSettings,
    source: BatchRenderer | Callable[[AppSettings], Built],
    presenter: Presenter,
    reloader: Reloader | None = None,
    info: RunInfo | None = None,
    commands: queue.SimpleQueue[Command] | None = None,
    board: StatusBoard | None = None,
) -> int:
    """Run the render thread and the present loop until a stop condition; log the summary.

    `source` is a ready renderer, or a function that builds (renderer, reloader, info) from the
    settings; it runs on the render thread, so the models load and run on one thread (torch's
    OpenMP workers are per calling thread: a second team made generation ~30 % slower here).
    A failed or hung render thread is replaced (RenderThreads); after too many recoveries this
    returns EXIT_TOO_MANY_RECOVERIES.

    Raises:
        InstallationError: the build failed (model, latents); the message says why.
    """
    fps = display_fps(settings, presenter)
    frames: queue.Queue[Frame] = queue.Queue(
        maxsize=max(FRAMES_QUEUE_SIZE, 2 * settings.max_batch + 2)
    )
    loop_settings = LoopSettings(
        fps=fps, max_batch=settings.max_batch, latency_budget_s=settings.latency_budget_s,
        is_blending=settings.is_blending, start_s=settings.start_s,
        max_frames=settings.max_frames,
    )  # fmt: skip
    stopping = threading.Event()
    threads = RenderThreads(settings, source, frames, commands or CommandQueue(),
                            loop_settings, stopping, reloader, info)  # fmt: skip
    board = board or StatusBoard()
    reporter = Reporter(settings.status_file)
    try:  # (no local for the first Worker: it would keep its loop and models for the whole run)
        started = wait_until_built(threads.start().ready, presenter, threads,
                                   on_wait=lambda: reporter.loading(board))  # fmt: skip
    except BaseException:
        stopping.set()
        threads.join()  # not a hung one
        raise
    if started is None:  # quit while loading
        stopping.set()
        threads.join()
        return 0
    threads.loop, info = started
    threads.info = info
    pacer = FramePacer(settings.is_blending)
    state = PresentState(started_s=time.perf_counter())
    board.attach(threads.loop, pacer, state, info)
    board.supervisor = threads.supervisor
    log.info("show started fps=%g blend=%s batch_max=%d latency_ms=%g start_s=%g frames=%s "
             "duration_s=%s", fps, settings.is_blending, settings.max_batch,
             settings.latency_budget_s * 1000, settings.start_s, settings.max_frames,
             settings.max_duration_s)  # fmt: skip
    try:
        present_loop(settings, presenter, frames, threads, pacer, state, fps, stopping, board,
                     reporter)  # fmt: skip
    finally:
        stopping.set()
        threads.join()
    return finish(settings, threads, pacer, state, fps, board)


def finish(
    settings: AppSettings, threads: RenderThreads, pacer: FramePacer, state: PresentState,
    fps: float, board: StatusBoard,
) -> int:  # fmt: skip
    """The end of play(): summary line, status file, --stats-json; the exit code."""
    loop = threads.loop
    stats = run_stats(loop.stats, pacer.counters, state, loop, fps, threads.info,
                      threads.supervisor)  # fmt: skip
    log_summary("summary", stats)
    if settings.status_file is not None:
        write_status(settings.status_file, board, state, pacer, loop, is_running=False)
    if settings.stats_json is not None:
        write_stats(settings.stats_json, stats)
    if threads.is_exit:
        return EXIT_TOO_MANY_RECOVERIES
    if loop.stats.generated == 0:
        log.error("no frame was rendered (failed=%d); see the errors above", loop.stats.failed)
        return 1
    return 0


@dataclass
class Worker:
    """One render thread: its generation, heartbeat, and the loop it built."""

    generation: int
    heartbeat: Heartbeat
    thread: threading.Thread
    ready: queue.Queue[tuple[RenderLoop, RunInfo] | BaseException]
    loop: RenderLoop | None = None
    info: RunInfo | None = None
    resume_from: RenderLoop | None = None  # the replaced loop, dropped once taken over from


class RenderThreads:
    """Starts the render thread, watches it, and replaces it after a failure or a hang.

    The main thread calls tick() every display tick; the policy (deadlines, backoff, degrade
    steps, giving up) is the Supervisor's. `loop` is the loop the main thread follows: the newest
    one that has its first frame, so the last good frame stays up while a new one builds.
    """

    def __init__(
        self, settings: AppSettings, source: BatchRenderer | Callable[[AppSettings], Built],
        frames: queue.Queue[Frame], commands: queue.SimpleQueue[Command],
        loop_settings: LoopSettings, stopping: threading.Event, reloader: Reloader | None,
        info: RunInfo | None,
    ) -> None:  # fmt: skip
        self.settings, self.source, self.frames, self.commands = settings, source, frames, commands
        self.loop_settings, self.stopping, self.reloader = loop_settings, stopping, reloader
        self.info = info or RunInfo(kernels=kernels.backend.current())
        choices = RenderChoices(settings.max_batch, settings.resolved_precision,
                                kernels.backend.current(), loop_settings.fps)  # fmt: skip
        policy = RecoveryPolicy.from_settings(settings.hang_timeout_s, settings.max_recoveries)
        self.supervisor = Supervisor(policy, choices)
        self.injector = None
        if settings.inject_faults:
            self.injector = FaultInjector(parse_faults(settings.inject_faults))
            log.warning("fault injection (testing): %s", settings.inject_faults)
        self.worker: Worker | None = None
        self.loop: RenderLoop = None  # type: ignore[assignment]  # set by play() once built
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
        choices = self.supervisor.choices
        loop_settings = dataclasses.replace(  # start_s: a restarted show's time carried on
            self.loop_settings, max_batch=choices.max_batch, fps=choices.render_fps,
            start_s=self.settings.start_now_s(),
        )  # fmt: skip
        loop = RenderLoop(renderer, self.frames, self.commands, loop_settings,
                          time.perf_counter, reloader, heartbeat=worker.heartbeat,
                          resume_from=worker.resume_from)  # fmt: skip
        worker.resume_from = None
        worker.info = info  # before .loop: the main thread takes both once .loop is set
        worker.loop = loop
        worker.ready.put((loop, info))
        loop.run(self.stopping)

    def _build(self, generation: int) -> Built:
        """The renderer for this generation, with the degrade ladder's choices applied."""
        choices = self.supervisor.choices
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
            reloader = getattr(self.loop, "reloader", None)
            show_path = getattr(reloader, "path", None)
            build_settings = dataclasses.replace(
                self.settings, max_batch=choices.max_batch, precision=choices.precision,
                show_path=show_path or self.settings.show_path,
            )  # type: ignore[arg-type]  # fmt: skip
            playing = getattr(reloader, "accepted", None)  # already checked: not read again
            if playing is None:
                built = self.source(build_settings)  # type: ignore[operator]
            else:
                built = self.source(build_settings, playing)  # type: ignore[operator]
        renderer, reloader, info = built
        if generation > 0:
            info = dataclasses.replace(info, precision=choices.precision,
                                       kernels=kernels.backend.current())  # fmt: skip
        if self.injector is not None:
            renderer = FaultyRenderer(renderer, self.injector)
        return renderer, reloader, info

    def tick(self, board: StatusBoard, state: PresentState) -> None:
        """Main thread, every tick: follow a new loop once it renders; replace a failed one."""
        worker = self.worker
        assert worker is not None
        if worker.loop is not None and worker.loop is not self.loop and worker.loop.clock:
            self.loop = board.loop = worker.loop  # the new thread has its first frame
            self.info = board.info = worker.info or self.info
            self.supervisor.running()
            log.warning("render thread %d took over at show_time_s=%.3f", worker.generation,
                        worker.loop.clock.anchor_show_s)  # fmt: skip
        if self.restart_at_s is not None:
            if time.perf_counter() >= self.restart_at_s and not self.stopping.is_set():
                self.restart_at_s = None
                self.start(resume_from=self.loop)
        elif not self.is_exit:
            reason = self.supervisor.failure(worker.heartbeat, worker.thread.is_alive())
            if reason is not None:
                self._recover(worker, reason)
        summary = self.supervisor.summary()
        state.supervision_line = None if summary["recoveries"] == 0 else (
            f"{summary['supervision']}  recoveries {summary['recoveries']}  degrade "
            f"{summary['degrade_level']} {summary['degrade_steps']}".rstrip()
        )  # fmt: skip

    def _recover(self, worker: Worker, reason: str) -> None:
        """Give the thread up (logging why, with its traceback or stack) and plan a new one."""
        heartbeat = worker.heartbeat
        heartbeat.is_abandoned = True  # if it ever wakes, it puts no frames and ends
        detail = thread_stack(heartbeat.thread_id) if reason.startswith("hang") else (
            heartbeat.last_error
        )  # fmt: skip
        decision = self.supervisor.recover(reason)
        log.error("render thread %d failed: %s; recovery %d; the last good frame stays up\n%s",
                  worker.generation, reason, self.supervisor.recoveries, detail)  # fmt: skip
        if decision.is_exit:
            policy = self.supervisor.policy
            log.error("too many recoveries (%d within %g s): exiting with status %d so the "
                      "process is restarted", policy.recovery_limit, policy.recovery_window_s,
                      EXIT_TOO_MANY_RECOVERIES)  # fmt: skip
            self.is_exit = True
            return
        if decision.degrade is not None:
            log.warning("degrade level %d: %s (after %d recoveries in a row; last: %s)",
                        self.supervisor.degrade_level, decision.degrade,
                        self.supervisor.streak, reason)  # fmt: skip
        log.warning("render thread restarts in %g s", decision.delay_s)
        self.restart_at_s = time.perf_counter() + decision.delay_s

    def check_loading(self) -> None:
        """While the first render thread loads the models: raise if it hangs (past 300 s).

        Raises:
            InstallationError: the load hung; the stuck thread's stack is logged.
        """
        worker = self.worker
        assert worker is not None
        reason = self.supervisor.failure(worker.heartbeat, worker.thread.is_alive())
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


def present_loop(
    settings: AppSettings,
    presenter: Presenter,
    frames: queue.Queue[Frame],
    threads: RenderThreads,
    pacer: FramePacer,
    state: PresentState,
    fps: float,
    stopping: threading.Event,
    board: StatusBoard,
    reporter: Reporter | None = None,
) -> None:
    """Main thread: poll the UI, take frames, show what is due at each display tick.

    Each tick also supervises the render thread (threads.tick); the loop followed may change.
    """
    commands = threads.commands
    reporter = reporter or Reporter(settings.status_file)
    period_s = 1.0 / fps
    # with vsync at the monitor's rate, flip() paces the loop; a lower --fps cap paces by sleep
    is_vsynced = bool(getattr(presenter, "is_vsynced", False)) and (
        settings.fps is None or settings.fps >= (getattr(presenter, "refresh_hz", None) or 0)
    )
    next_tick_s = time.perf_counter()
    next_summary_s = next_tick_s + SUMMARY_INTERVAL_S
    last_key: tuple[int, int, float] | None = None
    try:
        while not stopping.is_set():
            if not handle_events(presenter.poll(), commands, state):
                break
            threads.tick(board, state)
            if threads.is_exit:
                state.quit_reason = "too many recoveries"
                break
            loop, info = threads.loop, threads.info
            take_frames(frames, pacer, wait_s=0.0 if loop.clock else POLL_INTERVAL_S)
            clock = loop.clock
            if clock is None:  # the first frame is not ready yet
                if not threads.is_running():
                    break
                reporter.loading(board)
                continue
            now_s = time.perf_counter()
            show_s = clock.show_time_s(now_s)
            state.count_played(show_s, clock.epoch)
            if settings.max_duration_s is not None and state.played_s >= settings.max_duration_s:
                break
            pick = pacer.pick(show_s, clock.epoch, period_s)
            level = loop.fade.level_at(now_s) * opening_level(loop, commands, state)
            if level != state.level:  # blackout / fade: redraw with the new level
                presenter.set_level(level)
                state.level = level
                last_key = None
            if update_overlay(presenter, state, pacer, loop, show_s, clock.is_paused, info, now_s):
                last_key = None  # new overlay text: draw even if the image is the same
            is_flipped = False
            if pick is not None and pick_key(pick) != last_key:
                presenter.present(pick.frame, pick.blend_with, pick.mix)
                state.draws += 1
                state.last_present_s = now_s
                last_key = pick_key(pick)
                is_flipped = is_vsynced
            state.count_gap(pacer.counters.shown, now_s, clock.is_paused)
            if settings.max_frames is not None and pacer.counters.shown >= settings.max_frames:
                break
            if not threads.is_running() and not pacer.pending and frames.empty():
                break  # --frames all shown (or the render thread failed)
            if now_s >= next_summary_s:
                release_memory()  # freed renderers of replaced render threads leave RSS
                log_summary("stats", run_stats(loop.stats, pacer.counters, state, loop, fps, info,
                                               threads.supervisor))  # fmt: skip
                next_summary_s += SUMMARY_INTERVAL_S
            reporter.playing(board, state, pacer, loop, now_s)
            if is_flipped:  # the flip waited for the vertical blank: the next tick is one away
                next_tick_s = time.perf_counter() + period_s - VSYNC_MARGIN_S
                continue
            next_tick_s = max(next_tick_s + period_s, now_s - period_s)  # no burst after a stall
            time.sleep(max(0.0, next_tick_s - time.perf_counter()))
    except KeyboardInterrupt:
        log.info("interrupted")
        state.quit_reason = "interrupted"
    finally:
        stopping.set()


def handle_events(events: Sequence[str], commands: queue.SimpleQueue[Command],
                  state: PresentState) -> bool:  # fmt: skip
    """Turn UI events into commands; False when the show should end."""
    for event in events:
        if event == QUIT:
            log.info("quit requested")
            state.quit_reason = "quit"
            return False
        if event == TOGGLE_OVERLAY:
            state.is_overlay_on = not state.is_overlay_on
            state.last_overlay_s = -math.inf
        elif event in KEY_COMMANDS:
            log.info("key command=%s", type(KEY_COMMANDS[event]).__name__)
            commands.put(KEY_COMMANDS[event])
    return True


def take_frames(frames: queue.Queue[Frame], pacer: FramePacer, wait_s: float) -> None:
    """Move every queued frame to the pacer (waiting up to wait_s for the first)."""
    try:
        pacer.add(frames.get(timeout=wait_s) if wait_s > 0 else frames.get_nowait())
    except queue.Empty:
        return
    while True:
        try:
            pacer.add(frames.get_nowait())
        except queue.Empty:
            return


def pick_key(pick: Pick) -> tuple[int, int, float]:
    """Identity of what a pick draws (frame objects, mix): unchanged picks are not redrawn."""
    return id(pick.frame), id(pick.blend_with), round(pick.mix, 3)


def update_overlay(
    presenter: Presenter, state: PresentState, pacer: FramePacer, loop: RenderLoop,
    show_s: float, is_paused: bool, info: RunInfo, now_s: float,
) -> bool:  # fmt: skip
    """Refresh the overlay text a few times a second; True when it changed."""
    if now_s - state.last_overlay_s < OVERLAY_INTERVAL_S:
        return False
    state.last_overlay_s = now_s
    lines = None
    if state.is_overlay_on:
        lines = overlay_lines(pacer, loop, state, show_s, is_paused, info, now_s)
    if lines == state.overlay_lines:
        return False
    state.overlay_lines = lines
    presenter.set_overlay(lines)
    return True


def overlay_lines(
    pacer: FramePacer, loop: RenderLoop, state: PresentState, show_s: float, is_paused: bool,
    info: RunInfo, now_s: float,
) -> list[str]:  # fmt: skip
    """The overlay's text: rates, generation time, section, show time, model, kernels."""
    elapsed_s = max(now_s - state.started_s, 1e-9)
    gen_ms = list(loop.stats.gen_ms)[-60:]
    current = pacer.current
    lines = [
        f"{pacer.counters.shown / elapsed_s:5.1f} fps shown  "
        f"{loop.stats.generated / elapsed_s:5.1f} generated  {state.draws / elapsed_s:5.1f} drawn",
        f"gen {np.median(gen_ms) if gen_ms else float('nan'):.1f} ms/frame  "
        f"batch {max(loop.cost_s, default=1)}  late {pacer.counters.late}  "
        f"dropped {loop.stats.dropped + pacer.counters.skipped}",
        f"section {current.section_name if current else '-'}  show {show_s:.2f} s"
        + ("  PAUSED" if is_paused else ""),
        f"model {current.model_name if current else info.models}  {info.precision} "
        f"{info.device}  kernels {info.kernels}",
    ]
    return lines if state.supervision_line is None else [*lines, state.supervision_line]


def run_stats(
    render: RenderStats, pace: PaceCounters, state: PresentState, loop: RenderLoop, fps: float,
    info: RunInfo, supervisor: Supervisor | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The run's statistics (the summary line and --stats-json), with the recoveries."""
    elapsed_s = max(time.perf_counter() - state.started_s, 1e-9)
    gen_ms = np.array(render.gen_ms) if render.gen_ms else np.array([math.nan])
    clock = loop.clock
    return {
        "frames_generated": render.generated,
        "frames_shown": pace.shown,
        "frames_dropped": render.dropped + pace.skipped + pace.overflow,
        "frames_stale": pace.stale,
        "frames_failed": render.failed,
        "frames_late": pace.late,
        "longest_frame_gap_s": state.longest_gap_s,
        "gen_ms_median": float(np.median(gen_ms)),
        "gen_ms_p95": float(np.percentile(gen_ms, 95)),
        "generated_fps": render.generated / elapsed_s,
        "shown_fps": pace.shown / elapsed_s,
        "display_fps": state.draws / elapsed_s,
        "fps_target": fps,
        "passes": render.passes,
        "batch_sizes": {str(k): v for k, v in sorted(render.batch_sizes.items())},
        "elapsed_s": elapsed_s,
        "show_time_s": clock.show_time_s(time.perf_counter()) if clock else None,
        "peak_rss_mb": peak_rss_mb(),
        "cuda_peak_mb": cuda_peak_mb(),
        "show": info.show,
        "models": info.models,
        "device": info.device,
        "precision": info.precision,
        "kernels": info.kernels,
        "exit": state.quit_reason,
        **(supervisor.summary() if supervisor is not None else {}),
    }
