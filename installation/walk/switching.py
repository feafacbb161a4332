"""Hot reload: a timeline that swaps to a new show at a clean point, deterministically.

`SwitchingTimeline` holds a chain of segments (timeline, start_s, fade_s): from `start_s` on, the
segment's timeline plays at its own time `t - start_s`; during the first `fade_s` seconds the
previous segment's frame is shown with `crossfade=(new frame, weight 0 -> 1)` (an image
crossfade, which works between any models). No clocks: `.at(t)` is a pure function of the chain.

When the switch happens is chosen by the NEW show (`show.reload`): `now` (at the request time) or
`section_end` (at the current timeline's next section boundary). `crossfade_s: 0` is a cut.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Protocol

from installation.show.schema import Show
from installation.walk.timeline import FrameParams


class TimelineLike(Protocol):
    """What SwitchingTimeline needs of a timeline (walk/timeline.py Timeline)."""

    show: Show
    lengths_s: list[float]

    def at(self, t_s: float, live: Mapping[str, float] | None = None) -> FrameParams: ...


@dataclass(frozen=True)
class Segment:
    """`timeline` plays from show time `start_s` (at its own time 0), fading in over `fade_s`."""

    timeline: TimelineLike
    start_s: float
    fade_s: float


class SwitchingTimeline:
    """Frame parameters of the current show, switching to a scheduled one at a clean point."""

    def __init__(self, timeline: TimelineLike) -> None:
        """Start with `timeline` playing from show time 0."""
        self.segments: list[Segment] = [Segment(timeline, 0.0, 0.0)]

    @property
    def timeline(self) -> TimelineLike:
        """The newest timeline (the one playing once every scheduled switch is done)."""
        return self.segments[-1].timeline

    @property
    def show(self) -> Show:
        """The newest show."""
        return self.timeline.show

    def schedule(self, new_timeline: TimelineLike, new_show: Show, t_now_s: float) -> float:
        """Plan the switch to `new_timeline` as `new_show.settings.reload` says; returns its time.

        A switch scheduled earlier that has not started yet (section_end) is replaced.
        """
        kept = [s for s in self.segments if s.start_s <= t_now_s] or self.segments[:1]
        # forget segments that are fully hidden by a later one whose fade is over
        for i in range(len(kept) - 1, 0, -1):
            if kept[i].start_s + kept[i].fade_s <= t_now_s:
                kept = kept[i:]
                break
        current = kept[-1]
        settings = new_show.settings.reload
        start_s = t_now_s
        if settings.when == "section_end":
            start_s = current.start_s + next_boundary_s(
                current.timeline.lengths_s, t_now_s - current.start_s
            )
        kept.append(Segment(new_timeline, start_s, settings.crossfade_s))
        self.segments = kept
        return start_s

    def at(self, t_s: float, live: Mapping[str, float] | None = None) -> FrameParams:
        """Frame parameters at show time t_s."""
        return self._at(len(self.segments) - 1, t_s, live)

    def active(self, t_s: float) -> tuple[float, TimelineLike]:
        """(start_s, timeline) of the segment playing at t_s: its time is t_s - start_s."""
        index = len(self.segments) - 1
        while index > 0 and self.segments[index].start_s > t_s:
            index -= 1
        return self.segments[index].start_s, self.segments[index].timeline

    def _at(self, last: int, t_s: float, live: Mapping[str, float] | None) -> FrameParams:
        """The frame of the chain segments[: last + 1] at t_s."""
        index = last
        while index > 0 and self.segments[index].start_s > t_s:
            index -= 1
        segment = self.segments[index]
        frame = segment.timeline.at(t_s - segment.start_s, live)
        if index == 0 or segment.fade_s <= 0 or t_s >= segment.start_s + segment.fade_s:
            return frame
        weight = (t_s - segment.start_s) / segment.fade_s
        old = self._at(index - 1, t_s, live)
        # the old frame's own image crossfade (if any) gives way to the reload's
        return _replace(old, crossfade=(_replace(frame, crossfade=None), float(weight)))


def next_boundary_s(lengths_s: list[float], t_s: float) -> float:
    """The first section boundary at or after t_s of a playlist that loops (its own time)."""
    total = float(sum(lengths_s))
    if t_s <= 0 or total <= 0:
        return max(t_s, 0.0)
    passes = math.floor(t_s / total)
    start = passes * total
    for length in [*lengths_s, lengths_s[0]]:
        if start >= t_s:
            return start
        start += length
    return start


def _replace(frame: FrameParams, **changes: object) -> FrameParams:
    """A copy of frame with some fields changed."""
    values = {f.name: getattr(frame, f.name) for f in fields(frame)}
    values.update(changes)
    return FrameParams(**values)  # type: ignore[arg-type]
