"""control/link.py: a Link reading -> FollowClock, or why it is refused (no Link needed)."""

from __future__ import annotations

import math

import pytest

from installation.control.link import link_clock
from installation.walk.commands import FollowClock


def test_beats_count_at_the_show_tempo_and_the_session_tempo_sets_the_speed() -> None:
    clock = link_clock(beat=240.0, tempo_bpm=132.0, show_bpm=120.0, wall_s=5.0)
    assert isinstance(clock, FollowClock)
    assert clock.show_s == pytest.approx(120.0)  # 240 beats at the show's 120 BPM
    assert clock.rate == pytest.approx(1.1)
    assert (clock.received_wall_s, clock.is_paused) == (5.0, False)


@pytest.mark.parametrize("beat, tempo_bpm, why", [
    (math.nan, 120.0, "not a clock"),
    (10.0, math.inf, "not a clock"),
    (10.0, 0.0, "not a clock"),
    (-4.0, 120.0, "outside 0.."),
    (1e12, 120.0, "outside 0.."),
    (10.0, 2000.0, "outside 0.05..10"),
])  # fmt: skip
def test_absurd_readings_are_refused_with_a_reason(beat, tempo_bpm, why) -> None:
    refused = link_clock(beat, tempo_bpm, 120.0, 0.0)
    assert isinstance(refused, str) and why in refused
