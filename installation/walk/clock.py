"""The show clock: show time as a pure function of wall time, with pause and seek.

A ClockState is an immutable value. The render thread owns the current one and replaces it when a
command pauses, resumes or seeks; the main thread reads the latest value (one reference read) to
pace frames. Wall time is always an argument, so tests drive it with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ClockState:
    """show_s = anchor_show_s + (wall_s - anchor_wall_s) * rate running; anchor_show_s paused.

    `epoch` counts discontinuities (seek, section jump): frames scheduled in an older epoch belong
    to a timeline position that no longer comes, and presenters drop them.
    """

    anchor_wall_s: float
    anchor_show_s: float = 0.0
    is_paused: bool = False
    epoch: int = 0
    rate: float = 1.0  # show seconds per wall second (live speed), > 0

    def show_time_s(self, wall_s: float) -> float:
        """Show time at wall time `wall_s`."""
        if self.is_paused:
            return self.anchor_show_s
        return self.anchor_show_s + (wall_s - self.anchor_wall_s) * self.rate

    def wall_time_s(self, show_s: float) -> float:
        """Wall time at which show time `show_s` comes (inf while paused and show_s is ahead)."""
        if self.is_paused:
            return float("-inf") if show_s <= self.anchor_show_s else float("inf")
        return self.anchor_wall_s + (show_s - self.anchor_show_s) / self.rate

    def with_rate(self, wall_s: float, rate: float) -> ClockState:
        """The clock running at `rate` from `wall_s` on; show time is continuous across it."""
        if rate <= 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        return replace(
            self, anchor_wall_s=wall_s, anchor_show_s=self.show_time_s(wall_s), rate=rate
        )

    def paused(self, wall_s: float, is_paused: bool) -> ClockState:
        """The clock paused (or resumed) at `wall_s`; show time is continuous across it."""
        if is_paused == self.is_paused:
            return self
        return replace(
            self, anchor_wall_s=wall_s, anchor_show_s=self.show_time_s(wall_s), is_paused=is_paused
        )

    def seek(self, wall_s: float, show_s: float) -> ClockState:
        """The clock jumped to `show_s` at `wall_s` (a new epoch); paused stays paused."""
        return replace(self, anchor_wall_s=wall_s, anchor_show_s=show_s, epoch=self.epoch + 1)
