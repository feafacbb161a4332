"""--sync follow: the Player slews its clock to a leader's (walk/follow.py), driven by plain
wall times: never faster or slower than the slew limit, a seek only where the docs say."""

from __future__ import annotations

import math

import pytest

from installation.walk.commands import ClockLost, FollowClock
from installation.walk.follow import FIRST_LOCK_SEEK_S, MAX_CORRECTION, SEEK_S
from installation.walk.player import Player
from tests.stub_timeline import StubTimeline


def started_player(now_s: float = 100.0, show_s: float = 10.0) -> Player:
    player = Player(StubTimeline([1000.0]))
    player.start_clock(now_s, show_s, None)
    return player


def leader_s(wall_s: float, at_wall_s: float = 100.0, show_s: float = 10.0) -> float:
    """A leader that was at show_s at wall time at_wall_s and runs at 1x."""
    return show_s + (wall_s - at_wall_s)


def test_a_follower_slews_to_the_leader_within_the_slew_limit_and_converges() -> None:
    player = started_player()
    # the first lock: 30 ms off is under FIRST_LOCK_SEEK_S, so no seek
    assert 0.03 < FIRST_LOCK_SEEK_S
    offset0 = 0.03
    wall_s, offsets, steps = 100.0, [], []
    previous_show_s = player.clock.show_time_s(wall_s)
    while wall_s < 110.0:
        message = FollowClock(leader_s(wall_s) + offset0, 1.0, False, wall_s, session=7)
        reaction = player.apply(message, wall_s + 0.002)  # applied 2 ms after it arrived
        assert reaction.seek_s is None
        rate = player.clock.rate
        assert 1 - MAX_CORRECTION - 1e-12 <= rate <= 1 + MAX_CORRECTION + 1e-12
        offsets.append(player.follow_state.offset_s)
        wall_s += 0.2
        show_s = player.clock.show_time_s(wall_s)
        steps.append(show_s - previous_show_s)
        previous_show_s = show_s
    assert offsets[0] == pytest.approx(offset0, abs=1e-9)
    assert abs(offsets[-1]) < 0.001  # converged to under a millisecond
    # never a jump: each 0.2 s of wall time moved show time by 0.2 s within the slew limit
    assert all(0.2 * (1 - MAX_CORRECTION) - 1e-9 <= step <= 0.2 * (1 + MAX_CORRECTION) + 1e-9
               for step in steps)  # fmt: skip
    assert abs(player.clock.show_time_s(wall_s) - (leader_s(wall_s) + offset0)) < 0.002


def test_the_first_lock_far_off_seeks_then_a_far_offset_later_seeks_too() -> None:
    player = started_player()
    reaction = player.apply(FollowClock(50.0, 1.0, False, 100.0, session=1), 100.0)
    assert reaction.seek_s == pytest.approx(50.0)
    player.seek(100.0, reaction.seek_s)
    # 1 s off while locked: slewed (the rate at its limit), not a jump
    reaction = player.apply(FollowClock(51.2 + 1.0, 1.0, False, 101.2, session=1), 101.2)
    assert reaction.seek_s is None and reaction.is_speed_changed
    assert player.clock.rate == pytest.approx(1 + MAX_CORRECTION)
    # beyond SEEK_S: seek
    far_s = 52.0 + SEEK_S + 1.0
    reaction = player.apply(FollowClock(far_s, 1.0, False, 102.0, session=1), 102.0)
    assert reaction.seek_s == pytest.approx(far_s)


def test_a_cut_on_the_leader_is_a_cut_here_but_a_restarted_leader_is_slewed_to() -> None:
    player = started_player()
    player.apply(FollowClock(10.0, 1.0, False, 100.0, session=1, epoch=0), 100.0)
    cut = player.apply(FollowClock(10.5, 1.0, False, 100.1, session=1, epoch=1), 100.1)
    assert cut.seek_s == pytest.approx(10.5)
    player.seek(100.1, 10.5)
    # a new leader process (another session), 0.4 s off: slewed, no seek
    restarted = player.apply(FollowClock(10.6 + 0.4, 1.0, False, 100.2, session=2, epoch=0),
                             100.2)  # fmt: skip
    assert restarted.seek_s is None
    assert player.clock.rate == pytest.approx(1 + MAX_CORRECTION)


def test_leader_pause_and_speed_are_followed() -> None:
    player = started_player()
    player.apply(FollowClock(10.0, 2.0, False, 100.0, session=1), 100.0)
    assert player.clock.rate == pytest.approx(2.0)
    player.apply(FollowClock(12.0, 2.0, True, 101.0, session=1), 101.0)
    assert player.clock.is_paused and player.needs_still
    player.apply(FollowClock(12.0, 2.0, False, 102.0, session=1), 102.0)
    assert not player.clock.is_paused
    assert player.clock.show_time_s(102.5) == pytest.approx(13.0)


def test_the_leader_lost_plays_on_at_its_rate_and_absurd_clocks_change_nothing() -> None:
    player = started_player()
    player.apply(FollowClock(10.0, 1.0, False, 100.0, session=1), 100.0)  # locked
    player.apply(FollowClock(10.8, 1.0, False, 100.5, session=1), 100.5)  # 0.3 s behind
    assert player.clock.rate > 1.0
    player.apply(ClockLost(), 102.0)
    assert player.clock.rate == 1.0 and not player.follow_state.is_locked
    before = player.clock
    for bad in (FollowClock(math.nan, 1.0, False, 103.0), FollowClock(5.0, math.inf, False, 103.0),
                FollowClock(-1.0, 1.0, False, 103.0), FollowClock(5.0, 0.0, False, 103.0),
                FollowClock(5.0, 1.0, False, math.nan)):  # fmt: skip
        reaction = player.apply(bad, 103.0)
        assert reaction.seek_s is None
        assert player.clock is before
    # back: locks again, slewing (no seek: it was locked before)
    reaction = player.apply(FollowClock(before.show_time_s(104.0) + 0.1, 1.0, False, 104.0,
                                        session=2), 104.0)  # fmt: skip
    assert reaction.seek_s is None and player.follow_state.is_locked
    assert player.clock.rate == pytest.approx(1 + MAX_CORRECTION)
