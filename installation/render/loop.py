"""RenderLoop: the render thread's work: drain commands -> schedule show times -> render -> frames.

The walk is scheduled, so the loop renders future frames ahead of the show clock, several in one
generator pass (lookahead) when that is what keeps up with the display, within a latency budget
that live input shortens. It never runs further ahead than it must: the first frame of a batch
is started just early enough to be ready (plus one frame when the presenter blends).

Show time lives in a ClockState that only this thread replaces (pause, seek, section jumps); the
main thread reads `loop.clock` to pace the frames it receives. Every wall time comes from the
injected `wall_clock`, so tests drive the loop step by step with a fake clock.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from installation.logs import RateLimitedLog
from installation.render.frame import Frame
from installation.render.latents import as_ws
from installation.show.arrays import NUMBERS, npz_infos, read_npy, read_npz
from installation.show.schema import LIVE_DEFAULT_HOLD_S, LIVE_DEFAULT_SLEW_S, NOISE_MODES
from installation.walk.clock import ClockState
from installation.walk.commands import (
    Blackout,
    Command,
    GlideTo,
    GoToSection,
    HoldSection,
    JumpSection,
    LoadShow,
    ReloadShow,
    Seek,
    SensorInput,
    SetLive,
    SetMixing,
    SetNoiseMode,
    SetPaused,
    SetSpeed,
    TogglePause,
)
from installation.walk.live import LiveValues
from installation.walk.sensors import SensorBank, SensorReadingError
from installation.walk.timeline import (
    LIVE_LATENT,
    live_range,
    section_index_at,
    section_jump_s,
    section_start_in_pass_s,
)

log = logging.getLogger(__name__)

LIVE_HOLD_S = 3.0  # after live input, render one frame per pass for this long (low latency)
HEADROOM = 1.15  # a frame is planned to take this much longer than its recent cost
RETRY_DELAY_S = 0.5  # pause after a failed pass before trying again
IDLE_WAIT_S = 0.1  # paused with nothing to do: look at the commands this often
GEN_MS_WINDOW = 1000  # frames kept for the generation-time median/p95
TIME_EPSILON_S = 1e-6  # closer than this to the start time counts as on time
COST_SMOOTHING = 0.3  # weight of the newest pass in the per-frame cost estimate (EMA)


SPEED_RANGE = (0.05, 10.0)  # live show speed limits (times real time)
LATENTS_FOLDER = "latents"  # stored latents for GlideTo, next to the show file
SENSOR_SLEW_S = 0.1  # a sensor's glide when its target is not in the section's live block
# (the sensor's own smoothing does the real work; this only hides the message steps)


@dataclass(frozen=True)
class Fade:
    """The picture's level (0 black .. 1 normal) going from `start` to `end` over `fade_s`."""

    start: float
    end: float
    started_wall_s: float
    fade_s: float

    def level_at(self, wall_s: float) -> float:
        """Level at wall time `wall_s`."""
        if self.fade_s <= 0:
            return self.end
        phase = min(max((wall_s - self.started_wall_s) / self.fade_s, 0.0), 1.0)
        return self.start + phase * (self.end - self.start)


class BatchRenderer(Protocol):
    """What the loop needs of the renderer (ShowRenderer, or a test stand-in)."""

    timeline: Any  # .at(t), .active(t) -> (start_s, Timeline with .lengths_s and .show)

    def render_batch(
        self, slots: Sequence[tuple[int, float]], live: Any = None, epoch: int = 0,
    ) -> list[Frame]: ...  # fmt: skip


class Heartbeat(Protocol):
    """What the loop tells whoever watches the render thread (run/ recovery's Heartbeat)."""

    is_abandoned: bool

    def beat(self, activity: str) -> None: ...

    def pass_done(self, pass_s: float, is_measured: bool = True) -> None: ...

    def pass_failed(self, error: BaseException) -> None: ...

    def crashed(self, error: BaseException) -> None: ...


class Reloading(Protocol):
    """Hot reload as the loop uses it (installation/reloading.py Reloader): reload and load
    start a build off this thread; poll swaps a finished one in (True when it did)."""

    def is_file_changed(self) -> bool: ...

    def reload(self, show_time_s: float) -> bool: ...

    def load(self, name: str, show_time_s: float) -> bool: ...

    def poll(self, show_time_s: float) -> bool: ...


