"""Player: the one owner of the walk's live state, and the one place a command gets its meaning.

Every control source (the keyboard, OSC, sensors, opening hours, a show reload; tomorrow HTTP,
MIDI, audio, a network clock) only builds commands (`walk/commands.py`). The render thread hands
each one to `Player.apply`, which changes the live state: the show clock (pause, speed, seeks),
live values gliding in and holding, a glide to a place in latent space, a held section, the
picture's fade, and the noise-mode and style-mixing overrides. `params_at(t)` turns the schedule
(the timeline) and that state into one frame's fully resolved parameters.

What a command asks of the render loop itself (render a seek's frame first, reload a show file)
comes back as a `Reaction`; the loop only paces, batches and renders. Wall time is always an
argument, so tests drive the player with plain numbers. After a render-thread recovery the new
loop takes the old loop's Player over as one object.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from installation.logs import RateLimitedLog
from installation.show.schema import LIVE_DEFAULT_HOLD_S, LIVE_DEFAULT_SLEW_S, NOISE_MODES
from installation.walk.clock import ClockState
from installation.walk.commands import (
    Blackout,
    Bookmark,
    ClockLost,
    Command,
    FollowClock,
    GlideTo,
    GoToSection,
    HoldSection,
    JumpSection,
    ListPresets,
    LoadShow,
    RecallPreset,
    ReloadShow,
    SavePreset,
    Seek,
    SensorInput,
    SetLive,
    SetMixing,
    SetNoiseMode,
    SetPaused,
    SetSpeed,
    SetTempo,
    StepKeyframe,
    TogglePause,
)
from installation.walk.follow import FollowState, FollowStep, alone, follow
from installation.walk.live import LiveValues
from installation.walk.presets import (
    Preset,
    PresetError,
    PresetStore,
    name_problem,
)
from installation.walk.sensors import SensorBank, SensorReadingError
from installation.walk.tempo import BeatTime
from installation.walk.timeline import (
    LIVE_BEAT_TIME,
    LIVE_LATENT,
    SPEED_RANGE,
    FrameParams,
    LiveInput,
    live_range,
    resolved,
    section_index_at,
    section_jump_s,
    section_start_in_pass_s,
    segment_timing,
)

log = logging.getLogger(__name__)

SENSOR_SLEW_S = 0.1  # a sensor's glide when its target is not in the section's live block
# (the sensor's own smoothing does the real work; this only hides the message steps)


class TimelineLike(Protocol):
    """The schedule the player follows (walk/timeline.py Timeline, or the reload switch)."""

    show: Any

    def at(self, t_s: float, live: LiveInput | None = None) -> FrameParams: ...

    def active(self, t_s: float) -> tuple[float, Any]: ...


class LatentPlaces(Protocol):
    """Where a glide or a live mixing can go (the renderer knows the networks and the files)."""

    def target_ws(self, model: str, seed: int) -> np.ndarray: ...

    def stored_ws(self, name: str, model: str) -> np.ndarray: ...

    def store_ws(self, name: str, params: FrameParams) -> Path: ...


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


@dataclass(frozen=True)
class Reaction:
    """What a command asks of the render loop after the player applied it."""

    seek_s: float | None = None  # render this show time first, then run the clock from it
    seek_by: str = ""  # the command type behind the seek (logged)
    is_reload: bool = False  # re-read the show file
    load_show: str | None = None  # switch to this show of the shows folder
    is_speed_changed: bool = False  # the clock's rate changed at the current show time
    # live input: the loop keeps its lookahead short for a moment, so the next frames show it
    # (a shared clock's messages, five a second, are not: they would keep it short for good)
    is_live: bool = True


class Player:
    """The walk's live state (render thread only; other threads read single attributes)."""

    def __init__(
        self, timeline: TimelineLike, places: Any = None, presets: PresetStore | None = None
    ) -> None:
        """`timeline`: the schedule; `places`: a LatentPlaces (None: no glides, no mixing);
        `presets`: where the show's presets are kept (None: no presets)."""
        self.timeline = timeline
        self.places = places
        self.presets = presets
        self.clock: ClockState | None = None  # None until the first frame is ready
        self.live = LiveValues()
        self.latent_target: np.ndarray | None = None  # ws of the last GlideTo
        self.hold_s: tuple[float, float] | None = None  # (start, end) of a held section
        self.resume_s = 0.0  # show time to go back to when a hold ends
        self.fade = Fade(1.0, 1.0, 0.0, 0.0)  # picture level; the main thread reads it
        self.noise_mode: str | None = None  # live noise mode override (None: the show's)
        self.mixing: tuple[np.ndarray, int, int | None] | None = None  # live style mixing
        self.mixing_source: SetMixing | None = None  # what set `mixing` (a preset keeps it)
        self.glide_source: GlideTo | None = None  # what set `latent_target` (a preset keeps it)
        self.preset_names: tuple[str, ...] = ()  # of the show's presets file (status board)
        self.last_bookmark = ""  # the keyframe snippet of the last bookmark (status board)
        self.needs_still = False  # paused: render the frame at the paused time once
        self.beat_time = BeatTime()  # sections counting in beats follow the music's tempo
        self.sensor_bank: SensorBank | None = None  # built from the show's `sensors` on first use
        self.sensor_bank_show: Any = None
        self.live_log = RateLimitedLog(log, interval_s=60.0)
        self.follow_state: FollowState | None = None  # --sync follow: the leader's clock
        self.follow_log = RateLimitedLog(log, interval_s=10.0)

    @property
    def show(self) -> Any:
        """The newest show (a reload brings another)."""
        return self.timeline.show

    def take_over(self, timeline: TimelineLike, places: Any) -> ClockState | None:
        """Follow a new render thread's schedule and renderer; the clock it should resume.

        The clock goes back to None until the new thread's first frame is ready (as at start).
        """
        self.timeline, self.places = timeline, places
        clock, self.clock = self.clock, None
        return clock

    # -- frame parameters -------------------------------------------------------------------

    def params_at(self, show_s: float, now_wall_s: float) -> FrameParams:
        """The frame for show time `show_s`, fully resolved, as it will be when it is on screen."""
        params = self.timeline.at(show_s, self.live_at(show_s, now_wall_s))
        return resolved(params, noise_mode=self.noise_mode, mixing=self.mixing)

    def live_at(self, show_s: float, now_wall_s: float) -> dict[str, Any]:
        """Live values as they will be when the frame for show_s is on screen."""
        wall_s = now_wall_s if self.clock is None else self.clock.wall_time_s(show_s)
        if not math.isfinite(wall_s):  # paused
            wall_s = now_wall_s
        live: dict[str, Any] = dict(self.live.at(max(wall_s, now_wall_s)))
        if LIVE_LATENT in live:  # the glide's weight, with its target ws
            live[LIVE_LATENT] = (self.latent_target, live[LIVE_LATENT][1])
        beat = self._beat_time_at(show_s)
        if beat is not None:
            live[LIVE_BEAT_TIME] = beat
        return live

    def _beat_time_at(self, show_s: float) -> tuple[float, float] | None:
        """(section index, its beat time at show_s) when the section playing then follows the
        tempo and the music's tempo was ever not the show's; else None (show time is beat time)."""
        beat_time = self.beat_time
        if len(beat_time.rates) == 1 and beat_time.rate == 1.0:
            return None
        offset_s, timeline = self.timeline.active(show_s)
        lengths = getattr(timeline, "lengths_s", None)
        if lengths is None:
            return None
        index = section_index_at(lengths, show_s - offset_s)
        if not getattr(timeline.show.sections[index], "follows_tempo", False):
            return None
        start_s = offset_s + section_start_in_pass_s(lengths, show_s - offset_s, index)
        return float(index), beat_time.since(start_s, show_s)

    def _set_tempo(self, bpm: float, now_show_s: float) -> None:
        """The music's tempo: sections that count in beats follow it from now on."""
        show_bpm = float(getattr(self.show.settings, "tempo_bpm", 120.0))
        if not (math.isfinite(bpm) and bpm > 0):
            return
        if self.beat_time.set_rate(now_show_s, bpm / show_bpm):
            log.debug("tempo %.1f BPM: beat time at %.3fx show time", bpm, self.beat_time.rate)

    def held(self, times_s: Sequence[float]) -> tuple[list[float], float | None]:
        """The planned times inside a held section, and the show time to restart it at (or None).

        A held section plays again from its start at its end: once no planned time is left
        before the end, the loop seeks to the start.
        """
        if self.hold_s is None:
            return list(times_s), None
        kept = [t_s for t_s in times_s if t_s < self.hold_s[1]]
        return kept, (None if kept else self.hold_s[0])

    # -- sections -----------------------------------------------------------------------------

    def playing(self, show_s: float) -> tuple[int, Any]:
        """(index, section) playing at show_s, in the timeline segment playing then."""
        offset_s, timeline = self.timeline.active(show_s)
        index = section_index_at(timeline.lengths_s, show_s - offset_s)
        return index, timeline.show.sections[index]

    def section_at(self, show_s: float) -> Any:
        """The section playing at show_s (any thread may ask: OSC checks what it steers)."""
        return self.playing(show_s)[1]

    # -- commands -----------------------------------------------------------------------------

    def apply(self, command: Command, now_wall_s: float) -> Reaction:
        """Give one command its meaning at wall time `now_wall_s` (render thread only)."""
        clock = self.clock
        if clock is None:
            return Reaction()
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
                return Reaction(seek_s=target_s, seek_by=type(command).__name__)
        elif isinstance(command, StepKeyframe):
            target_s = self._keyframe_s(command.delta, now_show_s)
            if target_s is not None:
                return Reaction(seek_s=target_s, seek_by=StepKeyframe.__name__)
        elif isinstance(command, ReloadShow):
            return Reaction(is_reload=True)
        elif isinstance(command, LoadShow):
            return Reaction(load_show=command.name)
        elif isinstance(command, SetLive):
            return self._set_live(command, now_wall_s, now_show_s)
        elif isinstance(command, SetSpeed):
            return self._set_speed(command.speed, now_wall_s, now_show_s)
        elif isinstance(command, SetTempo):
            self._set_tempo(command.bpm, now_show_s)
        elif isinstance(command, Blackout):
            level = min(max(command.level, 0.0), 1.0)
            self.fade = Fade(self.fade.level_at(now_wall_s), level, now_wall_s,
                             max(command.fade_s, 0.0))  # fmt: skip
            log.info("fade level=%g fade_s=%g", level, command.fade_s)
        elif isinstance(command, GlideTo):
            self._glide_to(command, now_wall_s, now_show_s)
        elif isinstance(command, SetNoiseMode):
            self._set_noise_mode(command.mode)
        elif isinstance(command, SetMixing):
            self._set_mixing(command, now_show_s)
        elif isinstance(command, SensorInput):
            return self._sensor(command, now_wall_s, now_show_s)
        elif isinstance(command, HoldSection):
            return self._hold_section(command.name, now_show_s)
        elif isinstance(command, SavePreset):
            self._save_preset(command, now_wall_s, now_show_s)
        elif isinstance(command, RecallPreset):
            return self._recall_preset(command, now_wall_s, now_show_s)
        elif isinstance(command, ListPresets):
            self.refresh_presets()
        elif isinstance(command, Bookmark):
            self._bookmark(command.name, now_wall_s, now_show_s)
        elif isinstance(command, FollowClock):
            step = follow(clock, self.follow_state, command, now_wall_s)
            return replace(self._follow(step, command), is_live=False)
        elif isinstance(command, ClockLost):
            step = alone(clock, self.follow_state, now_wall_s)
            return replace(self._follow(step, command), is_live=False)
        else:
            log.error("unknown command dropped: %r", command)
        return Reaction()

    def _set_live(self, command: SetLive, now_wall_s: float, now_show_s: float) -> Reaction:
        """Steer a live parameter with the playing section's range, slew and hold."""
        if command.name == "speed":
            return self._set_speed(command.value, now_wall_s, now_show_s)
        section = self.section_at(now_show_s)
        if live_range(section, command.name) is None:
            self.live_log.log(logging.WARNING, "live %r is not steerable in section %r (its "
                              "live block lists: %s)", command.name, section.name,
                              ", ".join(p.name for p in section.live) or "-")  # fmt: skip
            return Reaction()
        param = _live_param(section, command.name)
        slew_s = LIVE_DEFAULT_SLEW_S if param is None else param.slew_s
        hold_s = LIVE_DEFAULT_HOLD_S if param is None else param.hold_s
        self.live.set(command.name, command.value, now_wall_s, slew_s, hold_s)
        self.live.forget_finished(now_wall_s)
        self._show_change_while_paused()
        return Reaction()

    def _glide_to(self, command: GlideTo, now_wall_s: float, now_show_s: float) -> None:
        """Glide from the walk to a seed's or a stored latent's ws; it holds, then hands back."""
        model = self.section_at(now_show_s).model
        try:
            if command.seed is not None:
                target = self.places.target_ws(model, int(command.seed))
                what = f"seed {command.seed}"
            else:
                target = self.places.stored_ws(str(command.latent), model)
                what = f"latent {command.latent!r}"
        except (OSError, ValueError, KeyError) as err:
            log.error("glide to %s dropped: %s", command.seed if command.latent is None
                      else repr(command.latent), err)  # fmt: skip
            return
        self.latent_target, self.glide_source = target, command
        self.live.set(LIVE_LATENT, 0.0, now_wall_s, max(command.glide_s, 0.0),
                      LIVE_DEFAULT_HOLD_S)  # fmt: skip
        self._show_change_while_paused()
        log.info("glide to %s glide_s=%g hold_s=%g model=%s", what, command.glide_s,
                 LIVE_DEFAULT_HOLD_S, model)  # fmt: skip

    def _set_noise_mode(self, mode: str | None) -> None:
        """StyleGAN2 noise from now on: const, random, none, or None for the show's."""
        if mode is not None and mode not in NOISE_MODES:
            log.error("noise mode %r dropped: expected one of %s", mode, ", ".join(NOISE_MODES))
            return
        self.noise_mode = mode
        self._show_change_while_paused()
        log.info("noise mode=%s", mode or "show")

    def _set_mixing(self, command: SetMixing, now_show_s: float) -> None:
        """Live style mixing: ws rows first..stop-1 from a seed (None: the show's own mixing)."""
        if command.seed is None:
            self.mixing = None
            log.info("mixing=show")
        else:
            model = self.section_at(now_show_s).model
            source = self.places.target_ws(model, int(command.seed))
            first = max(int(command.first), 0)
            self.mixing = (source, first, command.stop)
            self.mixing_source = command
            log.info("mixing seed=%d rows=%d..%s", command.seed, first,
                     "end" if command.stop is None else command.stop - 1)  # fmt: skip
        self._show_change_while_paused()

    def _show_change_while_paused(self) -> None:
        """A live change while paused: render the still again so the screen shows it."""
        self.needs_still = self.clock is not None and self.clock.is_paused

    def _sensor(self, command: SensorInput, now_wall_s: float, now_show_s: float) -> Reaction:
        """Map a sensor reading through the show's `sensors` block onto its live target."""
        show = self.timeline.show  # the newest show (a reload brings its own sensors)
        if self.sensor_bank is None or self.sensor_bank_show is not show:
            self.sensor_bank = SensorBank(getattr(show, "sensors", ()))
            self.sensor_bank_show = show
        try:
            output = self.sensor_bank.feed(command.name, command.values, now_wall_s)
        except SensorReadingError as err:
            self.live_log.log(logging.WARNING, "sensor reading dropped: %s", err)
            return Reaction()
        if output is None:
            self.live_log.log(logging.WARNING, "sensor %r is not in the show (it has: %s)",
                              command.name, ", ".join(self.sensor_bank.names) or "-")  # fmt: skip
            return Reaction()
        if output.target == "speed":
            return self._set_speed(output.value, now_wall_s, now_show_s)
        section = self.section_at(now_show_s)
        if live_range(section, output.target) is None:
            self.live_log.log(logging.WARNING, "sensor %r: live %r is not steerable in section "
                              "%r", command.name, output.target, section.name)  # fmt: skip
            return Reaction()
        param = _live_param(section, output.target)
        slew_s = SENSOR_SLEW_S if param is None else param.slew_s
        self.live.set(output.target, output.value, now_wall_s, slew_s, output.hold_s)
        self._show_change_while_paused()
        return Reaction()

    def _set_speed(self, speed: float, now_wall_s: float, now_show_s: float) -> Reaction:
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
        log.info("speed=%g show_time_s=%.3f", speed, now_show_s)
        return Reaction(is_speed_changed=True)

    def _follow(self, step: FollowStep | None, command: FollowClock | ClockLost) -> Reaction:
        """Take the clock walk/follow.py worked out from a leader's message (a slew or a seek)."""
        old = self.clock
        if step is None or old is None:
            if isinstance(command, FollowClock):
                self.follow_log.log(logging.WARNING, "leader clock refused: %r", command)
            return Reaction()
        self.clock, self.follow_state = step.clock, step.state
        if step.clock.is_paused != old.is_paused:
            self.needs_still = step.clock.is_paused
            log.info("show %s by the leader show_time_s=%.3f",
                     "paused" if step.clock.is_paused else "resumed",
                     step.clock.anchor_show_s)  # fmt: skip
        if step.seek_s is not None:
            log.info("following the leader: off by %.3f s, seeking", step.state.offset_s)
            return Reaction(seek_s=step.seek_s, seek_by=type(command).__name__)
        return Reaction(is_speed_changed=step.clock.rate != old.rate)

    def _target_s(
        self, command: JumpSection | GoToSection | Seek, now_show_s: float
    ) -> float | None:
        """Show time a seek-like command goes to, or None (logged) when it names nothing."""
        if isinstance(command, Seek):
            return max(0.0, command.show_s)
        offset_s, timeline = self.timeline.active(now_show_s)
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

    def _keyframe_s(self, delta: int, now_show_s: float) -> float | None:
        """Show time where the walk reaches its next (delta > 0) or previous keyframe (in the
        playing section; past its end: the next section's start); None for a noise loop."""
        offset_s, timeline = self.timeline.active(now_show_s)
        lengths_s = timeline.lengths_s
        index = section_index_at(lengths_s, now_show_s - offset_s)
        section = timeline.show.sections[index]
        if section.walk.path == "noise_loop":
            log.info("next/previous keyframe: section %r walks a noise loop, which has none",
                     section.name)  # fmt: skip
            return None
        start_s = offset_s + section_start_in_pass_s(lengths_s, now_show_s - offset_s, index)
        speed = float(getattr(timeline, "speed", 1.0))
        beat = self._beat_time_at(now_show_s)
        walk_s = (beat[1] if beat is not None else now_show_s - start_s) * speed  # walk seconds
        latents = timeline.latents[section.name]
        timing = segment_timing(section, len(latents.keyframes),
                                getattr(latents, "retime_shares", None))  # fmt: skip
        period_s = section.walk.period_s()
        arrivals = [0.0] + [start + duration for start, duration, _ in timing]  # in one pass
        if period_s <= 0:
            return None
        passes = math.floor(walk_s / period_s)
        marks = [passes * period_s + a for k in (-1, 0, 1) for a in
                 (x + k * period_s for x in arrivals)]  # fmt: skip
        marks = sorted(set(round(m, 9) for m in marks))
        tolerance_s = 0.25  # "previous" right after a keyframe goes to the one before it
        if delta > 0:
            target = next((m for m in marks if m > walk_s + 1e-6), marks[-1])
        else:
            target = max((m for m in marks if m < walk_s - tolerance_s), default=0.0)
        target_s = start_s + max(target, 0.0) / speed
        return min(target_s, start_s + lengths_s[index])  # past the end: the next section

    def _hold_section(self, name: str | None, now_show_s: float) -> Reaction:
        """Start playing section `name` in a loop, or (None) end the hold where the show was."""
        if name is None:
            if self.hold_s is None:
                return Reaction()
            self.hold_s = None
            return Reaction(seek_s=self.resume_s, seek_by=HoldSection.__name__)
        start_s = self._target_s(GoToSection(name), now_show_s)
        if start_s is None:  # no such section (logged): the show plays on
            return Reaction()
        offset_s, timeline = self.timeline.active(start_s)
        index = [section.name for section in timeline.show.sections].index(name)
        length_s = timeline.lengths_s[index]
        if not length_s > 0:
            log.error("hold section %r: it has no length; the show plays on", name)
            return Reaction()
        if self.hold_s is None:
            self.resume_s = now_show_s
        self.hold_s = (start_s, start_s + length_s)
        log.info("holding section %r show_time_s=%.3f..%.3f (back to %.3f after)", name,
                 start_s, start_s + length_s, self.resume_s)  # fmt: skip
        return Reaction(seek_s=start_s, seek_by=HoldSection.__name__)

    # -- presets and bookmarks ----------------------------------------------------------------

    @property
    def presets_file(self) -> Path:
        """Where the show's presets are kept (`<show stem>.presets.yaml` next to it)."""
        if self.presets is None:
            raise PresetError("presets are not kept in this run")
        return self.presets.path(self.show.path)

    def _read_presets(self) -> dict[str, Preset]:
        if self.presets is None:
            raise PresetError("presets are not kept in this run")
        return self.presets.read(self.show.path)

    def refresh_presets(self) -> None:
        """Read the names of the show's presets (status board); a broken file is logged."""
        if self.presets is None or getattr(self.show, "path", None) is None:
            self.preset_names = ()  # no store, or a schedule without a show file
            return
        try:
            self.preset_names = tuple(self._read_presets())
        except PresetError as err:
            log.error("presets not read: %s", err)

    def snapshot(self, now_wall_s: float, now_show_s: float, with_time: bool = False) -> Preset:
        """Everything live now, as a preset (`with_time`: also the section and show time)."""
        live = self.live.at(now_wall_s)
        section = self.section_at(now_show_s).name if with_time else None
        return Preset(
            live=tuple((name, float(value)) for name, (value, _) in sorted(live.items())
                       if name != LIVE_LATENT),
            speed=None if self.clock is None else float(self.clock.rate),
            noise_mode=self.noise_mode,
            mixing=self.mixing_source if self.mixing is not None else None,
            glide=self.glide_source if LIVE_LATENT in live else None,
            section=section,
            show_s=float(now_show_s) if with_time else None,
        )  # fmt: skip

    def _save_preset(self, command: SavePreset, now_wall_s: float, now_show_s: float) -> None:
        """Write the snapshot to the show's presets file (a broken file is left as it is)."""
        preset = self.snapshot(now_wall_s, now_show_s, command.with_time)
        try:
            if self.presets is None:
                raise PresetError("presets are not kept in this run")
            self.preset_names = self.presets.save(self.show.path, command.name, preset)
        except PresetError as err:
            log.error("preset %r not saved: %s", command.name[:100], err)
            return
        log.info("preset %r saved to %s live=%d with_time=%s", command.name, self.presets_file,
                 len(preset.live), command.with_time)  # fmt: skip

    def _recall_preset(self, command: RecallPreset, now_wall_s: float,
                       now_show_s: float) -> Reaction:  # fmt: skip
        """Glide to a preset's values; an unknown name or a broken file changes nothing."""
        try:
            presets = self._read_presets()
        except PresetError as err:
            log.error("preset %r not recalled: %s", command.name[:100], err)
            return Reaction()
        self.preset_names = tuple(presets)
        preset = presets.get(command.name)
        if preset is None:
            log.error("preset %r not recalled: no such preset in %s (have: %s)",
                      command.name[:100], self.presets_file.name,
                      ", ".join(presets) or "-")  # fmt: skip
            return Reaction()
        target_s = now_show_s if preset.show_s is None else preset.show_s
        section = self.section_at(target_s)
        if preset.section is not None and preset.section != section.name:
            log.warning("preset %r: show_s=%g now plays section %r, not %r", command.name,
                        target_s, section.name, preset.section)  # fmt: skip
        try:  # what can fail comes first: a failure changes nothing
            glide_ws = mixing_ws = None
            if preset.glide is not None:
                glide = preset.glide
                if glide.seed is not None:
                    glide_ws = self.places.target_ws(section.model, int(glide.seed))
                else:
                    glide_ws = self.places.stored_ws(str(glide.latent), section.model)
            if preset.mixing is not None and preset.mixing.seed is not None:
                mixing_ws = self.places.target_ws(section.model, int(preset.mixing.seed))
        except (OSError, ValueError, KeyError, AttributeError) as err:
            log.error("preset %r not recalled: %s", command.name, err)
            return Reaction()
        self._recall_live(preset, section, command.glide_s, now_wall_s)
        if glide_ws is not None and preset.glide is not None:
            glide_s = preset.glide.glide_s if command.glide_s is None else command.glide_s
            self.latent_target, self.glide_source = glide_ws, preset.glide
            self.live.set(LIVE_LATENT, 0.0, now_wall_s, max(glide_s, 0.0), LIVE_DEFAULT_HOLD_S)
        self.noise_mode = preset.noise_mode
        self.mixing_source = preset.mixing
        self.mixing = None if mixing_ws is None or preset.mixing is None else (
            mixing_ws, preset.mixing.first, preset.mixing.stop)  # fmt: skip
        self._show_change_while_paused()
        reaction = Reaction()
        if preset.speed is not None:
            reaction = self._set_speed(preset.speed, now_wall_s, now_show_s)
        log.info("preset %r recalled live=%d glide_s=%s show_s=%s", command.name,
                 len(preset.live), command.glide_s, preset.show_s)  # fmt: skip
        if preset.show_s is not None:
            return replace(reaction, seek_s=preset.show_s, seek_by=RecallPreset.__name__)
        return reaction

    def _recall_live(self, preset: Preset, section: Any, glide_s: float | None,
                     now_wall_s: float) -> None:  # fmt: skip
        """Live values glide to the preset's; the ones it does not set hand back."""
        values = dict(preset.live)
        for name, value in self.live.at(now_wall_s).items():
            if name not in values and name != LIVE_LATENT:  # hold 0: the schedule takes over
                self.live.set(name, value[0], now_wall_s, LIVE_DEFAULT_SLEW_S, 0.0)
        if LIVE_LATENT in self.live.tracks and preset.glide is None:
            self.live.set(LIVE_LATENT, 0.0, now_wall_s, LIVE_DEFAULT_SLEW_S, 0.0)
        for name, value in values.items():
            if live_range(section, name) is None:
                log.warning("preset live %r is not steerable in section %r; left out", name,
                            section.name)  # fmt: skip
                continue
            param = _live_param(section, name)
            slew_s = (LIVE_DEFAULT_SLEW_S if param is None else param.slew_s) if glide_s is None \
                else max(glide_s, 0.0)  # fmt: skip
            hold_s = LIVE_DEFAULT_HOLD_S if param is None else param.hold_s
            self.live.set(name, value, now_wall_s, slew_s, hold_s)

    def _bookmark(self, name: str, now_wall_s: float, now_show_s: float) -> None:
        """Store the ws on screen now as latents/<name>.npy and log the keyframe that uses it."""
        problem = name_problem(name)
        if problem is not None:
            log.error("bookmark dropped: %s", problem)
            return
        try:
            path = self.places.store_ws(name, self.params_at(now_show_s, now_wall_s))
        except (OSError, ValueError, AttributeError) as err:
            log.error("bookmark %r not stored: %s", name, err)
            return
        self.last_bookmark = f"{{w: {path.parent.name}/{path.name}}}"
        log.info("bookmark %r stored: %s; keyframe: %s", name, path, self.last_bookmark)

    # -- the clock ----------------------------------------------------------------------------

    def start_clock(self, now_wall_s: float, start_s: float, resume: ClockState | None) -> None:
        """Run the clock from show time start_s at now_wall_s (a resumed clock keeps its rate,
        pause and epoch)."""
        clock = ClockState(anchor_wall_s=now_wall_s) if resume is None else resume
        self.clock = replace(clock, anchor_wall_s=now_wall_s, anchor_show_s=start_s)
        self.beat_time.restart(start_s)
        self.refresh_presets()

    def seek(self, now_wall_s: float, target_s: float) -> None:
        """Jump the clock to target_s (a new epoch: queued frames of the old one are dropped)."""
        assert self.clock is not None
        self.clock = self.clock.seek(now_wall_s, target_s)
        self.beat_time.restart(target_s)
        self.needs_still = False

    def anchor(self, now_wall_s: float) -> None:
        """Let the clock run from its current show time at now_wall_s (after a seek's frame)."""
        assert self.clock is not None
        self.clock = replace(self.clock, anchor_wall_s=now_wall_s)


def _live_param(section: Any, name: str) -> Any:
    """The section's `live` entry for `name` (its range, slew, hold), or None."""
    return next((param for param in section.live if param.name == name), None)
