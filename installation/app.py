"""The app: builds the pieces, runs the render thread and the present loop, stops them.

One frame's way: show file -> keyframe latents of every section (once, resolve_show) ->
RenderLoop (render thread: commands, schedule, Timeline.at(t) -> ws -> G.synthesis) -> Frame ->
frames queue -> FramePacer (main thread: which frame at this display tick) -> presenter.
`--out` renders the same timeline through the same ShowRenderer into a video file instead.
A single `stopping` event ends both threads (STYLE.md §8).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import queue
import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import kernels.backend
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
from installation.display.video import VideoWriter
from installation.display.window import WindowPresenter, require_display
from installation.errors import InstallationError, ShowError
from installation.models import load_generator
from installation.progress import Progress
from installation.render.frame import Frame
from installation.render.latents import resolve_show
from installation.render.loop import BatchRenderer, LoopSettings, RenderLoop, RenderStats
from installation.render.show_renderer import ShowRenderer
from installation.settings import (
    FALLBACK_REFRESH_HZ,
    HEADLESS_FPS,
    VIDEO_FPS,
    AppSettings,
)
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.commands import Command, JumpSection, ReloadShow, TogglePause
from installation.walk.reload import SwitchingTimeline
from installation.walk.timeline import Timeline

log = logging.getLogger(__name__)

FRAMES_QUEUE_SIZE = 2  # STYLE.md §8: bounded, the newest frame wins (plus one lookahead batch)
JOIN_TIMEOUT_S = 10.0  # a pass in progress cannot be interrupted; allow a slow one to finish
POLL_INTERVAL_S = 0.02  # the main thread handles window events at least this often
SUMMARY_INTERVAL_S = 60.0  # STYLE.md §9: an fps/dropped-frame summary every minute
OVERLAY_INTERVAL_S = 0.25  # overlay text refresh
VSYNC_MARGIN_S = 0.002  # wake this much before the next vertical blank to prepare the frame
WATCH_INTERVAL_S = 1.0  # the render thread looks at the show file's mtime at most this often
KEY_COMMANDS: dict[str, Command] = {
    PAUSE: TogglePause(),
    NEXT_SECTION: JumpSection(+1),
    PREV_SECTION: JumpSection(-1),
    RELOAD: ReloadShow(),
}


@dataclass(frozen=True)
class RunInfo:
    """What the overlay and the statistics say about the run (fixed at startup)."""

    show: str = ""
    models: str = ""
    device: str = "cpu"
    precision: str = "fast"
    kernels: str = ""


Built = tuple[BatchRenderer, "Reloader | None", RunInfo]  # what the render thread builds


def run(settings: AppSettings) -> int:
    """Play the show until quit, --frames or --duration (or render it with --out).

    Returns the process exit code.

    Raises:
        InstallationError: a startup failure (show, model, display), with a one-line message.
    """
    if settings.is_offline:
        return render_offline(settings)
    if not settings.is_headless:
        require_display()
    show = load_startup(settings)
    commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
    board = StatusBoard()
    osc = start_osc(settings, commands, board)
    try:
        presenter = open_presenter(settings)
        try:
            # the models load on the render thread: all torch work stays on that one thread
            return play(settings, lambda: build_renderer(settings, show), presenter,
                        commands=commands, board=board)  # fmt: skip
        finally:
            presenter.close()
    finally:
        if osc is not None:
            osc.stop()


def start_osc(
    settings: AppSettings, commands: queue.SimpleQueue[Command], board: StatusBoard
) -> Any:
    """The OSC server on its own thread, or None without --osc-port.

    Raises:
        ControlError: the port is taken (or the host cannot be bound).
    """
    if settings.osc_port is None:
        return None
    from installation.control.osc import OscControl  # only when OSC is asked for

    osc = OscControl(settings.osc_host, settings.osc_port, commands, board.status,
                     allow=settings.osc_allow, feedback_target=settings.osc_feedback)  # fmt: skip
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

    def attach(
        self, loop: RenderLoop, pacer: FramePacer, state: PresentState, info: RunInfo
    ) -> None:
        """Called by play() once the render thread has built the renderer."""
        self.loop, self.pacer, self.state, self.info = loop, pacer, state, info

    def status(self) -> dict[str, float | int | str | bool]:
        """Section, show time, pause, speed, rates, model, level and the live values."""
        loop, pacer, state = self.loop, self.pacer, self.state
        clock = loop.clock if loop is not None else None
        if loop is None or pacer is None or state is None or clock is None:
            return {"loading": True, "show": Path(self.info.show).stem}
        now_s = time.perf_counter()
        show_s = clock.show_time_s(now_s)
        section_index, section_name = loop.section_index_at(show_s)
        elapsed_s = max(now_s - state.started_s, 1e-9)
        current = pacer.current
        status: dict[str, float | int | str | bool] = {
            "show": Path(self.info.show).stem,
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
        for name, (value, weight) in loop.live.at(now_s).items():
            status[f"live/{name}"] = round(value, 4)
            status[f"live/{name}/weight"] = round(weight, 3)
        return status


def load_startup(settings: AppSettings) -> Show:
    """Check the device, read the show file and choose the kernels (cheap; no torch work)."""
    check_device(settings.device)
    show = load_show(settings.show_path)
    log.info(
        "show loaded path=%s sections=%d models=%d pass_s=%g",
        show.path, len(show.sections), len(show.models), show.total_s(),
    )  # fmt: skip
    try:
        kernels.backend.select(settings.kernels)  # once; logs the choice and its reason
    except RuntimeError as err:
        raise InstallationError(str(err)) from None
    return show


def build_renderer(settings: AppSettings, show: Show) -> Built:
    """Load the show's models and resolve its latents (startup; torch work).

    All models of the show load now (a show has few).
    """
    precision = settings.resolved_precision
    generators = {
        entry.name: load_generator(entry.path, settings.device, precision) for entry in show.models
    }
    latents = resolve_show(show, generators)
    renderer = ShowRenderer(show, generators, settings.device, latents)
    reloader = Reloader(settings, renderer, {e.path: generators[e.name] for e in show.models})
    info = RunInfo(
        show=str(show.path), models=", ".join(e.name for e in show.models),
        device=settings.device, precision=precision, kernels=kernels.backend.current(),
    )  # fmt: skip
    return renderer, reloader, info


def check_device(device: str) -> None:
    """Raise InstallationError when `device` is not a usable torch device."""
    try:
        torch_device = torch.device(device)
    except RuntimeError as err:
        raise InstallationError(f"--device {device!r}: {err}") from None
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise InstallationError(
            f"--device {device}: CUDA is not available (torch {torch.__version__})"
        )


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


def try_reload(path: str | Path, current: Show) -> tuple[Show, str | None]:
    """(the show read from `path`, None), or (`current`, the error text) when it does not load."""
    try:
        return load_show(path), None
    except ShowError as err:
        return current, str(err)


class Reloader:
    """Hot reload, render thread only: re-read the show file and schedule the switch to it.

    The renderer renders through a SwitchingTimeline; generators are reused by file path. A show
    that fails validation (or whose models/latents fail) is logged once and the old one plays on.
    """

    def __init__(
        self, settings: AppSettings, renderer: ShowRenderer, by_path: dict[Path, Any]
    ) -> None:
        """Wrap the renderer's timeline; `by_path`: the loaded generators by model file."""
        self.settings = settings
        self.path = Path(settings.show_path)
        self.shows_folder = self.path.parent  # LoadShow names a show of this folder
        self.renderer = renderer
        self.by_path = dict(by_path)
        self.timeline = SwitchingTimeline(renderer.timeline)
        renderer.timeline = self.timeline  # type: ignore[assignment]  # same .at() as Timeline
        self.mtime_ns = self._mtime_ns()
        self.next_check_s = time.perf_counter() + WATCH_INTERVAL_S

    def _mtime_ns(self) -> int | None:
        """The show file's modification time, or None when it cannot be read."""
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def is_file_changed(self) -> bool:
        """True once per change of the show file's mtime (looked at most once per second)."""
        now_s = time.perf_counter()
        if not self.settings.is_watching or now_s < self.next_check_s:
            return False
        self.next_check_s = now_s + WATCH_INTERVAL_S
        mtime_ns = self._mtime_ns()
        if mtime_ns is None or mtime_ns == self.mtime_ns:
            return False
        self.mtime_ns = mtime_ns
        return True

    def load(self, name: str, show_time_s: float) -> bool:
        """Switch to the show `name` of the shows folder (the first show's folder); no paths.

        `name` may leave out `.yaml`. On success the new file is the one watched from now on;
        a name that is not a show there, or a show that does not load, keeps the current one.
        """
        folder = self.shows_folder
        candidates = [folder / name, folder / f"{name}.yaml", folder / f"{name}.yml"]
        path = next((c for c in candidates if c.is_file()), None)
        is_inside = path is not None and path.resolve().parent == folder.resolve()
        if path is None or not is_inside or "/" in name or "\\" in name:
            shows = sorted(p.stem for p in folder.glob("*.yaml"))
            log.error("load show %r: no such show in %s (have: %s)", name, folder,
                      ", ".join(shows) or "-")  # fmt: skip
            return False
        previous = self.path
        self.path = path
        if not self.reload(show_time_s):
            self.path = previous
            return False
        self.mtime_ns = self._mtime_ns()
        return True

    def reload(self, show_time_s: float) -> bool:
        """Load the show file and schedule the switch at show_time_s; False keeps the old show."""
        current = self.timeline.show
        show, error = try_reload(self.path, current)
        if error is not None:
            log.error("show reload failed; the current show plays on\n%s", error)
            return False
        try:
            for entry in show.models:
                if entry.path not in self.by_path:
                    self.by_path[entry.path] = load_generator(
                        entry.path, self.settings.device, self.settings.resolved_precision
                    )
            generators = {e.name: self.by_path[e.path] for e in show.models}
            timeline = Timeline(show, resolve_show(show, generators))
        except Exception:  # a model or latent that fails: the old show plays on
            log.exception("show reload failed path=%s; the current show plays on", self.path)
            return False
        for entry in show.models:
            old = next((m for m in current.models if m.name == entry.name), None)
            if old is not None and old.path != entry.path:
                log.warning("model %r now names %s; old frames use it until the switch",
                            entry.name, entry.path)  # fmt: skip
        # the renderer looks models up by name: the new show's win, the old ones stay for the fade
        self.renderer.generators.update(generators)
        names = {e.name for e in show.models}
        kept = tuple(m for m in self.renderer.show.models if m.name not in names)
        self.renderer.show = dataclasses.replace(show, models=show.models + kept)
        switch_s = self.timeline.schedule(timeline, show, show_time_s)
        log.info("show reloaded path=%s sections=%d when=%s switch_s=%.3f crossfade_s=%g",
                 self.path, len(show.sections), show.settings.reload.when, switch_s,
                 show.settings.reload.crossfade_s)  # fmt: skip
        return True


