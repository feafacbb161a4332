"""The timeline: a pure function of (show, show time, live inputs) -> frame parameters.

No clocks and no unseeded randomness: the same (show, t_s, live) always gives the same frame, so
offline renders, live play and several machines on one clock agree. Keyframe latents come in
already resolved (see `installation/render/resolve.py`); this module only interpolates them.

Time: sections are scheduled in show seconds (`Section.length_s(speed)`); inside a section, the
walk, automation and LFOs run on section time = seconds since the section began x show speed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np

from installation.models.latents import edit_ws, truncate_ws
from installation.show.schema import Curve, Layers, Lfo, Section, Show
from installation.walk.easing import ease
from installation.walk.paths import catmull_rom, lerp, noise_loop, segment_at, slerp

# Live values: a number, or (value, weight in [0, 1]) while it glides in or back to the schedule;
# LIVE_LATENT holds (ws array, weight).
LiveInput = Mapping[str, float | tuple[float, float] | tuple[np.ndarray, float]]
# What OSC may steer in a section that lists no `live` parameters (shows/README.md §8).
LIVE_DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "psi": (-1.0, 2.0),
    "cutoff": (0.0, 32.0),
    "noise_strength": (0.0, 5.0),
    "translate_x": (-1.0, 1.0),
    "translate_y": (-1.0, 1.0),
    "rotate_deg": (-360.0, 360.0),
}
DIRECTION_LIVE_RANGE = (-20.0, 20.0)
SPEED_RANGE = (0.05, 10.0)  # live show speed limits (times real time), in every section
LIVE_LATENT = "latent"  # live key of a glide target: (ws [num_ws, w_dim], weight)
# live key of a section that follows the tempo: (its index, its beat time in show seconds);
# the Player sets it (walk/tempo.py); without it a section's time is show time
LIVE_BEAT_TIME = "beat_time"


class SectionLatentsLike(Protocol):
    """What the timeline needs of a resolved section (render/resolve.py SectionLatents)."""

    keyframes: np.ndarray  # [K, num_ws, w_dim] (space w) or [K, z_dim] (space z)
    mixing_sources: tuple[np.ndarray, ...]  # [num_ws, w_dim] each, one per section.mixing
    directions: tuple[np.ndarray, ...]  # [num_ws, w_dim] each, one per section.directions
    w_avg: np.ndarray  # [w_dim]
    num_ws: int
    # optional: `retime`, one cumulative image-change table [samples + 1] per walk segment, and
    # `retime_shares`, each segment's share [n_segments] of the walk's moving time
    # (render/perceptual.py), read with getattr(latents, ..., None)


@dataclass(frozen=True, eq=False)
class WsEdits:
    """Edits of ws for a z walk, applied by the renderer after mapping z (mixing, then delta)."""

    mixing: tuple[tuple[int, int, np.ndarray], ...]  # (first row, stop row, ws [num_ws, w_dim])
    delta: np.ndarray | None  # [num_ws, w_dim] sum of the scaled directions, or None


@dataclass(frozen=True, eq=False)
class FrameParams:
    """Everything the renderer needs for one frame.

    `latent` is ws [num_ws, w_dim] with psi automation, mixing and directions applied (space w),
    or z [z_dim] (space z: the renderer maps it with `psi`/`cutoff`, then applies `ws_edits`).
    `crossfade` is (partner frame, weight in [0, 1]) during an image crossfade, else None.
    """

    section_index: int
    section_name: str
    model: str
    latent: np.ndarray
    space: str
    psi: float | None  # automation/live psi, or None: `default_psi` (see resolved_psi)
    cutoff: int | None
    noise_mode: str
    noise_strength: float | None  # None = the file's noise
    translate_xy: tuple[float, float]
    rotate_deg: float
    crossfade: tuple[FrameParams, float] | None = None
    ws_edits: WsEdits | None = None
    live_ws: tuple[np.ndarray, float] | None = None  # live glide target ws and its weight
    # psi without automation or live input: the model entry's for a z walk (the renderer maps z
    # with it); 1 for a w walk, whose keyframes carry their truncation already
    default_psi: float = 1.0
    # live style mixing (the Player's): ws rows first..stop-1 from `source`, after the edits
    live_mixing: tuple[np.ndarray, int, int | None] | None = None

    @property
    def resolved_psi(self) -> float:
        """The psi this frame is mapped with: its own, else `default_psi` (never None)."""
        return self.default_psi if self.psi is None else self.psi

    def same_as(self, other: FrameParams) -> bool:
        """Field-by-field equality, arrays compared exactly (== is identity here)."""
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "crossfade":
                if (a is None) != (b is None):
                    return False
                if a is not None and (a[1] != b[1] or not a[0].same_as(b[0])):
                    return False
            elif f.name == "live_ws":
                if (a is None) != (b is None):
                    return False
                if a is not None and (a[1] != b[1] or not np.array_equal(a[0], b[0])):
                    return False
            elif f.name == "live_mixing":
                if (a is None) != (b is None):
                    return False
                if a is not None and (a[1:] != b[1:] or not np.array_equal(a[0], b[0])):
                    return False
            elif f.name == "ws_edits":
                if (a is None) != (b is None):
                    return False
                if a is not None and not _same_edits(a, b):
                    return False
            elif isinstance(a, np.ndarray):
                if not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True


def _same_edits(a: WsEdits, b: WsEdits) -> bool:
    """Exact equality of two WsEdits."""
    if len(a.mixing) != len(b.mixing) or (a.delta is None) != (b.delta is None):
        return False
    if a.delta is not None and not np.array_equal(a.delta, b.delta):
        return False
    return all(
        x[:2] == y[:2] and np.array_equal(x[2], y[2])
        for x, y in zip(a.mixing, b.mixing, strict=True)
    )


def evaluate(signal: Curve | Lfo | float, t_s: float) -> float:
    """A curve (eased between keys, clamped outside), an LFO or a constant at time t_s."""
    if isinstance(signal, Lfo):
        cycles = t_s / signal.period_s + signal.phase
        return signal.center + signal.amplitude * wave(signal.shape, cycles, signal.seed)
    if isinstance(signal, Curve):
        keys = signal.keys
        if t_s <= keys[0][0]:
            return float(keys[0][1])
        for (t0, v0), (t1, v1) in zip(keys, keys[1:], strict=False):
            if t_s < t1:
                phase = (t_s - t0) / (t1 - t0) if t1 > t0 else 1.0
                return float(v0 + (v1 - v0) * float(ease(signal.easing, phase)))
        return float(keys[-1][1])
    return float(signal)


def wave(shape: str, cycles: float, seed: int = 0) -> float:
    """An LFO's wave at `cycles` (time / period + phase), within -1..1.

    sine, triangle and saw are 0 and rising at cycle 0 (the triangle peaks at 0.25 like the sine;
    the saw rises to 1 and drops to -1 at 0.5); square is +1 for the first half of each cycle;
    sample_hold holds one random level per cycle, a function of (seed, cycle) only, so a frame
    gets the same level live and offline.
    """
    fraction = cycles - math.floor(cycles)
    if shape == "triangle":
        if fraction < 0.25:
            return 4.0 * fraction
        return 2.0 - 4.0 * fraction if fraction < 0.75 else 4.0 * fraction - 4.0
    if shape == "saw":
        return 2.0 * ((fraction + 0.5) % 1.0) - 1.0
    if shape == "square":
        return 1.0 if fraction < 0.5 else -1.0
    if shape == "sample_hold":
        return 2.0 * _unit_hash(seed, math.floor(cycles)) - 1.0
    return math.sin(2.0 * math.pi * cycles)


def _unit_hash(seed: int, index: int) -> float:
    """A number in [0, 1) from (seed, index): splitmix64's finaliser, no state."""
    x = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % 2**64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % 2**64
    return ((x ^ (x >> 31)) >> 11) / 2**53


