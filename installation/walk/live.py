"""Live values: what a performer set, gliding in (slew), holding, and giving way to the schedule.

Pure: every method takes the wall time, so tests use plain numbers. For each parameter the
latest value glides from where it was to the new one over `slew_s`; its weight against the
schedule rises to 1 over `slew_s` after the first message, stays 1 while messages keep coming,
and `hold_s` after the last one falls back to 0 over `slew_s` (the schedule takes over again).
The timeline blends scheduled -> live by that weight (walk/timeline.py LiveInput).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class _Track:
    """One parameter's state since its last message."""

    value_from: float  # value when the last message came
    target: float
    weight_from: float  # weight when the last message came
    changed_wall_s: float
    slew_s: float
    hold_s: float

    def value_at(self, wall_s: float) -> float:
        """The gliding value."""
        phase = _ramp(wall_s - self.changed_wall_s, self.slew_s)
        return self.value_from + phase * (self.target - self.value_from)

    def weight_at(self, wall_s: float) -> float:
        """Weight against the schedule: rising, holding, then falling back to 0."""
        release_s = self.changed_wall_s + self.hold_s
        if wall_s < release_s or self.hold_s == float("inf"):
            phase = _ramp(wall_s - self.changed_wall_s, self.slew_s)
            return self.weight_from + phase * (1.0 - self.weight_from)
        held = self.weight_from + _ramp(self.hold_s, self.slew_s) * (1.0 - self.weight_from)
        return held * (1.0 - _ramp(wall_s - release_s, self.slew_s))

    def is_over(self, wall_s: float) -> bool:
        """True once the schedule has fully taken over."""
        return wall_s >= self.changed_wall_s + self.hold_s + self.slew_s


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
        value_from, weight_from = value, 0.0
        if old is not None:
            value_from, weight_from = old.value_at(wall_s), old.weight_at(wall_s)
        self.tracks[name] = _Track(value_from, float(value), weight_from, wall_s, slew_s, hold_s)

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
