"""Following a leader's show clock (run_show.py --sync follow): slew, never jump.

A frame is a pure function of (show, show time), so PCs play in lockstep once their show clocks
agree. A follower hears the leader's show time a few times a second (control/sync.py builds a
FollowClock command from each message); the Player hands it here. The follower's clock then runs
at the leader's rate corrected by at most MAX_CORRECTION (5 %) towards the leader's time: an
offset of `o` seconds is taken away at `o / CATCH_UP_S` per second, so it shrinks by about
two thirds a second and the picture never jumps.

It seeks (a cut) only where a jump is what the room expects or the offset is too large to slew:
- the first message ever heard, when off by more than FIRST_LOCK_SEEK_S (the follower starts);
- the leader cut (its epoch changed within one leader session: a seek, a section jump there);
- the leader's pause (a paused follower shows the leader's paused frame);
- an offset beyond SEEK_S (2 s: slewing it would take 40 s of a visibly wrong speed), e.g. a
  leader restarted at another place.
A restarted leader (a new session) that resumes where it was (as --supervise restarts it) is
slewed to like any other offset. Wall times are arguments: tests drive this with plain numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from installation.walk.clock import ClockState
from installation.walk.commands import FollowClock

MAX_CORRECTION = 0.05  # the slew limit: at most 5 % faster or slower than the leader
CATCH_UP_S = 1.0  # an offset of o s is corrected at o / CATCH_UP_S s per s (capped above)
DEAD_BAND_S = 0.0005  # offsets below half a millisecond leave the rate alone
SEEK_S = 2.0  # off by more than this: seek instead of slewing
FIRST_LOCK_SEEK_S = 0.05  # the first lock seeks when off by more than this
RATE_RANGE = (0.05, 10.0)  # the leader's rate must lie here (walk/timeline.py SPEED_RANGE)


@dataclass(frozen=True)
class FollowState:
    """What the follower knows of its leader (the status board reads it)."""

    offset_s: float  # leader's show time minus this one's, at the last message (+: behind)
    session: int  # the leader process heard last
    epoch: int  # its cut count
    base_rate: float  # the leader's rate
    correction: float  # the slew: the clock runs at base_rate * (1 + correction)
    is_locked: bool = True  # False once the leader was not heard for a while (ClockLost)
    last_wall_s: float = 0.0  # when the last message was applied


@dataclass(frozen=True)
class FollowStep:
    """The outcome of one leader message: the new clock and state, and a seek (or None)."""

    clock: ClockState
    state: FollowState
    seek_s: float | None = None


def follow(
    clock: ClockState, state: FollowState | None, message: FollowClock, now_wall_s: float
) -> FollowStep | None:
    """Slew (or, as the module docstring says, seek) `clock` towards the leader's; None when the
    message cannot be a clock (not finite, a rate out of range): nothing changes."""
    values = (message.show_s, message.rate, message.received_wall_s)
    if not all(math.isfinite(value) for value in values) or message.show_s < 0:
        return None
    if not RATE_RANGE[0] <= message.rate <= RATE_RANGE[1]:
        return None
    leader_s = message.show_s
    if not message.is_paused:
        leader_s += max(now_wall_s - message.received_wall_s, 0.0) * message.rate
    own_s = clock.show_time_s(now_wall_s)
    offset_s = leader_s - own_s
    is_cut = state is not None and (
        state.session == message.session and state.epoch != message.epoch
    )  # fmt: skip
    first_limit_s = FIRST_LOCK_SEEK_S if state is None else SEEK_S
    new_state = FollowState(offset_s, message.session, message.epoch, message.rate, 0.0,
                            last_wall_s=now_wall_s)  # fmt: skip
    if message.is_paused:
        paused = clock.paused(now_wall_s, True)
        seek_s = leader_s if abs(offset_s) > DEAD_BAND_S else None
        return FollowStep(paused, new_state, seek_s)
    running = clock.paused(now_wall_s, False)
    if is_cut or abs(offset_s) > first_limit_s:
        step_clock = running.with_rate(now_wall_s, message.rate)
        return FollowStep(step_clock, new_state, leader_s)
    correction = 0.0
    if abs(offset_s) > DEAD_BAND_S:
        correction = min(max(offset_s / CATCH_UP_S, -MAX_CORRECTION), MAX_CORRECTION)
    rate = message.rate * (1.0 + correction)
    new_state = FollowState(offset_s, message.session, message.epoch, message.rate, correction,
                            last_wall_s=now_wall_s)  # fmt: skip
    if rate == running.rate and running is clock:
        return FollowStep(clock, new_state)
    return FollowStep(running.with_rate(now_wall_s, rate), new_state)


def alone(clock: ClockState, state: FollowState | None, now_wall_s: float) -> FollowStep | None:
    """The leader is gone: play on at its last rate without the slew (None: never followed)."""
    if state is None:
        return None
    new_state = FollowState(state.offset_s, state.session, state.epoch, state.base_rate, 0.0,
                            is_locked=False, last_wall_s=state.last_wall_s)  # fmt: skip
    if clock.is_paused or clock.rate == state.base_rate:
        return FollowStep(clock, new_state)
    return FollowStep(clock.with_rate(now_wall_s, state.base_rate), new_state)