def layer_rows(layers: Layers, num_ws: int) -> slice:
    """The inclusive row range of `layers` as a slice of ws rows."""
    first = min(layers.first, num_ws)
    last = num_ws - 1 if layers.last is None else min(layers.last, num_ws - 1)
    return slice(first, max(last + 1, first))


def retime_phase(table: np.ndarray | None, phase: float) -> float:
    """The path phase q at which a segment's cumulative image change `table` reaches `phase`.

    The inverse is a monotone cubic (Fritsch-Carlson) through the table's points, so the path
    speed changes smoothly from one sample interval to the next (a linear inverse made it jump).

    Args:
        table: [S + 1] cumulative change from 0 to 1 at path phases linspace(0, 1, S + 1), or
            None (no retiming).
        phase: eased segment phase in [0, 1].
    Returns:
        Path phase in [0, 1] (phase itself when table is None or unusable).
    """
    if table is None or len(table) < 2:
        return phase
    table = np.asarray(table, dtype=np.float64)
    grid = np.linspace(0.0, 1.0, len(table))
    if len(table) < 3 or np.any(np.diff(table) <= 0):
        return float(np.interp(phase, table, grid))
    return float(monotone_cubic(table, grid, min(max(phase, 0.0), 1.0)))


def monotone_cubic(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """The monotone cubic Hermite interpolant (Fritsch-Carlson) of points (x, y) at `at`.

    x strictly increasing, y non-decreasing; the result never overshoots between points.
    """
    secants = np.diff(y) / np.diff(x)  # [S]
    slopes = np.empty_like(y)  # [S + 1]
    slopes[0], slopes[-1] = secants[0], secants[-1]
    slopes[1:-1] = np.where(
        secants[:-1] * secants[1:] > 0,
        2.0 / (1.0 / np.maximum(secants[:-1], 1e-300) + 1.0 / np.maximum(secants[1:], 1e-300)),
        0.0,
    )  # harmonic mean of the neighbouring secants: keeps every piece monotone
    k = int(np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2))
    h = x[k + 1] - x[k]
    u = (at - x[k]) / h
    h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
    h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
    return float(h00 * y[k] + h10 * h * slopes[k] + h01 * y[k + 1] + h11 * h * slopes[k + 1])