@dataclass
class PresentState:
    """The main thread's own counts and the overlay switch."""

    started_s: float
    draws: int = 0  # presenter.present calls (new frame, new blend or new overlay)
    is_overlay_on: bool = False
    last_overlay_s: float = -math.inf
    overlay_lines: list[str] | None = None  # what the presenter shows now
    level: float = 1.0  # picture level the presenter draws with
    played_s: float = 0.0  # show time played (for --duration): jumps and seeks do not count
    last_show_s: float | None = None
    last_epoch: int = 0

    def count_played(self, show_s: float, epoch: int) -> None:
        """Add the show time that passed since the last tick, unless the clock jumped."""
        if self.last_show_s is not None and epoch == self.last_epoch:
            self.played_s += max(0.0, show_s - self.last_show_s)
        self.last_show_s, self.last_epoch = show_s, epoch
    quit_reason: str = "end"


def play(
    settings: AppSettings,
    source: BatchRenderer | Callable[[], Built],
    presenter: Presenter,
    reloader: Reloader | None = None,
    info: RunInfo | None = None,
    commands: queue.SimpleQueue[Command] | None = None,
    board: StatusBoard | None = None,
) -> int:
    """Run the render thread and the present loop until a stop condition; log the summary.

    `source` is a ready renderer, or a function that builds (renderer, reloader, info); it
    runs on the render thread, so the models load and run on one thread (torch's OpenMP
    workers are per calling thread: a second team made generation ~30 % slower here).

    Raises:
        InstallationError: the build failed (model, latents); the message says why.
    """
    fps = display_fps(settings, presenter)
    frames: queue.Queue[Frame] = queue.Queue(
        maxsize=max(FRAMES_QUEUE_SIZE, 2 * settings.max_batch + 2)
    )
    if commands is None:
        commands = queue.SimpleQueue()
    loop_settings = LoopSettings(
        fps=fps, max_batch=settings.max_batch, latency_budget_s=settings.latency_budget_s,
        is_blending=settings.is_blending, start_s=settings.start_s,
        max_frames=settings.max_frames,
    )  # fmt: skip
    stopping = threading.Event()
    ready: queue.Queue[tuple[RenderLoop, RunInfo] | BaseException] = queue.Queue()

    def render_main() -> None:
        try:
            if hasattr(source, "render_batch"):
                run_info = info or RunInfo(kernels=kernels.backend.current())
                built: Built = (source, reloader, run_info)  # type: ignore[assignment]
            else:
                built = source()  # type: ignore[operator]
        except BaseException as err:  # reported to the main thread, which raises it there
            ready.put(err)
            return
        loop = RenderLoop(built[0], frames, commands, loop_settings, time.perf_counter, built[1])
        ready.put((loop, built[2]))
        loop.run(stopping)

    render_thread = threading.Thread(target=render_main, name="render")
    render_thread.start()
    try:
        started = wait_until_built(ready, presenter)
    except BaseException:
        stopping.set()
        render_thread.join(JOIN_TIMEOUT_S)
        raise
    if started is None:  # quit while loading
        stopping.set()
        render_thread.join(JOIN_TIMEOUT_S)
        return 0
    loop, info = started
    pacer = FramePacer(settings.is_blending)
    state = PresentState(started_s=time.perf_counter())
    if board is not None:
        board.attach(loop, pacer, state, info)
    log.info("show started fps=%g blend=%s batch_max=%d latency_ms=%g start_s=%g frames=%s "
             "duration_s=%s", fps, settings.is_blending, settings.max_batch,
             settings.latency_budget_s * 1000, settings.start_s, settings.max_frames,
             settings.max_duration_s)  # fmt: skip
    try:
        present_loop(settings, presenter, frames, commands, loop, pacer, state, fps, stopping,
                     render_thread, info)  # fmt: skip
    finally:
        stopping.set()
        render_thread.join(JOIN_TIMEOUT_S)
        if render_thread.is_alive():
            log.warning("thread did not stop name=%s timeout_s=%g", render_thread.name,
                        JOIN_TIMEOUT_S)  # fmt: skip
    stats = run_stats(loop.stats, pacer.counters, state, loop, fps, info)
    log_summary("summary", stats)
    if settings.stats_json is not None:
        write_stats(settings.stats_json, stats)
    if loop.stats.generated == 0:
        log.error("no frame was rendered (failed=%d); see the errors above", loop.stats.failed)
        return 1
    return 0


