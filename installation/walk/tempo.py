"""Beat time: how far a section that counts in beats has got, following a live tempo.

A section with `beats_per_keyframe` (or an LFO with `period_beats`) was laid out at the show's
`tempo_bpm` (show/load.py turns its beats into seconds at that tempo). When the music's tempo
differs (`SetTempo` from the sound input, a render to music, or `/tempo`), the section's time
runs at `live tempo / show tempo` times the show clock: at 140 BPM a show written for 120 walks
7/6 as fast, so each keyframe still lasts its beats. `BeatTime` keeps that warp as breakpoints
(show time, beat time, rate): a new one whenever the rate changes, so a section's beat time is
`beat_time(t) - beat_time(section start)` even across tempo changes. A seek starts afresh.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

RATE_RANGE = (0.25, 4.0)  # a live tempo is followed within 1/4..4x of the show's
MIN_CHANGE = 0.002  # rate changes smaller than this (0.2 %) are not worth a breakpoint
MAX_BREAKPOINTS = 4096  # the oldest go (a section older than them counts from the oldest)


@dataclass
class BeatTime:
    """Beat time (seconds at the show's tempo) as a function of show time (module docstring)."""

    times_s: list[float] = field(default_factory=lambda: [0.0])  # show times of breakpoints
    beats_s: list[float] = field(default_factory=lambda: [0.0])  # beat time at each
    rates: list[float] = field(default_factory=lambda: [1.0])  # beat seconds per show second

    @property
    def rate(self) -> float:
        """The rate now (1: the music is at the show's tempo)."""
        return self.rates[-1]

    def at(self, show_s: float) -> float:
        """Beat time at show time show_s (before the first breakpoint: as written, rate 1)."""
        index = bisect.bisect_right(self.times_s, show_s) - 1
        if index < 0:
            return self.beats_s[0] + (show_s - self.times_s[0])
        return self.beats_s[index] + (show_s - self.times_s[index]) * self.rates[index]

    def set_rate(self, show_s: float, rate: float) -> bool:
        """Follow a new rate from show_s on (clamped to RATE_RANGE); False when it is the same."""
        rate = min(max(rate, RATE_RANGE[0]), RATE_RANGE[1])
        if abs(rate - self.rate) <= MIN_CHANGE * self.rate:
            return False
        if show_s < self.times_s[-1]:  # the clock went back without a seek: start afresh
            self.restart(show_s)
        beat_s = self.at(show_s)
        self.times_s.append(show_s)
        self.beats_s.append(beat_s)
        self.rates.append(rate)
        if len(self.times_s) > MAX_BREAKPOINTS:
            del self.times_s[0], self.beats_s[0], self.rates[0]
        return True

    def restart(self, show_s: float) -> None:
        """After a seek: one breakpoint at show_s (beat time = show time there, and before it:
        the section is where the schedule puts it), the rate kept from there on."""
        rate = self.rate
        self.times_s, self.beats_s, self.rates = [show_s], [show_s], [rate]

    def since(self, start_s: float, show_s: float) -> float:
        """Beat time from start_s (a section's start) to show_s."""
        return self.at(show_s) - self.at(start_s)
