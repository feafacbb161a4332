"""--sync link: two Link peers (control/link.py LinkClock, real aalink) agree on the show clock.

Link's discovery multicasts on every interface it finds, so the peers run in a child process
inside a network namespace of its own (`unshare -rn`, as tests/e2e/test_oscquery_dns_sd.py):
its only interface is a loopback brought up with multicast on; the child checks that `lo` is
its only interface before Link is enabled. Each peer puts FollowClock commands; the child
compares the two peers' show times carried to one wall time, changes the tempo on one peer and
sees the other's speed follow, and feeds one peer's commands to a Player (the slew). It prints
what it saw as one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

UNSHARE = ["unshare", "--user", "--map-root-user", "--net"]
ROOT = Path(__file__).resolve().parents[2]


def peers_in_this_namespace() -> dict:
    """The child's part (inside the namespace)."""
    import queue
    import socket
    import time

    from installation.control.link import LinkClock
    from installation.walk.player import Player
    from tests.e2e.test_oscquery_dns_sd import loopback_up_with_multicast
    from tests.stub_timeline import StubTimeline

    interfaces = [name for _index, name in socket.if_nameindex()]
    if interfaces != ["lo"]:  # never multicast on a real network
        return {"error": f"not in a fresh network namespace: {interfaces}"}
    loopback_up_with_multicast()
    first_q: queue.SimpleQueue = queue.SimpleQueue()
    second_q: queue.SimpleQueue = queue.SimpleQueue()
    first = LinkClock(first_q, show_bpm=120.0)
    first.start()
    time.sleep(1.0)  # the first peer's beats run from 0 for a second
    second = LinkClock(second_q, show_bpm=120.0)
    second.start()
    seen: dict = {}
    try:
        deadline_s = time.monotonic() + 10.0
        while (first.peers < 1 or second.peers < 1) and time.monotonic() < deadline_s:
            time.sleep(0.1)
        seen["peers"] = [first.peers, second.peers]
        time.sleep(0.5)

        def latest(commands: queue.SimpleQueue):
            found = None
            while not commands.empty():
                found = commands.get_nowait()
            return found

        latest(first_q), latest(second_q)
        time.sleep(0.5)
        one, two = latest(first_q), latest(second_q)
        now_s = time.perf_counter()
        at_now = [c.show_s + (now_s - c.received_wall_s) * c.rate for c in (one, two)]
        seen["show_s"] = at_now
        seen["rates"] = [one.rate, two.rate]
        # a peer changes the session tempo: the other's speed follows
        first.link.tempo = 90.0  # aalink's properties are plain values (no loop needed)
        time.sleep(1.0)
        latest(first_q)
        seen["rate_after_tempo"] = latest(second_q).rate
        # the Player follows the second peer: locks on, slewing within a frame
        player = Player(StubTimeline([1.0e7]))
        player.start_clock(time.perf_counter(), 0.0, None)
        for _ in range(15):
            command = latest(second_q)
            if command is not None:
                now_s = time.perf_counter()
                reaction = player.apply(command, now_s)
                if reaction.seek_s is not None:
                    player.seek(now_s, reaction.seek_s)
            time.sleep(0.2)
        seen["player_offset_s"] = player.follow_state.offset_s
        seen["refused"] = [first.refused, second.refused]
    finally:
        second.stop()
        first.stop()
    return seen


def test_two_link_peers_share_the_show_clock() -> None:
    pytest.importorskip("aalink", reason="the sync extra (aalink) is not installed")
    child = subprocess.run(
        [*UNSHARE, sys.executable, "-c",
         "import json, sys; sys.path.insert(0, sys.argv[1]); "
         "from tests.e2e.test_sync_link import peers_in_this_namespace as run; "
         "print(json.dumps(run()))", str(ROOT)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-2000:]
    seen = json.loads(child.stdout.strip().splitlines()[-1])
    assert "error" not in seen, seen
    assert seen["peers"] == [1, 1]
    first_s, second_s = seen["show_s"]
    assert first_s > 1.0  # the second peer joined the first's count, not its own from 0
    assert abs(first_s - second_s) < 0.002, seen
    assert seen["rates"] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert seen["rate_after_tempo"] == pytest.approx(0.75)
    assert abs(seen["player_offset_s"]) < 1 / 30, seen
    assert seen["refused"] == [0, 0]
