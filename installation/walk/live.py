"""Live values: what a performer set, gliding in (slew), holding, and giving way to the schedule.

Pure: every method takes the wall time, so tests use plain numbers. For each parameter:
- the value glides from where it was to the newest one over `slew_s`;
- its weight against the schedule rises at a constant rate (0 -> 1 in `slew_s`) from the first
  message on, stays at 1 while messages keep coming, and `hold_s` after the last message falls
  at the same rate back to 0: the schedule takes over again. A message during the fall turns
  the weight round from where it is. A hold shorter than MIN_HOLD_S counts as MIN_HOLD_S, so a
  sensor that streams with `hold_s: 0` keeps its weight up and hands back as soon as it stops.
The timeline blends scheduled -> live by that weight (walk/timeline.py LiveInput).
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_HOLD_S = 0.25  # longer than the gap between a streaming sensor's messages (>= 4 per second)


@dataclass(frozen=True)
class _Track:
    """One parameter's state since its last message."""

    value_from: float  # value when the last message came
    target: float
    changed_wall_s: float  # the last message
    rise_from: float  # weight when the current rise began
    rise_wall_s: float
    slew_s: float
    hold_s: float

    @property
    def release_wall_s(self) -> float:
        """When the weight starts falling back (hold after the last message)."""
        return self.changed_wall_s + max(self.hold_s, MIN_HOLD_S)

    def value_at(self, wall_s: float) -> float:
        """The gliding value."""
        phase = _ramp(wall_s - self.changed_wall_s, self.slew_s)
        return self.value_from + phase * (self.target - self.value_from)

    def _rising(self, wall_s: float) -> float:
        """Weight of the current rise at wall_s (constant rate, capped at 1)."""
        return min(1.0, self.rise_from + _ramp(wall_s - self.rise_wall_s, self.slew_s))

    def weight_at(self, wall_s: float) -> float:
        """Weight against the schedule: rising, holding, then falling back to 0."""
        release_s = self.release_wall_s
        if wall_s < release_s:
            return self._rising(wall_s)
        return max(0.0, self._rising(release_s) - _ramp(wall_s - release_s, self.slew_s))

    def is_over(self, wall_s: float) -> bool:
        """True once the schedule has fully taken over."""
        return wall_s >= self.release_wall_s and self.weight_at(wall_s) <= 0.0


def _ramp(elapsed_s: float, duration_s: float) -> float:
    """0 -> 1 linearly over duration_s (a step when it is 0)."""
    if duration_s <= 0:
        return 1.0 if elapsed_s >= 0 else 0.0
    return min(max(elapsed_s / duration_s, 0.0), 1.0)


class LiveValues:
    """The live parameters a performer is steering (render thread only)."""

    def __init__(self) -> None:
        self.tracks: dict[str, _Track] = {}

    def set(self, name: str, value: float, wall_s: float, slew_s: float, hold_s: float) -> None:
        """A new value for `name` at wall time `wall_s`."""
        old = self.tracks.get(name)
        if old is None or old.is_over(wall_s):
            track = _Track(float(value), float(value), wall_s, 0.0, wall_s, slew_s, hold_s)
        elif wall_s < old.release_wall_s:  # rising or holding: the rise goes on
            track = _Track(old.value_at(wall_s), float(value), wall_s, old.rise_from,
                           old.rise_wall_s, slew_s, hold_s)  # fmt: skip
        else:  # falling: turn round from the current weight
            track = _Track(old.value_at(wall_s), float(value), wall_s, old.weight_at(wall_s),
                           wall_s, slew_s, hold_s)  # fmt: skip
        self.tracks[name] = track

    def at(self, wall_s: float) -> dict[str, tuple[float, float]]:
        """{name: (value, weight)} of every parameter still steered at `wall_s`."""
        tracks = list(self.tracks.items())  # one C-level copy: other threads may read this
        return {
            name: (track.value_at(wall_s), track.weight_at(wall_s))
            for name, track in tracks
            if not track.is_over(wall_s)
        }

    def forget_finished(self, wall_s: float) -> None:
        """Drop the parameters the schedule has fully taken back (keeps memory bounded)."""
        self.tracks = {n: t for n, t in self.tracks.items() if not t.is_over(wall_s)}

    def current(self, name: str, wall_s: float) -> float | None:
        """The live value of `name` now, or None when it is not steered."""
        track = self.tracks.get(name)
        if track is None or track.is_over(wall_s):
            return None
        return track.value_at(wall_s)