def segment_timing(
    section: Section, n_keyframes: int, shares: np.ndarray | None = None
) -> list[tuple[float, float, str]]:
    """(start, duration, easing) in walk seconds of the moving part of each walk segment.

    The first pass of the walk; holds come before their segment's start. A noise loop is one
    segment with linear timing. `shares`: each segment's share of the moving time (perceptual
    walks), instead of the durations the show gives.
    """
    walk = section.walk
    n_segments = segment_count(section, n_keyframes)
    if walk.path == "noise_loop":
        return [(0.0, walk.period_s(), "linear")]
    durations = _segment_durations(section, n_segments, shares)
    if walk.path == "random_walk":
        starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
        return [(float(a), float(d), walk.easing) for a, d in zip(starts, durations, strict=True)]
    timing = []
    start_s = 0.0
    for index in range(n_segments):
        key = walk.keyframes[index] if index < len(walk.keyframes) else None
        start_s += key.hold_s if key else 0.0
        timing.append((start_s, durations[index], (key.easing if key else None) or walk.easing))
        start_s += durations[index]
    return timing


def _segment_durations(
    section: Section, n_segments: int, shares: np.ndarray | None = None
) -> list[float]:
    """Seconds of each walk segment's movement: as the show says, or its moving time by shares."""
    walk = section.walk
    if walk.path == "random_walk":
        durations = [walk.seconds_per_keyframe] * n_segments
    else:
        durations = []
        for index in range(n_segments):
            key = walk.keyframes[index] if index < len(walk.keyframes) else None
            duration = key.duration_s if key and key.duration_s is not None else None
            durations.append(walk.seconds_per_keyframe if duration is None else duration)
    if shares is None or len(shares) != n_segments or n_segments < 2:
        return durations
    return [float(x) for x in np.asarray(shares, np.float64) * sum(durations)]


