"""ClockState: show time as a pure function of wall time, with pause/resume and seek epochs.

Wall times are plain numbers (a fake clock), chosen exactly representable so equalities are exact.
"""

from __future__ import annotations

import math

import pytest

from installation.walk.clock import ClockState


def test_running_clock_advances_one_show_second_per_wall_second() -> None:
    """show = anchor_show + (wall - anchor_wall) while running."""
    clock = ClockState(anchor_wall_s=100.0, anchor_show_s=3.0)
    assert clock.show_time_s(100.0) == 3.0
    assert clock.show_time_s(110.5) == 13.5
    assert clock.show_time_s(1100.0) == 1003.0


def test_show_time_is_continuous_across_pause_and_resume() -> None:
    """The show time at the pause equals the show time right after the resume."""
    clock = ClockState(anchor_wall_s=100.0, anchor_show_s=3.0)
    paused = clock.paused(110.5, True)
    assert paused.is_paused
    assert paused.show_time_s(110.5) == clock.show_time_s(110.5) == 13.5
    resumed = paused.paused(150.0, False)
    assert not resumed.is_paused
    assert resumed.show_time_s(150.0) == 13.5
    assert resumed.show_time_s(151.25) == 14.75


def test_show_time_is_frozen_while_paused() -> None:
    """Paused: the same show time at every wall time, earlier or later."""
    paused = ClockState(anchor_wall_s=0.0, anchor_show_s=2.0).paused(8.0, True)
    for wall_s in (0.0, 8.0, 9.0, 1000.0, 1e9):
        assert paused.show_time_s(wall_s) == 10.0


def test_pausing_twice_or_resuming_a_running_clock_changes_nothing() -> None:
    """paused() with the current state returns the clock unchanged (no re-anchoring)."""
    clock = ClockState(anchor_wall_s=1.0, anchor_show_s=2.0)
    assert clock.paused(5.0, False) is clock
    paused = clock.paused(5.0, True)
    assert paused.paused(50.0, True) is paused
    assert paused.paused(50.0, True).show_time_s(60.0) == 6.0


def test_pause_and_resume_keep_the_epoch() -> None:
    """Pausing is not a discontinuity: frames already scheduled stay valid."""
    clock = ClockState(anchor_wall_s=0.0, epoch=4)
    assert clock.paused(1.0, True).epoch == 4
    assert clock.paused(1.0, True).paused(3.0, False).epoch == 4


def test_seek_starts_a_new_epoch_at_the_new_show_time() -> None:
    """A running clock seeks to show_s at wall_s, runs on from there, with epoch + 1."""
    clock = ClockState(anchor_wall_s=0.0, anchor_show_s=0.0)
    sought = clock.seek(20.0, 42.0)
    assert sought.epoch == clock.epoch + 1
    assert not sought.is_paused
    assert sought.show_time_s(20.0) == 42.0
    assert sought.show_time_s(21.5) == 43.5
    assert sought.seek(30.0, 0.0).epoch == clock.epoch + 2


def test_seek_keeps_a_paused_clock_paused() -> None:
    """Seeking while paused moves the frozen show time but stays paused."""
    paused = ClockState(anchor_wall_s=0.0, anchor_show_s=7.0).paused(3.0, True)
    sought = paused.seek(20.0, 42.0)
    assert sought.is_paused
    assert sought.epoch == paused.epoch + 1
    assert sought.show_time_s(20.0) == sought.show_time_s(500.0) == 42.0
    resumed = sought.paused(30.0, False)
    assert resumed.show_time_s(30.0) == 42.0
    assert resumed.show_time_s(31.0) == 43.0


def test_seek_backwards_gives_an_earlier_show_time() -> None:
    """A seek may go back in show time; the clock then runs on from the earlier point."""
    clock = ClockState(anchor_wall_s=0.0, anchor_show_s=100.0)
    sought = clock.seek(10.0, 5.0)
    assert sought.show_time_s(10.0) == 5.0
    assert sought.show_time_s(12.0) == 7.0


@pytest.mark.parametrize("show_s", [-3.0, 0.0, 3.0, 13.5, 1000.25])
def test_wall_time_inverts_show_time_when_running(show_s: float) -> None:
    """Running: wall_time_s(show_s) is the wall time at which show_time_s gives show_s."""
    clock = ClockState(anchor_wall_s=100.0, anchor_show_s=3.0).seek(110.0, 7.5)
    wall_s = clock.wall_time_s(show_s)
    assert clock.show_time_s(wall_s) == show_s
    assert clock.wall_time_s(clock.show_time_s(wall_s)) == wall_s


def test_wall_time_while_paused_is_minus_inf_behind_and_inf_ahead() -> None:
    """Paused: times at or behind the frozen show time have come already, later ones never do."""
    paused = ClockState(anchor_wall_s=0.0, anchor_show_s=5.0).paused(1.0, True)
    assert paused.show_time_s(1.0) == 6.0
    assert paused.wall_time_s(6.0) == -math.inf
    assert paused.wall_time_s(0.0) == -math.inf
    assert paused.wall_time_s(6.0 + 2.0**-40) == math.inf
    assert paused.wall_time_s(100.0) == math.inf
