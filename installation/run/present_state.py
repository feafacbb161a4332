"""The present loop's own counts: draws, the overlay switch, the picture level, the opening-hours
state, show time played and the longest wait for a new frame (main thread only)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class PresentState:
    """The main thread's own counts and the overlay switch."""

    started_s: float
    draws: int = 0  # presenter.present calls (new frame, new blend or new overlay)
    is_overlay_on: bool = False
    last_overlay_s: float = -math.inf
    overlay_lines: list[str] | None = None  # what the presenter shows now
    level: float = 1.0  # picture level the presenter draws with
    last_present_s: float | None = None  # perf_counter time of the last draw
    is_open: bool = True  # within the show's opening hours (as last acted on)
    played_s: float = 0.0  # show time played (for --duration): jumps and seeks do not count
    last_show_s: float | None = None
    last_epoch: int = 0
    supervision_line: str | None = None  # overlay: recoveries and degrade steps, once any
    shown_count: int = 0  # frames shown as of the last tick
    last_new_frame_s: float | None = None  # perf_counter time a new frame was first shown
    longest_gap_s: float = 0.0  # longest wait for a new frame (while not paused)

    def count_gap(self, shown: int, now_s: float, is_paused: bool) -> None:
        """Track the longest time between newly shown frames (a pause restarts the wait)."""
        if is_paused or shown != self.shown_count or self.last_new_frame_s is None:
            if shown != self.shown_count and self.last_new_frame_s is not None and not is_paused:
                self.longest_gap_s = max(self.longest_gap_s, now_s - self.last_new_frame_s)
            self.shown_count, self.last_new_frame_s = shown, now_s

    def count_played(self, show_s: float, epoch: int) -> None:
        """Add the show time that passed since the last tick, unless the clock jumped."""
        if self.last_show_s is not None and epoch == self.last_epoch:
            self.played_s += max(0.0, show_s - self.last_show_s)
        self.last_show_s, self.last_epoch = show_s, epoch

    quit_reason: str = "end"
