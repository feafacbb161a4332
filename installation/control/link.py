"""--sync link: the show clock follows an Ableton Link session's beat timeline.

Ableton Link is the LAN clock of music and performance tools (Live, Bitwig, TouchDesigner,
Resolume and many more): peers find each other by multicast on the local network and share a
tempo and a beat timeline. Every `--sync link` instance is a peer; its show time is the
session's beat counted at the show's `tempo_bpm` (show seconds = beat x 60 / tempo_bpm) and its
speed is the session tempo over the show's, so a DJ's tempo change speeds the show up or down
on every PC at once, and the walk's beat-counted sections stay on the beat.

Link aligns a joining peer's beats to the session only modulo its quantum, so this peer uses a
quantum of QUANTUM_BEATS (2^24 beats: 97 days at 120 BPM): all `--sync link` peers then count
the same beats. The first peer starts the count at 0; one that joins later starts where the
session is. Each reading (five a second) becomes a FollowClock command that the Player slews
to (walk/follow.py); an absurd one (not finite, negative, beyond MAX_SHOW_S, a tempo that would
make a speed outside 0.05..10) is refused with one rate-limited log line. The aalink package (a
binding of Link's C++ library with its own asyncio loop here) is imported only for --sync link.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable

from installation.control.service import ServiceThread
from installation.errors import ControlError
from installation.logs import RateLimitedLog
from installation.walk.commands import Command, FollowClock

log = logging.getLogger(__name__)

QUANTUM_BEATS = float(2**24)  # peers agree on beats modulo this (see the module docstring)
READ_INTERVAL_S = 0.2  # readings a second: five
MAX_SHOW_S = 1.0e7  # control/sync.py's bound
RATE_RANGE = (0.05, 10.0)  # walk/timeline.py SPEED_RANGE
LINK_SESSION = 1  # FollowClock.session: one timeline, never a leader restart
REFUSAL_LOG_S = 10.0


def link_clock(beat: float, tempo_bpm: float, show_bpm: float,
               wall_s: float) -> FollowClock | str:  # fmt: skip
    """The FollowClock for Link's `beat` at `tempo_bpm` (read at `wall_s`), or why not."""
    if not (math.isfinite(beat) and math.isfinite(tempo_bpm) and tempo_bpm > 0):
        return f"beat {beat!r} at tempo {tempo_bpm!r} is not a clock"
    show_s = beat * 60.0 / show_bpm
    rate = tempo_bpm / show_bpm
    if not 0.0 <= show_s <= MAX_SHOW_S:
        return f"beat {beat:.3f} is show time {show_s:.3f} s, outside 0..{MAX_SHOW_S:g}"
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        return (f"tempo {tempo_bpm:g} BPM is {rate:g}x the show's {show_bpm:g} BPM, outside "
                f"{RATE_RANGE[0]:g}..{RATE_RANGE[1]:g}")  # fmt: skip
    return FollowClock(show_s, rate, False, wall_s, LINK_SESSION, 0)


class LinkClock(ServiceThread):
    """A Link peer on its own thread (an asyncio loop for aalink) putting FollowClock commands."""

    thread_name = "sync-link"
    service_name = "Link clock"

    def __init__(
        self, commands: Callable[[Command], None] | object, show_bpm: float,
        notes: dict[str, str] | None = None,
        wall_clock: Callable[[], float] = time.perf_counter,
    ) -> None:  # fmt: skip
        """`show_bpm`: the show's tempo_bpm (what one beat is in show seconds)."""
        super().__init__()
        try:
            import aalink  # the optional extra `sync`
        except ImportError:
            raise ControlError("--sync link needs the aalink package: pip install "
                               "'latent-walk[sync]'") from None  # fmt: skip
        self._aalink = aalink
        if not (math.isfinite(show_bpm) and show_bpm > 0):
            raise ControlError(f"--sync link: the show's tempo_bpm {show_bpm!r} is not a tempo")
        put = getattr(commands, "put", commands)
        assert callable(put)
        self.put: Callable[[Command], None] = put
        self.show_bpm = float(show_bpm)
        self.notes = notes if notes is not None else {}
        self.wall_clock = wall_clock
        self.refusal_log = RateLimitedLog(log, interval_s=REFUSAL_LOG_S)
        self.readings = 0
        self.refused = 0
        self.peers = 0
        self.link = None  # aalink.Link, made on the thread (it wants that thread's loop)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception:
            log.exception("Link clock failed; the show plays on alone")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        link = self._aalink.Link(self.show_bpm)
        link.quantum = QUANTUM_BEATS
        link.enabled = True
        self.link = link
        self._ready.set()
        log.info("Link: joined (tempo %.1f BPM, one beat = %.4f show s)", link.tempo,
                 60.0 / self.show_bpm)  # fmt: skip
        try:
            while not self._stop.is_set():
                self.read_once()
                await asyncio.sleep(READ_INTERVAL_S)
        finally:
            link.enabled = False

    def read_once(self) -> FollowClock | None:
        """Read the session's beat and tempo now; put and return its FollowClock (None:
        refused, with a rate-limited log line)."""
        link = self.link
        if link is None:
            return None
        beat, tempo_bpm, wall_s = float(link.beat), float(link.tempo), self.wall_clock()
        peers = int(link.num_peers)
        if peers != self.peers:
            log.info("Link: %d other peer(s) in the session", peers)
            self.peers = peers
        self.notes["sync"] = f"link, {peers} peer(s), {tempo_bpm:.1f} BPM"
        clock = link_clock(beat, tempo_bpm, self.show_bpm, wall_s)
        if isinstance(clock, str):
            self.refused += 1
            self.refusal_log.log(logging.WARNING, "Link clock refused: %s", clock)
            return None
        self.readings += 1
        self.put(clock)
        return clock

    def _after_start(self) -> None:
        self._ready.wait(5.0)

    def _request_stop(self) -> None:
        self._stop.set()

    def _close(self) -> None:
        self.link = None