def segment_count(section: Section, n_keyframes: int) -> int:
    """How many segments the walk of `section` has through n_keyframes resolved keyframes."""
    walk = section.walk
    if walk.path == "noise_loop":
        return 1
    if walk.path == "random_walk":
        return n_keyframes if walk.closed else max(n_keyframes - 1, 1)
    return max(min(n_keyframes if walk.closed else n_keyframes - 1, len(walk.keyframes)), 0)


def segment_latent(
    section: Section, keyframes: np.ndarray, segment: int, q: float | np.ndarray
) -> np.ndarray:
    """The walk's latent at path phase q of segment `segment`, no easing, no retiming.

    For noise_loop the whole loop is segment 0 and q is the loop phase. A scalar q gives [...],
    an array q [N] gives [N, ...] (float64).
    """
    walk = section.walk
    keyframes = np.asarray(keyframes, dtype=np.float64)
    q_array = np.asarray(q, dtype=np.float64)
    if walk.path == "noise_loop":
        noise = walk.noise
        offset = noise_loop(
            noise.seed if noise else 0,
            keyframes.shape[-1],
            q_array,
            noise.radius if noise else 1.0,
            noise.harmonics if noise else 3,
        )  # [*q, dim]
        if q_array.ndim:
            offset = offset.reshape(q_array.shape + (1,) * (keyframes.ndim - 2) + offset.shape[-1:])
        return keyframes[0] + offset
    if walk.path in ("random_walk", "cubic"):
        return catmull_rom(keyframes, segment + q_array, walk.closed)
    following = (segment + 1) % len(keyframes)
    t = q_array.reshape(q_array.shape + (1,) * (keyframes.ndim - 1)) if q_array.ndim else q
    if walk.path == "slerp":
        if q_array.ndim:
            return np.stack(
                [slerp(keyframes[segment], keyframes[following], float(x)) for x in q_array]
            )
        return slerp(keyframes[segment], keyframes[following], float(q))
    return lerp(keyframes[segment], keyframes[following], t)


def walk_latent(
    section: Section,
    keyframes: np.ndarray,
    walk_t_s: float,
    retime: Sequence[np.ndarray] | None = None,
    shares: np.ndarray | None = None,
) -> np.ndarray:
    """The walk's latent at section time walk_t_s (wrapped by the walk's period).

    Args:
        section: the section whose walk is followed.
        keyframes: [K, ...] resolved latents (for noise_loop, [1, ...]: the centre).
        walk_t_s: section time in seconds.
        retime: optional cumulative image-change table per segment (perceptual walks): the eased
            segment phase is mapped through its inverse.
        shares: optional share of the moving time per segment (perceptual walks), instead of
            the durations the show gives.
    Returns:
        [...] float64 latent.
    """
    walk = section.walk
    keyframes = np.asarray(keyframes, dtype=np.float64)
    period_s = walk.period_s()
    if walk.path == "noise_loop":
        phase = walk_t_s / period_s if period_s > 0 else 0.0
        if retime:
            whole = math.floor(phase)
            phase = whole + retime_phase(retime[0], phase - whole)
        return segment_latent(section, keyframes, 0, phase)
    if walk.path == "random_walk":
        n_segments = segment_count(section, len(keyframes))
        durations = _segment_durations(section, n_segments, shares)
        whole, phase = segment_at(durations, walk_t_s, loop=True)
        eased = float(ease(walk.easing, phase))
        if retime:
            eased = retime_phase(retime[whole % len(retime)], eased)
        return catmull_rom(keyframes, whole + eased, walk.closed)
    return _keyframe_latent(section, keyframes, walk_t_s, retime, shares)


