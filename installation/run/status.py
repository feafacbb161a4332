"""What the running show says about itself: the status board (OSC /status and /status/refused),
the --status-file, the liveness beat to a --supervise parent, and the run's statistics.

The board is read from the OSC thread; the status file, the beat and the statistics are written
by the main thread (the present loop).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from installation.display.pacing import FramePacer, PaceCounters
from installation.render.loop import RenderLoop, RenderStats
from installation.run.present_state import PresentState
from installation.run.recovery import RecoveryPlanner
from installation.run.show_reload import Reloader
from installation.run.startup import RunInfo
from installation.run.stats import (
    Beacon,
    cuda_memory_mb,
    cuda_peak_mb,
    peak_rss_mb,
    report_status,
    rss_mb,
    starting_status,
)
from installation.walk.commands import Command
from installation.walk.steering import describe_steerable, refusal, steerable

STATUS_FILE_INTERVAL_S = 2.0  # --status-file rewrite period


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
        self.reloader: Reloader | None = None  # the loop's hot reload (follows /show/load)
        self.recovery: RecoveryPlanner | None = None
        # in the --status-file only, never in replies: the web remote's URL and token
        self.private: dict[str, str] = {}
        # what control services say about themselves, in every status reply (MIDI: midi_in,
        # midi_learn); written by their threads, one key at a time
        self.notes: dict[str, str] = {}

    def attach(
        self, loop: RenderLoop, pacer: FramePacer, state: PresentState, info: RunInfo,
        reloader: Reloader | None, recovery: RecoveryPlanner,
    ) -> None:  # fmt: skip
        """Called by play() once the render thread has built the renderer."""
        self.pacer, self.state, self.recovery = pacer, state, recovery
        self.follow(loop, info, reloader)

    def follow(self, loop: RenderLoop, info: RunInfo, reloader: Reloader | None) -> None:
        """The loop the main thread follows now (a new render thread took over)."""
        self.loop, self.info, self.reloader = loop, info, reloader

    def status(self) -> dict[str, float | int | str | bool]:
        """Section, show time, pause, speed, rates, model, level and the live values."""
        loop, pacer, state = self.loop, self.pacer, self.state
        clock = loop.clock if loop is not None else None
        recovery = self.recovery.summary() if self.recovery is not None else {}
        if loop is None or pacer is None or state is None or clock is None:
            return {"state": "loading", "loading": True, "show": Path(self.info.show).stem,
                    **recovery, **self.notes.copy()}  # fmt: skip
        now_s = time.perf_counter()
        show_s = clock.show_time_s(now_s)
        section_index, section_name = loop.section_index_at(show_s)
        elapsed_s = max(now_s - state.started_s, 1e-9)
        current = pacer.current
        reloader = self.reloader
        show_path = reloader.path if reloader is not None else None  # follows /show/load
        status: dict[str, float | int | str | bool] = {
            "state": "playing",
            "show": Path(show_path or self.info.show).stem,
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
            "memory_mb": round(rss_mb(), 1),
        }
        gpu_mb = cuda_memory_mb()
        if gpu_mb is not None:
            status["gpu_memory_mb"] = round(gpu_mb, 1)
        status["steerable"] = describe_steerable(loop.section_at(show_s))
        status["presets"] = ",".join(loop.player.preset_names)  # /preset/list re-reads them
        if loop.player.last_bookmark:
            status["bookmark"] = loop.player.last_bookmark  # the keyframe of the last /bookmark
        for name, (value, weight) in loop.player.live.at(now_s).items():
            status[f"live/{name}"] = round(value, 4)
            status[f"live/{name}/weight"] = round(weight, 3)
        follow = loop.player.follow_state  # --sync follow (walk/follow.py)
        if follow is not None:
            status["sync_offset_ms"] = round(follow.offset_s * 1000.0, 2)
            status["sync_correction"] = round(follow.correction, 4)
            status["sync_locked"] = follow.is_locked
        status.update({k: v for k, v in recovery.items() if v is not None})
        status.update(self.notes.copy())
        if "sync" in status:  # --sync: the machine's monotonic clock show_time_s holds for
            status["sync_clock_s"] = f"{now_s:.6f}"  # text: an OSC float would keep ms only
            status["sync_show_s"] = f"{show_s:.6f}"  # show_time_s at it, to the microsecond
        return status

    def refusal(self, command: Command) -> str | None:
        """Why the section playing now would not take `command` (OSC replies /status/refused)."""
        loop = self.loop
        clock = loop.clock if loop is not None else None
        if loop is None or clock is None:
            return None
        section = loop.section_at(clock.show_time_s(time.perf_counter()))
        return refusal(command, section, loop.show)

    def parameters(self) -> dict[str, dict[str, float]]:
        """The parameters steerable now: name -> {"low", "high"[, "value": the live value]}."""
        loop = self.loop
        clock = loop.clock if loop is not None else None
        if loop is None or clock is None:
            return {}
        now_s = time.perf_counter()
        live = loop.player.live.at(now_s)
        found: dict[str, dict[str, float]] = {}
        for name, (low, high) in steerable(loop.section_at(clock.show_time_s(now_s))).items():
            found[name] = {"low": float(low), "high": float(high)}
            if name == "speed":
                found[name]["value"] = float(clock.rate)
            elif name in live:
                found[name]["value"] = round(float(live[name][0]), 4)
        return found

    def sections(self) -> list[dict[str, Any]]:
        """The playing show's sections: [{"index", "name", "duration_s"}] ([] while loading)."""
        loop = self.loop
        show = loop.show if loop is not None else None
        if show is None:
            return []
        return [{"index": index, "name": section.name, "duration_s": section.duration_s}
                for index, section in enumerate(show.sections)]  # fmt: skip

    def sensors(self) -> list[dict[str, Any]]:
        """The playing show's sensors: [{"name", "index", "low", "high"}] (their input ranges)."""
        loop = self.loop
        show = loop.show if loop is not None else None
        return [{"name": sensor.name, "index": sensor.index, "low": sensor.input_range[0],
                 "high": sensor.input_range[1]}
                for sensor in getattr(show, "sensors", ())]  # fmt: skip

    def picture(self, max_px: int) -> tuple[tuple[int, int], np.ndarray] | None:
        """The frame on screen, ((epoch, index), [H, W, 3] uint8) with its sides cut by a whole
        step to at most 2 * max_px (for a thumbnail); None before the first frame."""
        pacer = self.pacer
        frame = pacer.current if pacer is not None else None
        if frame is None:
            return None
        width, height = frame.size_px
        step = max(1, max(width, height) // (2 * max_px))
        pixels = frame.pixels  # planes [C, H, W] or packed [H, W, 3]
        pixels = pixels[:, ::step, ::step] if frame.is_planar else pixels[::step, ::step]
        small = dataclasses.replace(frame, pixels=np.ascontiguousarray(pixels))
        return (frame.epoch, frame.index), small.rgb8()


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
        **board.private,
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
            record = {**starting_status("loading", board.info.show), **board.status(),
                      **board.private}  # fmt: skip
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


def run_stats(
    render: RenderStats, pace: PaceCounters, state: PresentState, loop: RenderLoop, fps: float,
    info: RunInfo, recovery: RecoveryPlanner | None = None,
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
        **(recovery.summary() if recovery is not None else {}),
    }
