"""--sync on 127.0.0.1: a real leader (control/sync.py ClockLeader) and a real follower
(ClockFollower -> CommandQueue -> a RenderLoop running on the wall clock, its Player slewing):
the follower's show time converges on the leader's; foreign, malformed and absurd clock
messages change nothing; the leader gone, the follower plays on alone."""

from __future__ import annotations

import math
import queue
import socket
import statistics
import threading
import time

import numpy as np

from installation.control.mailbox import CommandQueue
from installation.control.osc_framing import build_datagram
from installation.control.sync import ClockFollower, ClockLeader, ClockReading, clock_datagram
from installation.render.frame import Frame
from installation.render.loop import LoopSettings, RenderLoop
from installation.walk.clock import ClockState
from tests.stub_timeline import StubTimeline

FRAME_S = 1 / 30


class RealTimeRenderer:
    """Renders nothing, taking 3 ms a frame of real time."""

    def __init__(self) -> None:
        self.timeline = StubTimeline([1000.0])

    def render_batch(self, slots, params=None, epoch=0):
        time.sleep(0.003 * len(slots))
        pixels = np.zeros((2, 2, 3), np.uint8)
        return [Frame(pixels, index, t_s, 3.0, epoch=epoch) for index, t_s in slots]


def leader_reading(holder: list[ClockState]):
    """The leader's clock as holder[0] says now (a test may replace it)."""

    def reading() -> ClockReading:
        clock = holder[0]
        return ClockReading(clock.show_time_s(time.perf_counter()), clock.rate, clock.is_paused,
                            clock.epoch)  # fmt: skip

    return reading


def offsets_s(leader: ClockState, loop: RenderLoop, seconds: float) -> list[float]:
    """Leader minus follower show time, sampled every 20 ms."""
    found = []
    end_s = time.perf_counter() + seconds
    while time.perf_counter() < end_s:
        now_s = time.perf_counter()
        found.append(leader.show_time_s(now_s) - loop.clock.show_time_s(now_s))
        time.sleep(0.02)
    return found


def test_a_follower_locks_on_refuses_bad_clocks_and_plays_on_alone() -> None:
    leader_clock = ClockState(anchor_wall_s=time.perf_counter(), anchor_show_s=20.0)
    holder = [leader_clock]
    leader = ClockLeader("127.0.0.1", 0, leader_reading(holder), ("loopback",))
    commands = CommandQueue()
    frames: queue.Queue[Frame] = queue.Queue(maxsize=4)
    loop = RenderLoop(RealTimeRenderer(), frames, commands,
                      LoopSettings(fps=30.0, max_batch=1), time.perf_counter)  # fmt: skip
    stopping = threading.Event()
    render = threading.Thread(target=loop.run, args=(stopping,), daemon=True)
    notes: dict[str, str] = {}
    follower = ClockFollower(("127.0.0.1", leader.port), commands, ("loopback",), notes=notes)
    stranger = ClockFollower(("127.0.0.1", leader.port), lambda command: None, ("10.0.0.0/8",))
    try:
        render.start()
        leader.start()
        follower.start()
        stranger.start()
        deadline_s = time.perf_counter() + 5.0
        while loop.clock is None or loop.player.follow_state is None:
            assert time.perf_counter() < deadline_s, "the follower never heard the leader"
            time.sleep(0.02)
        time.sleep(1.5)  # the first lock seeks, then the slew takes the rest
        locked = offsets_s(leader_clock, loop, 1.5)
        median_s = statistics.median(abs(o) for o in locked)
        assert median_s < FRAME_S / 3, f"median offset {median_s * 1000:.1f} ms"
        assert max(abs(o) for o in locked) < FRAME_S, f"max offset {max(locked) * 1000:.1f} ms"
        assert notes["sync"].startswith("following 127.0.0.1")
        # the follower outside the stranger's allow-list: every clock refused, nothing put
        assert stranger.accepted == 0 and stranger.refused > 0

        # bad clocks: a foreign sender, malformed, NaN, absurd, a jump of hours, a replay
        epoch = loop.clock.epoch
        refused = follower.refused
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as foreign:
            foreign.bind(("127.0.0.1", 0))
            far = clock_datagram(1, 2**30, ClockReading(500.0, 1.0, False, 9))
            foreign.sendto(far, ("127.0.0.1", follower.port))
        leader_address = ("127.0.0.1", leader.port)
        now_s = time.perf_counter()
        show_s = leader_clock.show_time_s(now_s)
        session, seq = leader.session, leader.seq + 1000
        bad = [
            b"\x00garbage",
            b"/sync/clock\x00",
            build_datagram("/sync/clock", [session, seq, 0, 20, math.nan, 1.0, 0]),
            build_datagram("/sync/clock", [session, seq, 0, 20, 0.5, math.inf, 0]),
            build_datagram("/sync/clock", [session, seq, 0, 2_000_000_000, 0.5, 1.0, 0]),
            build_datagram("/sync/clock", [session, seq, 0, -5, 0.5, 1.0, 0]),
            build_datagram("/sync/clock", [session, seq, 0, 20, 0.5, 0.0, 0]),
            build_datagram("/sync/clock", [session, seq, 0, 20, 0.5, 1.0, 7]),
            build_datagram("/sync/clock", [session, seq, 0, 20, 0.5]),
            clock_datagram(session, seq, ClockReading(show_s + 7200.0, 1.0, False, 5)),
            clock_datagram(session, 1, ClockReading(show_s, 1.0, False, 0)),  # a replay
        ]
        assert all(follower.take(data, leader_address, now_s) is False for data in bad)
        time.sleep(0.3)
        assert follower.refused >= refused + len(bad) + 1  # the foreign one too
        after = offsets_s(leader_clock, loop, 0.5)
        assert max(abs(o) for o in after) < FRAME_S, "a bad clock moved the show"
        assert loop.clock.epoch == epoch, "a bad clock made the follower seek"

        # the leader's clock steps 0.1 s ahead (as a restarted leader may): slewed, no seek
        now_s = time.perf_counter()
        leader_clock = ClockState(anchor_wall_s=now_s,
                                  anchor_show_s=leader_clock.show_time_s(now_s) + 0.1)
        holder[0] = leader_clock
        time.sleep(0.5)
        behind = offsets_s(leader_clock, loop, 0.1)
        assert min(behind) > 0.05, "the follower jumped instead of slewing"
        time.sleep(3.0)  # 0.1 s at the 5 % limit: 2 s, then the tail
        caught_up = offsets_s(leader_clock, loop, 0.3)
        assert max(abs(o) for o in caught_up) < FRAME_S / 3, caught_up
        assert loop.clock.epoch == epoch, "the follower seeked instead of slewing"

        # the leader gone: the follower plays on at the leader's rate, alone
        leader.stop()
        deadline_s = time.perf_counter() + 4.0
        while loop.player.follow_state.is_locked:
            assert time.perf_counter() < deadline_s, "the leader's loss was never noticed"
            time.sleep(0.05)
        assert notes["sync"].startswith("alone")
        assert loop.clock.rate == 1.0 and not loop.clock.is_paused
        alone = offsets_s(leader_clock, loop, 0.5)
        assert max(abs(o) for o in alone) < FRAME_S  # same machine: no drift alone either
    finally:
        for service in (stranger, follower, leader):
            service.stop()
        stopping.set()
        render.join(5.0)
