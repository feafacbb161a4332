"""RenderLoop: the render thread's work: drain commands -> schedule show times -> render -> frames.

Commands get their meaning in the Player (walk/player.py), which the loop hands each one to; the
loop itself only paces, batches and renders, and does what the Player's Reaction asks (render a
seek's frame first, reload the show file).

The walk is scheduled, so the loop renders future frames ahead of the show clock, several in one
generator pass (lookahead) when that is what keeps up with the display, within a latency budget
that live input shortens. It never runs further ahead than it must: the first frame of a batch
is started just early enough to be ready (plus one frame when the presenter blends).

Show time lives in the Player's ClockState, which only this thread replaces (pause, seek, section
jumps); the main thread reads `loop.clock` to pace the frames it receives. Every wall time comes
from the injected `wall_clock`, so tests drive the loop step by step with a fake clock.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from installation.logs import RateLimitedLog
from installation.render.frame import Frame
from installation.walk.clock import ClockState
from installation.walk.commands import Command
from installation.walk.player import Fade, Player, Reaction
from installation.walk.presets import PresetStore

log = logging.getLogger(__name__)

LIVE_HOLD_S = 3.0  # after live input, render one frame per pass for this long (low latency)
HEADROOM = 1.15  # a frame is planned to take this much longer than its recent cost
RETRY_DELAY_S = 0.5  # pause after a failed pass before trying again
IDLE_WAIT_S = 0.1  # paused with nothing to do: look at the commands this often
GEN_MS_WINDOW = 1000  # frames kept for the generation-time median/p95
TIME_EPSILON_S = 1e-6  # closer than this to the start time counts as on time
COST_SMOOTHING = 0.3  # weight of the newest pass in the per-frame cost estimate (EMA)


class BatchRenderer(Protocol):
    """What the loop needs of the renderer (ShowRenderer, or a test stand-in)."""

    timeline: Any  # the schedule the Player follows (.at(t, live), .active(t), .show)

    def render_batch(
        self, slots: Sequence[tuple[int, float]], params: Sequence[Any], epoch: int = 0,
    ) -> list[Frame]: ...  # fmt: skip


class Heartbeat(Protocol):
    """What the loop tells whoever watches the render thread (run/ recovery's Heartbeat)."""

    is_abandoned: bool

    def beat(self, activity: str) -> None: ...

    def pass_done(self, pass_s: float, is_measured: bool = True) -> None: ...

    def pass_failed(self, error: BaseException) -> None: ...

    def crashed(self, error: BaseException) -> None: ...


class Reloading(Protocol):
    """Hot reload as the loop uses it (run/show_reload.py Reloader): reload and load
    start a build off this thread; poll swaps a finished one in (True when it did)."""

    def is_file_changed(self) -> bool: ...

    def reload(self, show_time_s: float) -> bool: ...

    def load(self, name: str, show_time_s: float) -> bool: ...

    def poll(self, show_time_s: float) -> bool: ...


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
        presets: PresetStore | None = None,
    ) -> None:
        """`heartbeat`: supervised (app.play); `resume_from`: the loop this one replaces after a
        recovery (its Player, statistics and frame count carry on); `presets`: where the
        show's presets are kept (run/presets_file.py; None: no presets)."""
        self.renderer = renderer
        self.frames = frames
        self.commands = commands
        self.settings = settings
        self.wall_clock = wall_clock
        self.reloader = reloader
        self.player = Player(renderer.timeline, renderer, presets)  # the walk's live state
        self.stats = RenderStats()
        self.next_show_s = settings.start_s  # the next show time to render
        self.next_index = 0
        self.live_until_wall_s = -math.inf
        self.cost_s: dict[int, float] = {}  # batch size -> estimated seconds per frame
        self.grid_wall_s = 0.0  # wall time of display slot 0 (set at the start and seeks)
        self.failure_log = RateLimitedLog(log, interval_s=10.0)
        self.drop_log = RateLimitedLog(log, interval_s=60.0)
        self.heartbeat = heartbeat
        self.resume_clock: ClockState | None = None
        if resume_from is not None:
            self._carry_on(resume_from)

    def _carry_on(self, old: RenderLoop) -> None:
        """Take over from an abandoned render thread's loop: its Player (live values, holds,
        overrides, fade) goes on, and show time goes on from its clock."""
        self.player = old.player
        self.resume_clock = self.player.take_over(self.renderer.timeline, self.renderer)
        self.stats = old.stats
        self.next_index = old.next_index

    @property
    def clock(self) -> ClockState | None:
        """The show clock (the Player's; None until the first frame); the main thread reads it."""
        return self.player.clock

    @property
    def fade(self) -> Fade:
        """The picture's level (the Player's); the main thread reads it."""
        return self.player.fade

    @property
    def show(self) -> Any:
        """The newest show (a reload or /show/load brings another); any thread may ask."""
        return self.player.show

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
                self.player.start_clock(now_s, start_s, resume)
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
        player = self.player
        clock = player.clock
        assert clock is not None, "step() before the first frame"
        now_wall_s = self.wall_clock()
        now_show_s = clock.show_time_s(now_wall_s)
        if self.reloader is not None and self.reloader.poll(now_show_s):  # a reload was built
            player.needs_still = clock.is_paused
            player.refresh_presets()  # /show/load: the new show's presets
        if clock.is_paused:
            if not player.needs_still:
                return IDLE_WAIT_S
            player.needs_still = False
            self._render([now_show_s], clock.epoch)
            return 0.0
        rate = clock.rate  # show seconds per wall second: wall durations x rate below
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
        times_s, restart_s = player.held(times_s)  # a held section plays again from its start
        if restart_s is not None:
            self._seek(now_wall_s, restart_s, "HoldSection")
            return 0.0
        self._render(times_s, clock.epoch)
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
        if self.clock is not None:  # the first frame keeps its longer allowance
            self._beat("pass")
        try:
            params = [self.player.params_at(t_s, started_s) for t_s in times_s]
            frames = self.renderer.render_batch(slots, params, epoch=epoch)
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
        """Hand one command to the Player, then do what it asks of the loop (render thread)."""
        now_wall_s = self.wall_clock()
        reaction = self.player.apply(command, now_wall_s)
        if reaction.is_live:  # the Player says whether it is live input (a shared clock is not)
            self.live_until_wall_s = now_wall_s + LIVE_HOLD_S
        self._react(reaction, now_wall_s)

    def _react(self, reaction: Reaction, now_wall_s: float) -> None:
        """Seek, reload or re-plan as the Player's reaction to a command says."""
        clock = self.player.clock
        if clock is None:
            return
        if reaction.is_speed_changed:
            self.next_show_s = max(self.next_show_s, clock.show_time_s(now_wall_s))
        if reaction.seek_s is not None:
            self._seek(now_wall_s, reaction.seek_s, reaction.seek_by)
        if reaction.is_reload:
            self._reload()
        if reaction.load_show is not None:
            self._load_show(reaction.load_show)

    def section_index_at(self, show_s: float) -> tuple[int, str]:
        """(index, name) of the section playing at show_s (any thread may ask)."""
        index, section = self.player.playing(show_s)
        return index, section.name

    def section_at(self, show_s: float) -> Any:
        """The section playing at show_s (any thread may ask: OSC checks what it steers)."""
        return self.player.section_at(show_s)

    def _load_show(self, name: str) -> None:
        """Switch to another show of the shows folder (the reloader checks and schedules it)."""
        clock = self.player.clock
        if self.reloader is None or clock is None:
            log.warning("load show %r asked for, but this run has no reloader", name)
            return
        self._beat("reload")
        if self.reloader.load(name, clock.show_time_s(self.wall_clock())):
            self.player.needs_still = clock.is_paused

    def _seek(self, now_wall_s: float, target_s: float, by: str) -> None:
        """Jump the clock to target_s (a new epoch: queued frames of the old one are dropped)."""
        log.info("seek show_time_s=%.3f section=%r by=%s", target_s,
                 self.section_at(target_s).name, by)  # fmt: skip
        # like the start: render the target's frame first, then run the clock from it
        self.player.seek(now_wall_s, target_s)
        assert self.player.clock is not None
        self._render([target_s], self.player.clock.epoch)
        self.player.anchor(self.wall_clock())
        self.grid_wall_s = self.player.clock.anchor_wall_s
        self.next_show_s = target_s + 1.0 / self.settings.fps

    def _reload(self) -> None:
        """Reload the show file now (the reloader schedules the switch and logs)."""
        clock = self.player.clock
        if self.reloader is None or clock is None:
            log.warning("show reload asked for, but this run has no reloader")
            return
        self._beat("reload")  # loading models may take long: the startup allowance applies
        if self.reloader.reload(clock.show_time_s(self.wall_clock())):
            self.player.needs_still = clock.is_paused


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
