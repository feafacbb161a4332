"""FramePacer: which frame (and which blend with the next) the screen shows at a show time.

Main thread only, and pure: the present loop hands it the frames it takes off the queue and the
show time of each display tick; it never looks at a clock itself, so tests use plain numbers.
A frame is shown once its show time has come, never before (the display never runs ahead of the
show clock); frames whose time passed while a later one was also due are skipped and counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from installation.render.frame import Frame

MAX_PENDING = 64  # frames held ahead of the clock; the render loop's lookahead stays far below
MAX_BLEND_GAP_S = 5.0  # longer gaps (a stall) are not blended; slow models (~1 frame/s) are


@dataclass(frozen=True)
class Pick:
    """What to draw: `frame`, mixed with `blend_with` by `mix` in [0, 1] when that is set."""

    frame: Frame
    blend_with: Frame | None = None
    mix: float = 0.0


@dataclass
class PaceCounters:
    """Frame counts of the presenter side."""

    shown: int = 0  # distinct frames put on screen
    skipped: int = 0  # frames whose time passed while a later frame was already due
    late: int = 0  # frames first shown more than one display period after their time
    stale: int = 0  # frames of an older clock epoch (before a seek), dropped unseen
    overflow: int = 0  # frames dropped because too many were pending


class FramePacer:
    """Holds frames taken from the queue and picks what to show at each display tick."""

    def __init__(self, is_blending: bool = False) -> None:
        self.is_blending = is_blending
        self.pending: deque[Frame] = deque()  # sorted by show time
        self.current: Frame | None = None  # on screen
        self.counters = PaceCounters()

    def add(self, frame: Frame) -> None:
        """Take a frame from the render thread (usually in show-time order)."""
        if self.current is not None and frame.epoch < self.current.epoch:
            self.counters.stale += 1
            return
        index = len(self.pending)
        while index > 0 and self.pending[index - 1].show_time_s > frame.show_time_s:
            index -= 1
        self.pending.insert(index, frame)
        while len(self.pending) > MAX_PENDING:
            self.pending.popleft()
            self.counters.overflow += 1

    def pick(self, show_time_s: float, epoch: int, period_s: float) -> Pick | None:
        """What to show at `show_time_s` of clock `epoch`; None until a first frame is due.

        Args:
            show_time_s: the show clock at this display tick.
            epoch: the clock's epoch; pending frames of older epochs are dropped.
            period_s: the display period, for counting late frames.
        """
        self._drop_stale(epoch)
        due: Frame | None = None
        while self.pending and self.pending[0].show_time_s <= show_time_s:
            if due is not None:
                self.counters.skipped += 1
            due = self.pending.popleft()
        if due is not None:
            self.current = due
            self.counters.shown += 1
            if show_time_s - due.show_time_s > period_s:
                self.counters.late += 1
        if self.current is None:
            return None
        if self.current.epoch != epoch:  # the last image before a seek stays until a new one
            return Pick(self.current)
        return self._with_blend(show_time_s)

    def _drop_stale(self, epoch: int) -> None:
        """Forget pending frames of older epochs (they belong to a position left by a seek)."""
        kept = [frame for frame in self.pending if frame.epoch >= epoch]
        self.counters.stale += len(self.pending) - len(kept)
        if len(kept) != len(self.pending):
            self.pending = deque(kept)

    def _with_blend(self, show_time_s: float) -> Pick:
        """The current frame, blended towards the next pending one when blending is on."""
        current = self.current
        assert current is not None
        if not self.is_blending or not self.pending:
            return Pick(current)
        following = self.pending[0]
        gap_s = following.show_time_s - current.show_time_s
        if following.epoch != current.epoch or not 0 < gap_s <= MAX_BLEND_GAP_S:
            return Pick(current)
        mix = min(max((show_time_s - current.show_time_s) / gap_s, 0.0), 1.0)
        return Pick(current, following, mix) if mix > 0 else Pick(current)