def _keyframe_latent(
    section: Section,
    keyframes: np.ndarray,
    walk_t_s: float,
    retime: Sequence[np.ndarray] | None = None,
    shares: np.ndarray | None = None,
) -> np.ndarray:
    """linear / slerp / cubic through keyframes with holds and per-segment durations, easing."""
    walk = section.walk
    count = len(keyframes)
    n_segments = min(count if walk.closed else count - 1, len(walk.keyframes))
    moving_s = _segment_durations(section, max(n_segments, 0), shares)
    durations_s: list[float] = []  # [hold_0, seg_0, hold_1, seg_1, ..., hold_{K-1}(, seg_{K-1})]
    for index in range(count):
        key = walk.keyframes[index] if index < len(walk.keyframes) else None
        durations_s.append(key.hold_s if key else 0.0)
        if index < n_segments:
            durations_s.append(moving_s[index])
    slot, phase = segment_at(durations_s, walk_t_s, loop=True)
    index, rest = _slot_keyframe(slot, count, n_segments)
    if not rest:  # a hold
        return keyframes[index]
    key = walk.keyframes[index]
    eased = float(ease(key.easing or walk.easing, phase))
    if retime and index < len(retime):
        eased = retime_phase(retime[index], eased)
    following = (index + 1) % count
    if walk.path == "slerp":
        return slerp(keyframes[index], keyframes[following], eased)
    if walk.path == "cubic":
        return catmull_rom(keyframes, index + eased, walk.closed)
    return lerp(keyframes[index], keyframes[following], eased)


def _slot_keyframe(slot: int, count: int, n_segments: int) -> tuple[int, bool]:
    """(keyframe index, is segment) of slot `slot` of the hold/segment list."""
    position = 0
    for index in range(count):
        if slot == position:
            return index, False
        position += 1
        if index < n_segments:
            if slot == position:
                return index, True
            position += 1
    return count - 1, False


LEAD_IN_STEP_S = 0.05  # the finite step that measures an open walk's starting velocity


def lead_in_latent(
    section: Section,
    keyframes: np.ndarray,
    walk_t_s: float,
    retime: Sequence[np.ndarray] | None = None,
    shares: np.ndarray | None = None,
) -> np.ndarray:
    """walk_latent, continued before section time 0 without a jump (a crossfade's lead-in).

    A periodic walk (closed, or a noise loop) runs backwards along its own path; an open walk
    goes back along its starting velocity (still when it starts with a hold or an ease-in).
    """
    walk = section.walk
    if walk_t_s >= 0 or walk.closed or walk.path == "noise_loop":
        return walk_latent(section, keyframes, walk_t_s, retime, shares)
    start = walk_latent(section, keyframes, 0.0, retime, shares)
    ahead = walk_latent(section, keyframes, LEAD_IN_STEP_S, retime, shares)
    return start + (walk_t_s / LEAD_IN_STEP_S) * (ahead - start)


