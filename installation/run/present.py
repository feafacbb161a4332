"""The main thread's present loop: UI events in, frames from the render thread out to the screen.

Every display tick it polls the presenter's events (keys become commands), lets the render
threads replace a failed render thread (RenderThreads.tick), moves the queued frames to the
FramePacer, draws what is due at this tick with the picture level (fade, opening hours) and the
overlay, and reports status (the status file, the liveness beat) and the minute's statistics.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Sequence

import numpy as np

from installation.display.pacing import FramePacer, Pick
from installation.display.presenter import (
    NEXT_SECTION,
    PAUSE,
    PREV_SECTION,
    QUIT,
    RELOAD,
    TOGGLE_OVERLAY,
    Presenter,
)
from installation.render.frame import Frame
from installation.render.loop import RenderLoop
from installation.run.opening_hours import opening_level
from installation.run.present_state import PresentState
from installation.run.render_threads import POLL_INTERVAL_S, RenderThreads
from installation.run.startup import RunInfo
from installation.run.stats import log_summary, release_memory
from installation.run.status import Reporter, StatusBoard, run_stats
from installation.settings import AppSettings
from installation.walk.commands import Command, JumpSection, ReloadShow, TogglePause

log = logging.getLogger(__name__)

SUMMARY_INTERVAL_S = 60.0  # STYLE.md §9: an fps/dropped-frame summary every minute
OVERLAY_INTERVAL_S = 0.25  # overlay text refresh
VSYNC_MARGIN_S = 0.002  # wake this much before the next vertical blank to prepare the frame
KEY_COMMANDS: dict[str, Command] = {
    PAUSE: TogglePause(),
    NEXT_SECTION: JumpSection(+1),
    PREV_SECTION: JumpSection(-1),
    RELOAD: ReloadShow(),
}


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

    Each tick also watches the render thread (threads.tick); the loop followed may change.
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
            threads.tick()
            board.follow(threads.loop, threads.info, threads.reloader)
            state.supervision_line = threads.recovery_line()
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
                                               threads.recovery))  # fmt: skip
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