def wait_until_built(
    ready: queue.Queue[tuple[RenderLoop, RunInfo] | BaseException], presenter: Presenter
) -> tuple[RenderLoop, RunInfo] | None:
    """Keep the window responsive while the render thread loads; None when quit meanwhile."""
    while True:
        try:
            item = ready.get(timeout=POLL_INTERVAL_S)
        except queue.Empty:
            if QUIT in presenter.poll():
                log.info("quit requested while loading")
                return None
            continue
        if isinstance(item, BaseException):
            raise item
        return item


def present_loop(
    settings: AppSettings,
    presenter: Presenter,
    frames: queue.Queue[Frame],
    commands: queue.SimpleQueue[Command],
    loop: RenderLoop,
    pacer: FramePacer,
    state: PresentState,
    fps: float,
    stopping: threading.Event,
    render_thread: threading.Thread,
    info: RunInfo,
) -> None:
    """Main thread: poll the UI, take frames, show what is due at each display tick."""
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
            take_frames(frames, pacer, wait_s=0.0 if loop.clock else POLL_INTERVAL_S)
            clock = loop.clock
            if clock is None:  # the first frame is not ready yet
                if not render_thread.is_alive():
                    break
                continue
            now_s = time.perf_counter()
            show_s = clock.show_time_s(now_s)
            state.count_played(show_s, clock.epoch)
            if settings.max_duration_s is not None and state.played_s >= settings.max_duration_s:
                break
            pick = pacer.pick(show_s, clock.epoch, period_s)
            level = loop.fade.level_at(now_s)
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
                last_key = pick_key(pick)
                is_flipped = is_vsynced
            if settings.max_frames is not None and pacer.counters.shown >= settings.max_frames:
                break
            if not render_thread.is_alive() and not pacer.pending and frames.empty():
                break  # --frames all shown (or the render thread failed)
            if now_s >= next_summary_s:
                log_summary("stats", run_stats(loop.stats, pacer.counters, state, loop, fps, info))
                next_summary_s += SUMMARY_INTERVAL_S
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
    return [
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


def run_stats(
    render: RenderStats, pace: PaceCounters, state: PresentState, loop: RenderLoop, fps: float,
    info: RunInfo,
) -> dict[str, Any]:  # fmt: skip
    """The run's statistics (the summary line and --stats-json)."""
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
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cuda_peak_mb() -> float | None:
    """Peak CUDA memory allocated by torch in MiB, or None without CUDA."""
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.max_memory_allocated() / 2**20


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
    """One line: frames generated/shown/dropped/failed/late, gen ms median/p95, rates."""
    log.info(
        "%s frames generated=%d shown=%d dropped=%d failed=%d late=%d gen_ms_median=%.1f "
        "gen_ms_p95=%.1f generated_fps=%.2f display_fps=%.2f elapsed_s=%.1f peak_rss_mb=%.0f",
        label, stats["frames_generated"], stats["frames_shown"], stats["frames_dropped"],
        stats["frames_failed"], stats["frames_late"], stats["gen_ms_median"],
        stats["gen_ms_p95"], stats["generated_fps"], stats["display_fps"], stats["elapsed_s"],
        stats["peak_rss_mb"],
    )  # fmt: skip


def render_offline(settings: AppSettings) -> int:
    """--out: render the show frame by frame into a video file or PNG folder (not real time)."""
    assert settings.out_path is not None
    show = load_startup(settings)
    renderer, _, info = build_renderer(settings, show)
    fps = settings.fps or show.settings.output.fps or VIDEO_FPS  # the show's `output.fps`
    count = offline_frame_count(settings, show, fps)
    log.info("offline render path=%s frames=%d fps=%g start_s=%g precision=%s batch=%d",
             settings.out_path, count, fps, settings.start_s, info.precision,
             settings.max_batch)  # fmt: skip
    started_s = time.perf_counter()
    gen_ms: list[float] = []
    with VideoWriter(settings.out_path, fps) as writer, Progress(count, "render") as progress:
        for first in range(0, count, settings.max_batch):
            slots = [(i, settings.start_s + i / fps)
                     for i in range(first, min(first + settings.max_batch, count))]  # fmt: skip
            for frame in renderer.render_batch(slots):
                writer.write(frame)
                gen_ms.append(frame.gen_ms)
            progress.update(len(slots))
    elapsed_s = time.perf_counter() - started_s
    stats = {
        "frames_written": count, "fps": fps, "elapsed_s": elapsed_s,
        "gen_ms_median": float(np.median(gen_ms)) if gen_ms else None,
        "gen_ms_p95": float(np.percentile(gen_ms, 95)) if gen_ms else None,
        "peak_rss_mb": peak_rss_mb(), "cuda_peak_mb": cuda_peak_mb(),
        "out": str(settings.out_path), "show": info.show, "device": info.device,
        "precision": info.precision, "kernels": info.kernels,
    }  # fmt: skip
    log.info("offline render done path=%s frames=%d elapsed_s=%.1f", settings.out_path, count,
             elapsed_s)  # fmt: skip
    if settings.stats_json is not None:
        write_stats(settings.stats_json, stats)
    return 0


def offline_frame_count(settings: AppSettings, show: Show, fps: float) -> int:
    """--frames, else --duration x fps, else one pass of the show from --start."""
    if settings.max_frames is not None:
        return settings.max_frames
    duration_s = settings.max_duration_s
    if duration_s is None:
        duration_s = max(show.total_s() - settings.start_s, 1.0 / fps)
    return max(1, round(duration_s * fps))