def crossfade_weight(progress: float) -> float:
    """The partner's weight at `progress` in [0, 1] through a transition window: smoothstep.

    Its slope is 0 at both ends, so the blend adds no sudden motion where the window opens or
    closes; a linear weight made the step between frames double at the start of a crossfade.
    """
    x = min(max(progress, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _blends_in_latent_space(frame: FrameParams, partner: FrameParams, same_model: bool) -> bool:
    """Whether a crossfade can blend the two frames' latents (else it blends their images).

    Same model, same latent space and shape, and (for z) the same edits after mapping and
    the same cutoff, which a latent blend cannot interpolate.
    """
    if not same_model or frame.space != partner.space:
        return False
    if frame.latent.shape != partner.latent.shape:
        return False
    if frame.space == "z":
        if frame.cutoff != partner.cutoff:
            return False
        a, b = frame.ws_edits, partner.ws_edits
        if (a is None) != (b is None) or (a is not None and not _same_edits(a, b)):
            return False
    return True


def _blend_frames(frame: FrameParams, partner: FrameParams, weight: float) -> FrameParams:
    """`frame` moved towards `partner` by `weight`: latent, psi, noise and camera blended.

    A psi of None stands for the frame's resolved psi (FrameParams.resolved_psi).
    """

    def mix(a: float, b: float) -> float:
        return float(a + weight * (b - a))

    psi = frame.psi
    if frame.psi is not None or partner.psi is not None:
        psi = mix(frame.resolved_psi, partner.resolved_psi)
    noise = frame.noise_strength
    if frame.noise_strength is not None or partner.noise_strength is not None:
        a, b = (1.0 if x is None else x for x in (frame.noise_strength, partner.noise_strength))
        noise = mix(a, b)
    translate = (
        mix(frame.translate_xy[0], partner.translate_xy[0]),
        mix(frame.translate_xy[1], partner.translate_xy[1]),
    )
    return _replace(
        frame,
        latent=lerp(frame.latent, partner.latent, weight).astype(np.float32),
        psi=psi,
        noise_strength=noise,
        translate_xy=translate,
        rotate_deg=mix(frame.rotate_deg, partner.rotate_deg),
    )


class Timeline:
    """Frame parameters at any show time; the playlist of sections loops forever."""

    def __init__(self, show: Show, latents: Mapping[str, SectionLatentsLike]) -> None:
        """Keep the show and the resolved latents of each section (keyed by section name)."""
        missing = [s.name for s in show.sections if s.name not in latents]
        if missing:
            raise ValueError(f"no resolved latents for sections: {', '.join(missing)}")
        self.show = show
        self.latents = dict(latents)
        self.speed = show.settings.speed
        self.lengths_s = [s.length_s(self.speed) for s in show.sections]  # show seconds
        if sum(self.lengths_s) <= 0:
            raise ValueError(f"{show.path}: the show lasts 0 s")

    def active(self, t_s: float) -> tuple[float, Timeline]:
        """(0.0, self): the same question a SwitchingTimeline answers for its segments."""
        return 0.0, self

    def section_start_s(self, index: int) -> float:
        """Show time at which section `index` starts in the first pass of the playlist."""
        return float(sum(self.lengths_s[:index]))

    def at(self, t_s: float, live: LiveInput | None = None) -> FrameParams:
        """Frame parameters at show time t_s, with live values overriding the schedule.

        A transition window at the end of a section blends towards the next section, which is
        already moving: its partner frame is the next section at (negative) time
        local - length, so the next section arrives at its own time 0 still in motion. The
        blend weight eases in and out (`crossfade_weight`), so the speed changes smoothly.
        """
        index, phase = segment_at(self.lengths_s, t_s, loop=True)
        local_s = phase * self.lengths_s[index]  # show seconds into the section
        frame = self._section_frame(index, local_s, live)
        section = self.show.sections[index]
        transition = section.transition
        window_s = min(transition.duration_s, self.lengths_s[index])
        if transition.kind == "cut" or window_s <= 0:
            return frame
        lead_s = local_s - self.lengths_s[index]  # in [-window, 0): before the next one starts
        progress = (lead_s + window_s) / window_s
        if progress < 0:
            return frame
        weight = crossfade_weight(progress)
        next_index = (index + 1) % len(self.show.sections)
        partner = self._section_frame(next_index, lead_s, live)
        if transition.kind == "crossfade" and _blends_in_latent_space(
            frame, partner, self.show.sections[next_index].model == section.model
        ):
            return _blend_frames(frame, partner, weight)
        return _replace(frame, crossfade=(partner, weight))

    def _section_frame(self, index: int, local_s: float, live: LiveInput | None) -> FrameParams:
        """Frame of section `index` at `local_s` show seconds after its start, no transition."""
        section = self.show.sections[index]
        latents = self.latents[section.name]
        entry = self.show.model(section.model)
        section_t_s = local_s * self.speed
        beat = (live or {}).get(LIVE_BEAT_TIME)
        if section.follows_tempo and beat is not None and int(beat[0]) == index:
            section_t_s = float(beat[1]) * self.speed  # the music's tempo, not the show's
        full_cutoff = float(latents.num_ws if entry.cutoff is None else entry.cutoff)
        # without automation: z walks map with the entry's psi; w keyframes already carry it,
        # so there "no further truncation" is psi 1
        base_psi = entry.psi if section.walk.space == "z" else 1.0
        base = {
            "psi": base_psi, "cutoff": full_cutoff, "noise_strength": 1.0,
            "translate_x": 0.0, "translate_y": 0.0, "rotate_deg": 0.0,
        }  # fmt: skip
        values = _scheduled_values(section, section_t_s, live, base)
        psi = values.get("psi")
        cutoff_value = values.get("cutoff")
        cutoff = entry.cutoff if cutoff_value is None else max(int(round(cutoff_value)), 0)
        retime = getattr(latents, "retime", None)
        shares = getattr(latents, "retime_shares", None)
        latent = lead_in_latent(section, latents.keyframes, section_t_s, retime, shares)
        edits = None
        if section.walk.space == "w":
            latent = self._edit_ws(section, latents, latent, section_t_s, psi, cutoff, live)
        else:
            edits = self._ws_edits(section, latents, section_t_s, live)
        return FrameParams(
            section_index=index,
            section_name=section.name,
            model=section.model,
            latent=latent.astype(np.float32),
            space=section.walk.space,
            psi=psi,
            cutoff=cutoff,
            noise_mode=entry.noise_mode,
            noise_strength=values.get("noise_strength"),
            translate_xy=(values.get("translate_x", 0.0), values.get("translate_y", 0.0)),
            rotate_deg=values.get("rotate_deg", 0.0),
            ws_edits=edits,
            live_ws=_live_ws(live),
            default_psi=base_psi,
        )

    def _edit_ws(
        self,
        section: Section,
        latents: SectionLatentsLike,
        ws: np.ndarray,
        section_t_s: float,
        psi: float | None,
        cutoff: int | None,
        live: LiveInput | None = None,
    ) -> np.ndarray:
        """Truncate by scheduled psi, then mix rows, then add directions: ws [num_ws, w_dim]."""
        ws = np.asarray(ws, dtype=np.float64)  # [num_ws, w_dim]
        if psi is not None:
            ws = truncate_ws(ws, latents.w_avg, psi, cutoff)
        edits = self._ws_edits(section, latents, section_t_s, live)
        return edit_ws(ws, edits.mixing, edits.delta)

    def _ws_edits(
        self,
        section: Section,
        latents: SectionLatentsLike,
        section_t_s: float,
        live: LiveInput | None = None,
    ) -> WsEdits:
        """Mixing rows and the summed scaled directions at section time section_t_s."""
        num_ws = latents.num_ws
        mixing = []
        for mix, source in zip(section.mixing, latents.mixing_sources, strict=True):
            rows = layer_rows(mix.layers, num_ws)
            mixing.append((rows.start, rows.stop, np.asarray(source)))
        delta = None
        for index, (direction, vector) in enumerate(
            zip(section.directions, latents.directions, strict=True)
        ):
            rows = layer_rows(direction.layers, num_ws)
            if delta is None:
                delta = np.zeros(np.shape(vector), dtype=np.float64)  # [num_ws, w_dim]
            intensity = evaluate(direction.intensity, section_t_s)
            for name in (f"direction/{direction.live_name}", f"direction/{index}"):
                intensity = _with_live(section, name, intensity, live)
            delta[rows] += intensity * np.asarray(vector)[rows]
        return WsEdits(mixing=tuple(mixing), delta=delta)


def _scheduled_values(
    section: Section,
    section_t_s: float,
    live: LiveInput | None,
    base: Mapping[str, float | None] | None = None,
) -> dict[str, float]:
    """Automation values at section time, blended towards allowed live values (clamped).

    `base` gives the value a parameter has without automation (e.g. the model entry's psi).
    """
    values: dict[str, float] = {}
    automation = section.automation
    for f in fields(automation):
        signal = getattr(automation, f.name)
        if signal is not None:
            values[f.name] = evaluate(signal, section_t_s)
    for name in live or ():
        if name in LIVE_DEFAULT_RANGES and live_range(section, name) is not None:
            scheduled = values.get(name, (base or {}).get(name))
            steered = _with_live(section, name, scheduled, live)
            if steered is not None:
                values[name] = steered
    return values


def _live_ws(live: LiveInput | None) -> tuple[np.ndarray, float] | None:
    """The live glide target (`live["latent"]` = (ws [num_ws, w_dim], weight)), if any."""
    entry = (live or {}).get(LIVE_LATENT)
    if entry is None or not isinstance(entry, tuple) or not isinstance(entry[0], np.ndarray):
        return None
    return entry[0], float(entry[1])


def live_range(section: Section, name: str) -> tuple[float, float] | None:
    """The range a live value of `name` is kept in, or None when the section does not allow it.

    A section that lists `live` parameters allows only those; one that lists none allows the
    core parameters and its directions with LIVE_DEFAULT_RANGES.
    """
    if section.live:
        for param in section.live:
            if param.name == name:
                return param.range
        return None
    if name.startswith("direction/"):
        return DIRECTION_LIVE_RANGE
    return LIVE_DEFAULT_RANGES.get(name)


def _with_live(
    section: Section, name: str, scheduled: float | None, live: LiveInput | None
) -> float | None:
    """`scheduled` blended towards the live value of `name` by its weight (clamped to range)."""
    if not live or name not in live:
        return scheduled
    value_range = live_range(section, name)
    if value_range is None:
        return scheduled
    entry = live[name]
    value, weight = (entry, 1.0) if isinstance(entry, int | float) else entry
    low, high = value_range
    target = float(min(max(value, low), high))
    if scheduled is None or weight >= 1.0:
        return target
    return float(scheduled + max(weight, 0.0) * (target - scheduled))


def resolved(
    params: FrameParams,
    noise_mode: str | None = None,
    mixing: tuple[np.ndarray, int, int | None] | None = None,
) -> FrameParams:
    """The frame with nothing left to the renderer to decide: psi a number, the live noise mode
    (None: the show's) and live style mixing filled in, its crossfade partner likewise."""
    crossfade = params.crossfade
    if crossfade is not None:
        crossfade = (resolved(crossfade[0], noise_mode, mixing), crossfade[1])
    return _replace(
        params,
        psi=params.resolved_psi,
        noise_mode=noise_mode or params.noise_mode,
        live_mixing=mixing,
        crossfade=crossfade,
    )


def _replace(frame: FrameParams, **changes: object) -> FrameParams:
    """A copy of frame with some fields changed."""
    values = {f.name: getattr(frame, f.name) for f in fields(frame)}
    values.update(changes)
    return FrameParams(**values)  # type: ignore[arg-type]


def section_index_at(lengths_s: Sequence[float], t_s: float) -> int:
    """Index of the section playing at show time t_s of a looping playlist."""
    return segment_at(lengths_s, t_s, loop=True)[0]


def section_jump_s(lengths_s: Sequence[float], t_s: float, delta: int) -> float:
    """Start time of the section `delta` places from the one at t_s (the playlist loops).

    Only sections that play count as places (zero-length ones are skipped, as segment_at skips
    them). Jumping back from the first section of the first pass wraps to the last section of
    that pass, so the result is never negative.
    """
    total_s = float(sum(lengths_s))
    playing = [i for i, length_s in enumerate(lengths_s) if length_s > 0]
    if total_s <= 0 or not playing:
        return 0.0
    pass_index = math.floor(t_s / total_s)
    position = playing.index(section_index_at(lengths_s, t_s))
    pass_offset, target = divmod(position + delta, len(playing))
    start_s = (pass_index + pass_offset) * total_s + float(sum(lengths_s[: playing[target]]))
    while start_s < 0:
        start_s += total_s
    return start_s


def section_start_in_pass_s(lengths_s: Sequence[float], t_s: float, index: int) -> float:
    """Start time of section `index` in the playlist pass that is playing at t_s."""
    total_s = float(sum(lengths_s))
    pass_index = max(0, math.floor(t_s / total_s)) if total_s > 0 else 0
    return pass_index * total_s + float(sum(lengths_s[:index]))