# ShowRenderer attributes that commands set and a replacement render thread takes over
RENDERER_OVERRIDES = ("noise_mode_override", "mixing_override")


@dataclass(frozen=True)
class LoopSettings:
    """How the loop paces itself; from AppSettings."""

    fps: float  # display rate the frames are scheduled on
    max_batch: int = 8  # most frames per generator pass (1: no lookahead)
    latency_budget_s: float = 0.3  # longest pass the lookahead may plan
    is_blending: bool = False  # the presenter blends: keep one more frame ready
    start_s: float = 0.0  # show time of the first frame
    max_frames: int | None = None  # stop after generating this many


@dataclass
class RenderStats:
    """Written by the render thread only; others read single values (atomic in CPython)."""

    generated: int = 0
    dropped: int = 0  # frames pushed out of the full queue before the presenter took them
    failed: int = 0
    passes: int = 0
    commands: int = 0  # commands applied (keys, OSC, reloads)
    failed_commands: int = 0
    batch_sizes: dict[int, int] = field(default_factory=dict)  # batch size -> passes
    gen_ms: deque[float] = field(default_factory=lambda: deque(maxlen=GEN_MS_WINDOW))


class RenderLoop:
    """Owns the renderer, the show clock and the schedule; see the module docstring."""

    def __init__(
        self,
        renderer: BatchRenderer,
        frames: queue.Queue[Frame],
        commands: queue.SimpleQueue[Command],
        settings: LoopSettings,
        wall_clock: Callable[[], float],
        reloader: Reloading | None = None,
        heartbeat: Heartbeat | None = None,
        resume_from: RenderLoop | None = None,
    ) -> None:
        """`heartbeat`: supervised (app.play); `resume_from`: the loop this one replaces after a
        recovery (its clock, statistics, fade and live values carry on)."""
        self.renderer = renderer
        self.frames = frames
        self.commands = commands
        self.settings = settings
        self.wall_clock = wall_clock
        self.reloader = reloader
        self.clock: ClockState | None = None  # None until the first frame is ready
        self.stats = RenderStats()
        self.next_show_s = settings.start_s  # the next show time to render
        self.next_index = 0
        self.needs_still = False  # paused: render the frame at the paused time once
        self.live_until_wall_s = -math.inf
        self.cost_s: dict[int, float] = {}  # batch size -> estimated seconds per frame
        self.grid_wall_s = 0.0  # wall time of display slot 0 (set at the start and seeks)
        self.live = LiveValues()
        self.latent_target: np.ndarray | None = None  # ws of the last GlideTo
        self.hold_s: tuple[float, float] | None = None  # (start, end) of a held section
        self.resume_s = 0.0  # show time to go back to when a hold ends
        self.sensor_bank: SensorBank | None = None  # built from the show's `sensors` on first use
        self.sensor_bank_show: Any = None
        self.fade = Fade(1.0, 1.0, 0.0, 0.0)  # picture level; the main thread reads it
        self.live_log = RateLimitedLog(log, interval_s=60.0)
        self.failure_log = RateLimitedLog(log, interval_s=10.0)
        self.drop_log = RateLimitedLog(log, interval_s=60.0)
        self.heartbeat = heartbeat
        self.resume_clock: ClockState | None = None
        if resume_from is not None:
            self._carry_on(resume_from)

    def _carry_on(self, old: RenderLoop) -> None:
        """Take over from an abandoned render thread's loop: show time goes on from its clock."""
        self.resume_clock = old.clock
        self.stats = old.stats
        self.next_index = old.next_index
        self.fade = old.fade
        self.live = old.live
        self.latent_target = old.latent_target
        self.hold_s, self.resume_s = old.hold_s, old.resume_s
        for name in RENDERER_OVERRIDES:  # live noise mode and mixing (OSC) outlive the renderer
            if hasattr(old.renderer, name) and hasattr(self.renderer, name):
                setattr(self.renderer, name, getattr(old.renderer, name))

    @property
    def show(self) -> Any:
        """The newest show (a reload or /show/load brings another); any thread may ask."""
        return self.renderer.timeline.show

    @property
    def is_abandoned(self) -> bool:
        """True once the supervisor gave this loop's thread up (it must put no more frames)."""
        return self.heartbeat is not None and self.heartbeat.is_abandoned

    def _beat(self, activity: str) -> None:
        """Tell the supervisor this thread is alive and what it does now."""
        if self.heartbeat is not None:
            self.heartbeat.beat(activity)

    @property
    def is_done(self) -> bool:
        """True once --frames frames were generated (or attempted)."""
        limit = self.settings.max_frames
        return limit is not None and self.next_index >= limit

    def run(self, stopping: threading.Event) -> None:
        """Loop until `stopping` is set or is_done; a bug outside a pass sets `stopping`."""
        try:
            self._start(stopping)
            while not stopping.is_set() and not self.is_done and not self.is_abandoned:
                self._beat("wait")
                wait_s = self.step()
                if wait_s > 0:
                    self._wait_for_command(min(wait_s, IDLE_WAIT_S))
        except Exception as err:  # a bug outside the per-pass guard
            if self.heartbeat is None:  # unsupervised: stop the show instead of hanging
                log.exception("render thread failed; stopping")
                stopping.set()
            else:  # the supervisor starts a new render thread (and logs the traceback)
                self.heartbeat.crashed(err)
        finally:
            self.failure_log.flush(logging.ERROR)
            self.drop_log.flush()

    def _start(self, stopping: threading.Event) -> None:
        """Render the first frame, then start the show clock at it, so it is not late.

        The first pass also warms the generator up, so its cost does not enter the estimates.
        After a recovery the clock carries on from the old loop's (rate, pause, epoch) at the
        show time the first pass started at, so the walk resumes where it was.
        """
        resume = self.resume_clock
        start_s = self.settings.start_s if resume is None else resume.show_time_s(self.wall_clock())
        epoch = 0 if resume is None else resume.epoch
        while self.clock is None and not stopping.is_set() and not self.is_abandoned:
            self._beat("first frame")
            frames = self._render([start_s], epoch=epoch, is_measured=False)
            now_s = self.wall_clock()
            if frames or self.is_done:
                clock = ClockState(anchor_wall_s=now_s) if resume is None else resume
                self.clock = replace(clock, anchor_wall_s=now_s, anchor_show_s=start_s)
                self.grid_wall_s = now_s
                self.next_show_s = start_s + 1.0 / self.settings.fps

    def _wait_for_command(self, wait_s: float) -> None:
        """Sleep up to wait_s, waking early to apply a command that arrives."""
        try:
            command = self.commands.get(timeout=wait_s)
        except queue.Empty:
            return
        self._apply(command)

    def step(self) -> float:
        """One pass: apply commands, then render the next batch or say how long to wait (s)."""
        self._drain_commands()
        if self.reloader is not None and self.reloader.is_file_changed():
            self._reload()
        assert self.clock is not None, "step() before the first frame"
        now_wall_s = self.wall_clock()
        now_show_s = self.clock.show_time_s(now_wall_s)
        if self.reloader is not None and self.reloader.poll(now_show_s):  # a reload was built
            self.needs_still = self.clock.is_paused
        if self.clock.is_paused:
            if not self.needs_still:
                return IDLE_WAIT_S
            self.needs_still = False
            self._render([now_show_s], self.clock.epoch)
            return 0.0
        rate = self.clock.rate  # show seconds per wall second: wall durations x rate below
        batch, spacing_wall_s = self._plan(now_wall_s)
        spacing_s = spacing_wall_s * rate
        # ready before its time; blending also needs the next frame one spacing early
        lead_s = self._cost_s(batch) * batch * HEADROOM * rate
        if self.settings.is_blending:
            lead_s += spacing_s
        first_s = self.next_show_s
        if first_s > now_show_s + lead_s + TIME_EPSILON_S:  # ahead: wait until it must start
            return (first_s - lead_s - now_show_s) / rate
        # behind by more than the headroom and half a display slot (a wake-up a little late is
        # not behind): skip to the first slot that can be on time
        slack_s = (0.5 / self.settings.fps + self._cost_s(batch) * batch * (HEADROOM - 1)) * rate
        if first_s < now_show_s + lead_s - slack_s:
            first_s = self._on_grid(now_show_s + lead_s)
        times_s = [first_s + k * spacing_s for k in range(batch)]
        self.next_show_s = times_s[-1] + spacing_s
        if not self.settings.is_blending:  # each frame on a display tick: shown exactly on time
            times_s = [self._on_grid(t_s) for t_s in times_s]
        if self.hold_s is not None:  # a held section plays again from its start at its end
            times_s = [t_s for t_s in times_s if t_s < self.hold_s[1]]
            if not times_s:
                self._seek(now_wall_s, self.hold_s[0], HoldSection(None))
                return 0.0
        self._render(times_s, self.clock.epoch)
        return 0.0

    def _on_grid(self, show_s: float) -> float:
        """Show time of the first display slot at or after show_s.

        The slots are a wall-time grid (1/fps apart from the start or the last seek), so a
        speed change or a resume keeps frames on the display's cadence.
        """
        clock = self.clock
        assert clock is not None
        if clock.is_paused:
            return show_s
        period_s = 1.0 / self.settings.fps
        wall_s = clock.wall_time_s(show_s)
        slots = math.ceil((wall_s - self.grid_wall_s) / period_s - TIME_EPSILON_S)
        return clock.show_time_s(self.grid_wall_s + slots * period_s)

    def _plan(self, now_wall_s: float) -> tuple[int, float]:
        """(frames in the next pass, wall seconds between them)."""
        slot_s = 1.0 / self.settings.fps
        limit = self.settings.max_batch
        if self.settings.max_frames is not None:
            limit = max(1, min(limit, self.settings.max_frames - self.next_index))
        if now_wall_s < self.live_until_wall_s:
            limit = 1  # live input: the shortest reaction
        candidates = [
            b
            for b in _powers_of_two(limit)
            if b == 1 or self._cost_s(b) * b <= self.settings.latency_budget_s
        ]
        # the smallest batch that keeps up with the display, else the one with the most frames/s
        keeping_up = [b for b in candidates if self._cost_s(b) * HEADROOM <= slot_s]
        # ties (untried sizes) go to the bigger batch, so it gets measured
        fastest = max(candidates, key=lambda b: (-self._cost_s(b), b))
        batch = keeping_up[0] if keeping_up else fastest
        spacing_s = max(slot_s, self._cost_s(batch) * HEADROOM)
        return batch, spacing_s

    def _cost_s(self, batch: int) -> float:
        """Estimated seconds per frame at this batch size (untried sizes: the next smaller's)."""
        known = [b for b in self.cost_s if b <= batch]
        if not known:
            return 0.0
        return self.cost_s[max(known)]

    def _render(
        self, times_s: Sequence[float], epoch: int, is_measured: bool = True
    ) -> list[Frame]:
        """Render one pass and queue its frames; a failure is logged and counted, never raised."""
        slots = [(self.next_index + k, t_s) for k, t_s in enumerate(times_s)]
        self.next_index += len(slots)
        started_s = self.wall_clock()
        lives = [self._live_at(t_s, started_s) for t_s in times_s]
        if self.clock is not None:  # the first frame keeps its longer allowance
            self._beat("pass")
        try:
            frames = self.renderer.render_batch(slots, live=lives, epoch=epoch)
        except Exception as err:  # one bad pass must not end the show; the last good frame stays
            if self.is_abandoned:
                return []
            if self.heartbeat is not None:
                self.heartbeat.pass_failed(err)  # the supervisor counts failed passes in a row
            self.stats.failed += len(slots)
            self.failure_log.log(logging.ERROR, "render failed frames=%d-%d show_time_s=%.3f",
                                 slots[0][0], slots[-1][0], times_s[0],
                                 exc_info=True)  # fmt: skip
            self.cost_s.clear()  # a failed big pass (e.g. out of memory): restart from one frame
            self._sleep(RETRY_DELAY_S)
            return []
        if self.is_abandoned:  # replaced while this pass ran (a hang): its frames are not wanted
            return []
        pass_s = self.wall_clock() - started_s
        if self.heartbeat is not None:
            self.heartbeat.pass_done(pass_s, is_measured)
        per_frame_s = pass_s / len(slots)
        old_s = self.cost_s.get(len(slots))
        if is_measured:
            self.cost_s[len(slots)] = per_frame_s if old_s is None else (
                (1 - COST_SMOOTHING) * old_s + COST_SMOOTHING * per_frame_s
            )  # fmt: skip
        self.stats.passes += 1
        self.stats.batch_sizes[len(slots)] = self.stats.batch_sizes.get(len(slots), 0) + 1
        for frame in frames:
            self.stats.generated += 1
            self.stats.gen_ms.append(frame.gen_ms)
            if put_newest(self.frames, frame):
                self.stats.dropped += 1
                self.drop_log.log(logging.WARNING, "frame dropped: display behind render "
                                  "dropped=%d", self.stats.dropped)  # fmt: skip
        return frames

    def _live_at(self, show_s: float, now_wall_s: float) -> dict[str, Any]:
        """Live values as they will be when the frame for show_s is on screen."""
        wall_s = now_wall_s if self.clock is None else self.clock.wall_time_s(show_s)
        if not math.isfinite(wall_s):  # paused
            wall_s = now_wall_s
        live: dict[str, Any] = dict(self.live.at(max(wall_s, now_wall_s)))
        if LIVE_LATENT in live:  # the glide's weight, with its target ws
            live[LIVE_LATENT] = (self.latent_target, live[LIVE_LATENT][1])
        return live

    def _sleep(self, seconds: float) -> None:
        """Wait (used after failures); commands that arrive meanwhile stay queued."""
        threading.Event().wait(seconds)

    def _drain_commands(self) -> None:
        """Apply the commands queued now in arrival order (not those that come meanwhile: a
        storm of messages must not keep this thread from rendering)."""
        for _ in range(self.commands.qsize()):
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self._apply(command)

    def _apply(self, command: Command) -> None:
        """Apply one command; a failure is logged with its traceback and the show plays on."""
        self.stats.commands += 1
        try:
            self._apply_command(command)
        except Exception:  # input must never end the show (STYLE.md §10)
            self.stats.failed_commands += 1
            self.failure_log.log(logging.ERROR, "command failed and was dropped: %r", command,
                                 exc_info=True)  # fmt: skip

    def _apply_command(self, command: Command) -> None:
        """Apply one command to the clock / schedule (render thread only)."""
        now_wall_s = self.wall_clock()
        self.live_until_wall_s = now_wall_s + LIVE_HOLD_S
        clock = self.clock
        if clock is None:
            return
        now_show_s = clock.show_time_s(now_wall_s)
        if isinstance(command, TogglePause | SetPaused):
            is_paused = not clock.is_paused if isinstance(command, TogglePause) else (
                command.is_paused
            )  # fmt: skip
            self.clock = clock.paused(now_wall_s, is_paused)
            if is_paused != clock.is_paused:
                log.info("show %s show_time_s=%.3f", "paused" if is_paused else "resumed",
                         now_show_s)  # fmt: skip
            self.needs_still = is_paused  # frames already scheduled ahead stay valid
        elif isinstance(command, JumpSection | GoToSection | Seek):
            target_s = self._target_s(command, now_show_s)
            if target_s is not None:
                self._seek(now_wall_s, target_s, command)
        elif isinstance(command, ReloadShow):
            self._reload()
        elif isinstance(command, SetLive):
            self._set_live(command, now_wall_s, now_show_s)
        elif isinstance(command, SetSpeed):
            self._set_speed(command.speed, now_wall_s, now_show_s)
        elif isinstance(command, Blackout):
            level = min(max(command.level, 0.0), 1.0)
            self.fade = Fade(self.fade.level_at(now_wall_s), level, now_wall_s,
                             max(command.fade_s, 0.0))  # fmt: skip
            log.info("fade level=%g fade_s=%g", level, command.fade_s)
        elif isinstance(command, LoadShow):
            self._load_show(command.name)
        elif isinstance(command, GlideTo):
            self._glide_to(command, now_wall_s, now_show_s)
        elif isinstance(command, SetNoiseMode):
            self._set_noise_mode(command.mode)
        elif isinstance(command, SetMixing):
            self._set_mixing(command, now_show_s)
        elif isinstance(command, SensorInput):
            self._sensor(command, now_wall_s, now_show_s)
        elif isinstance(command, HoldSection):
            self._hold_section(command.name, now_wall_s, now_show_s)
        else:
            log.error("unknown command dropped: %r", command)

    def _playing(self, show_s: float) -> tuple[int, Any]:
        """(index, section) playing at show_s, in the timeline segment playing then."""
        offset_s, timeline = self.renderer.timeline.active(show_s)
        index = section_index_at(timeline.lengths_s, show_s - offset_s)
        return index, timeline.show.sections[index]

    def section_index_at(self, show_s: float) -> tuple[int, str]:
        """(index, name) of the section playing at show_s (any thread may ask)."""
        index, section = self._playing(show_s)
        return index, section.name

    def section_at(self, show_s: float) -> Any:
        """The section playing at show_s (any thread may ask: OSC checks what it steers)."""
        return self._playing(show_s)[1]

    def _set_live(self, command: SetLive, now_wall_s: float, now_show_s: float) -> None:
        """Steer a live parameter with the playing section's range, slew and hold."""
        if command.name == "speed":
            self._set_speed(command.value, now_wall_s, now_show_s)
            return
        section = self.section_at(now_show_s)
        if live_range(section, command.name) is None:
            self.live_log.log(logging.WARNING, "live %r is not steerable in section %r (its "
                              "live block lists: %s)", command.name, section.name,
                              ", ".join(p.name for p in section.live) or "-")  # fmt: skip
            return
        param = _live_param(section, command.name)
        slew_s = LIVE_DEFAULT_SLEW_S if param is None else param.slew_s
        hold_s = LIVE_DEFAULT_HOLD_S if param is None else param.hold_s
        self.live.set(command.name, command.value, now_wall_s, slew_s, hold_s)
        self.live.forget_finished(now_wall_s)
        self._show_change_while_paused()

    def _glide_to(self, command: GlideTo, now_wall_s: float, now_show_s: float) -> None:
        """Glide from the walk to a seed's or a stored latent's ws; it holds, then hands back."""
        model = self.section_at(now_show_s).model
        try:
            if command.seed is not None:
                target = self.renderer.target_ws(model, int(command.seed))  # type: ignore[attr-defined]
                what = f"seed {command.seed}"
            else:
                target = self._stored_latent(str(command.latent), model)
                what = f"latent {command.latent!r}"
        except (OSError, ValueError, KeyError) as err:
            log.error("glide to %s dropped: %s", command.seed if command.latent is None
                      else repr(command.latent), err)  # fmt: skip
            return
        self.latent_target = target
        self.live.set(LIVE_LATENT, 0.0, now_wall_s, max(command.glide_s, 0.0),
                      LIVE_DEFAULT_HOLD_S)  # fmt: skip
        self._show_change_while_paused()
        log.info("glide to %s glide_s=%g hold_s=%g model=%s", what, command.glide_s,
                 LIVE_DEFAULT_HOLD_S, model)  # fmt: skip

    def _stored_latent(self, name: str, model: str) -> np.ndarray:
        """ws [num_ws, w_dim] from latents/<name>.npy|.npz next to the show file (no pickles)."""
        folder = Path(self.renderer.show.path).parent / LATENTS_FOLDER  # type: ignore[attr-defined]
        path = next((p for p in (folder / f"{name}.npy", folder / f"{name}.npz") if p.is_file()),
                    None)  # fmt: skip
        if path is None or "/" in name or name.startswith("."):
            raise ValueError(f"no {name}.npy or {name}.npz in {folder}")
        # sizes checked from the headers before anything is read (ArrayFileError: a ValueError)
        if path.suffix == ".npz":
            arrays = read_npz(path, ("ws", "w"), kinds=NUMBERS)
            key = next((k for k in ("ws", "w") if k in arrays), None)
            if key is None:
                found = ", ".join(npz_infos(path))
                raise ValueError(f"{path}: no 'ws' or 'w' array (found: {found})")
            array = np.asarray(arrays[key], dtype=np.float32)
        else:
            array = np.asarray(read_npy(path), dtype=np.float32)
        G = self.renderer.generators[model]  # type: ignore[attr-defined]
        num_ws, w_dim = int(G.num_ws), int(G.w_dim)
        if array.size == num_ws * w_dim:  # any layout of exactly the ws' numbers
            array = array.reshape(num_ws, w_dim)
        ws = as_ws(array, num_ws, w_dim)  # the stored-w rules the show loader uses
        if ws is None:
            raise ValueError(f"{path}: shape {array.shape}, model {model!r} needs "
                             f"[{num_ws}, {w_dim}] or [{w_dim}]")  # fmt: skip
        return np.ascontiguousarray(ws)

    def _set_noise_mode(self, mode: str | None) -> None:
        """StyleGAN2 noise from now on: const, random, none, or None for the show's."""
        if mode is not None and mode not in NOISE_MODES:
            log.error("noise mode %r dropped: expected one of %s", mode, ", ".join(NOISE_MODES))
            return
        self.renderer.noise_mode_override = mode  # type: ignore[attr-defined]
        self._show_change_while_paused()
        log.info("noise mode=%s", mode or "show")

    def _set_mixing(self, command: SetMixing, now_show_s: float) -> None:
        """Live style mixing: ws rows first..stop-1 from a seed (None: the show's own mixing)."""
        if command.seed is None:
            self.renderer.mixing_override = None  # type: ignore[attr-defined]
            log.info("mixing=show")
        else:
            model = self.section_at(now_show_s).model
            source = self.renderer.target_ws(model, int(command.seed))  # type: ignore[attr-defined]
            first = max(int(command.first), 0)
            self.renderer.mixing_override = (source, first, command.stop)  # type: ignore[attr-defined]
            log.info("mixing seed=%d rows=%d..%s", command.seed, first,
                     "end" if command.stop is None else command.stop - 1)  # fmt: skip
        self._show_change_while_paused()

    def _show_change_while_paused(self) -> None:
        """A live change while paused: render the still again so the screen shows it."""
        self.needs_still = self.clock is not None and self.clock.is_paused

    def _sensor(self, command: SensorInput, now_wall_s: float, now_show_s: float) -> None:
        """Map a sensor reading through the show's `sensors` block onto its live target."""
        show = self.renderer.timeline.show  # the newest show (a reload brings its own sensors)
        if self.sensor_bank is None or self.sensor_bank_show is not show:
            self.sensor_bank = SensorBank(getattr(show, "sensors", ()))
            self.sensor_bank_show = show
        try:
            output = self.sensor_bank.feed(command.name, command.values, now_wall_s)
        except SensorReadingError as err:
            self.live_log.log(logging.WARNING, "sensor reading dropped: %s", err)
            return
        if output is None:
            self.live_log.log(logging.WARNING, "sensor %r is not in the show (it has: %s)",
                              command.name, ", ".join(self.sensor_bank.names) or "-")  # fmt: skip
            return
        if output.target == "speed":
            self._set_speed(output.value, now_wall_s, now_show_s)
            return
        section = self.section_at(now_show_s)
        if live_range(section, output.target) is None:
            self.live_log.log(logging.WARNING, "sensor %r: live %r is not steerable in section "
                              "%r", command.name, output.target, section.name)  # fmt: skip
            return
        param = _live_param(section, output.target)
        slew_s = SENSOR_SLEW_S if param is None else param.slew_s
        self.live.set(output.target, output.value, now_wall_s, slew_s, output.hold_s)
        self._show_change_while_paused()

    def _set_speed(self, speed: float, now_wall_s: float, now_show_s: float) -> None:
        """Run the show clock at `speed` (clamped to the section's live range, if it has one)."""
        assert self.clock is not None
        low, high = SPEED_RANGE
        section = self.section_at(now_show_s)
        param = _live_param(section, "speed")
        if param is not None:
            low, high = param.range
        speed = float(min(max(speed, low), high, SPEED_RANGE[1]))
        speed = max(speed, SPEED_RANGE[0])
        self.clock = self.clock.with_rate(now_wall_s, speed)
        self.next_show_s = max(self.next_show_s, now_show_s)
        log.info("speed=%g show_time_s=%.3f", speed, now_show_s)

    def _load_show(self, name: str) -> None:
        """Switch to another show of the shows folder (the reloader checks and schedules it)."""
        if self.reloader is None or self.clock is None:
            log.warning("load show %r asked for, but this run has no reloader", name)
            return
        self._beat("reload")
        if self.reloader.load(name, self.clock.show_time_s(self.wall_clock())):
            self.needs_still = self.clock.is_paused

    def _target_s(
        self, command: JumpSection | GoToSection | Seek, now_show_s: float
    ) -> float | None:
        """Show time a seek-like command goes to, or None (logged) when it names nothing."""
        if isinstance(command, Seek):
            return max(0.0, command.show_s)
        offset_s, timeline = self.renderer.timeline.active(now_show_s)
        lengths_s = timeline.lengths_s
        local_s = now_show_s - offset_s
        if isinstance(command, JumpSection):
            return offset_s + section_jump_s(lengths_s, local_s, command.delta)
        names = [section.name for section in timeline.show.sections]
        index = command.target
        if isinstance(index, str):
            if index not in names:
                log.error("go to section %r: no such section (have: %s)", index, ", ".join(names))
                return None
            index = names.index(index)
        if not 0 <= index < len(names):
            log.error("go to section %d: out of range 0..%d", index, len(names) - 1)
            return None
        return offset_s + section_start_in_pass_s(lengths_s, local_s, index)

    def _hold_section(self, name: str | None, now_wall_s: float, now_show_s: float) -> None:
        """Start playing section `name` in a loop, or (None) end the hold where the show was."""
        if name is None:
            if self.hold_s is not None:
                self.hold_s = None
                self._seek(now_wall_s, self.resume_s, HoldSection(None))
            return
        start_s = self._target_s(GoToSection(name), now_show_s)
        if start_s is None:  # no such section (logged): the show plays on
            return
        offset_s, timeline = self.renderer.timeline.active(start_s)
        index = [section.name for section in timeline.show.sections].index(name)
        length_s = timeline.lengths_s[index]
        if not length_s > 0:
            log.error("hold section %r: it has no length; the show plays on", name)
            return
        if self.hold_s is None:
            self.resume_s = now_show_s
        self.hold_s = (start_s, start_s + length_s)
        log.info("holding section %r show_time_s=%.3f..%.3f (back to %.3f after)", name,
                 start_s, start_s + length_s, self.resume_s)  # fmt: skip
        self._seek(now_wall_s, start_s, HoldSection(name))

    def _seek(self, now_wall_s: float, target_s: float, command: Command) -> None:
        """Jump the clock to target_s (a new epoch: queued frames of the old one are dropped)."""
        assert self.clock is not None
        log.info("seek show_time_s=%.3f section=%r by=%s", target_s,
                 self.section_at(target_s).name, type(command).__name__)  # fmt: skip
        # like the start: render the target's frame first, then run the clock from it
        self.clock = self.clock.seek(now_wall_s, target_s)
        self._render([target_s], self.clock.epoch)
        self.clock = replace(self.clock, anchor_wall_s=self.wall_clock())
        self.grid_wall_s = self.clock.anchor_wall_s
        self.next_show_s = target_s + 1.0 / self.settings.fps
        self.needs_still = False

    def _reload(self) -> None:
        """Reload the show file now (the reloader schedules the switch and logs)."""
        if self.reloader is None or self.clock is None:
            log.warning("show reload asked for, but this run has no reloader")
            return
        self._beat("reload")  # loading models may take long: the startup allowance applies
        if self.reloader.reload(self.clock.show_time_s(self.wall_clock())):
            self.needs_still = self.clock.is_paused


def _live_param(section: Any, name: str) -> Any:
    """The section's `live` entry for `name` (its range, slew, hold), or None."""
    return next((param for param in section.live if param.name == name), None)


def _powers_of_two(limit: int) -> list[int]:
    """1, 2, 4, ... up to limit, and limit itself."""
    sizes = [1]
    while sizes[-1] * 2 <= limit:
        sizes.append(sizes[-1] * 2)
    if sizes[-1] != limit:
        sizes.append(limit)
    return sizes


def put_newest(frames: queue.Queue[Frame], frame: Frame) -> bool:
    """Put `frame`, dropping the oldest queued frame when full; True when one was dropped."""
    is_dropped = False
    while True:
        try:
            frames.put_nowait(frame)
            return is_dropped
        except queue.Full:
            try:
                frames.get_nowait()
                is_dropped = True
            except queue.Empty:
                pass  # the consumer took one meanwhile: there is room now
