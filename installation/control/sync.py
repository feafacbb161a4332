"""Several PCs in lockstep: a leader's show clock over OSC/UDP (run_show.py --sync).

A frame is a pure function of (show, show time), so instances that agree on show time show the
same picture. One instance leads (`--sync leader`): it listens on UDP port `--sync-port`
(default 9100, a socket of its own beside the OSC server) for followers' `/sync/hello` and sends
each follower heard within the last FOLLOWER_TIMEOUT_S its show clock five times a second:

    /sync/clock  session:i seq:i epoch:i whole_s:i frac_s:f rate:f paused:i

(show time = whole_s + frac_s, split so that a 32-bit OSC float keeps microseconds after days;
`session` is random per leader process, `seq` counts its messages, `epoch` its cuts). A follower
(`--sync follow HOST:PORT`) sends `/sync/hello` to the leader every second from its own UDP
socket (an ephemeral port; the leader answers to where the hello came from, so a firewall that
lets the hello out lets the answers in) and turns each accepted clock into a FollowClock command
stamped with the moment it arrived; the Player slews to it (walk/follow.py). No leader heard
for LOST_AFTER_S: a ClockLost command, the show plays on alone; the next message re-locks.

A clock message is refused, with one rate-limited log line, and never moves the show when: the
sender is outside the allow-list (the OSC one) or is not the leader named; the datagram is not
exactly one `/sync/clock` message with those types; a value is not finite, the show time is
negative or beyond MAX_SHOW_S, the rate is outside RATE_RANGE; the sequence number does not
grow (a late or replayed datagram); or the show time jumps by more than MAX_JUMP_S (an hour)
from where the last accepted one predicts, unless the next message confirms the new place.
"""

from __future__ import annotations

import logging
import math
import random
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from installation.control.access import AllowList
from installation.control.osc_framing import (
    PARSE_ERRORS,
    MalformedDatagram,
    build_datagram,
    read_messages,
)
from installation.control.service import ServiceThread
from installation.errors import ControlError
from installation.logs import RateLimitedLog
from installation.walk.commands import ClockLost, Command, FollowClock

log = logging.getLogger(__name__)

CLOCK_ADDRESS = "/sync/clock"
HELLO_ADDRESS = "/sync/hello"
SEND_INTERVAL_S = 0.2  # the leader's clock five times a second
HELLO_INTERVAL_S = 1.0  # a follower says hello every second
FOLLOWER_TIMEOUT_S = 5.0  # the leader forgets a follower not heard this long
MAX_FOLLOWERS = 64  # followers one leader keeps (more hellos are refused)
LOST_AFTER_S = 1.5  # no clock this long: the follower plays alone
MAX_SHOW_S = 1.0e7  # about 116 days: later show times are absurd
MAX_JUMP_S = 3600.0  # a jump of an hour or more needs a second message to confirm it
CONFIRM_S = 1.0  # how close the confirming message must agree with the new place
RATE_RANGE = (0.05, 10.0)  # walk/timeline.py SPEED_RANGE
MAX_DATAGRAM_BYTES = 512  # a clock message is 60 bytes; anything long is refused unread
MAX_DATAGRAMS_PER_TICK = 64  # read per loop turn, so a flood can't hold the thread
REFUSAL_LOG_S = 10.0  # refusals: one log line per 10 s (with the count of the others)
POLL_S = 0.05  # the threads' longest sleep (stop requests are seen this fast)


@dataclass(frozen=True)
class ClockReading:
    """The leader's clock now: show time, rate, pause and cut count."""

    show_s: float
    rate: float
    is_paused: bool
    epoch: int


def clock_datagram(session: int, seq: int, reading: ClockReading) -> bytes | None:
    """The /sync/clock message for `reading` (None when it cannot be encoded: logged)."""
    whole_s = math.floor(reading.show_s)
    return build_datagram(CLOCK_ADDRESS, [
        session, seq, reading.epoch, int(whole_s), float(reading.show_s - whole_s),
        float(reading.rate), int(reading.is_paused),
    ])  # fmt: skip


@dataclass(frozen=True)
class ClockMessage:
    """One decoded /sync/clock message."""

    session: int
    seq: int
    epoch: int
    show_s: float
    rate: float
    is_paused: bool


def read_clock(data: bytes) -> ClockMessage:
    """Decode one /sync/clock datagram and check its values.

    Raises:
        ValueError: not exactly one /sync/clock message with sane values (the message says why).
    """
    if len(data) > MAX_DATAGRAM_BYTES:
        raise ValueError(f"a datagram of {len(data)} bytes")
    try:
        messages = list(read_messages(data))
    except (MalformedDatagram, *PARSE_ERRORS) as err:
        raise ValueError(f"not OSC: {err}") from None
    if len(messages) != 1 or messages[0].address != CLOCK_ADDRESS:
        raise ValueError("not one /sync/clock message")
    args = list(messages[0].params)
    kinds = [int, int, int, int, float, float, int]
    if len(args) != len(kinds) or any(type(a) is not k for a, k in zip(args, kinds, strict=True)):
        raise ValueError(f"/sync/clock wants 7 values (iiiiffi), got {args!r:.120}")
    session, seq, epoch, whole_s, frac_s, rate, paused = args
    if not (math.isfinite(frac_s) and math.isfinite(rate)):
        raise ValueError("a value is not finite")
    if not 0.0 <= frac_s < 1.0 or not 0 <= whole_s <= MAX_SHOW_S:
        raise ValueError(f"show time {whole_s}+{frac_s} is absurd")
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise ValueError(f"rate {rate:g} is outside {RATE_RANGE[0]:g}..{RATE_RANGE[1]:g}")
    if paused not in (0, 1):
        raise ValueError(f"paused must be 0 or 1, got {paused}")
    return ClockMessage(session, seq, epoch, whole_s + frac_s, rate, bool(paused))


def waiting_datagrams(sock: socket.socket) -> Iterator[tuple[bytes, tuple[str, int]]]:
    """The datagrams waiting on a non-blocking socket, at most MAX_DATAGRAMS_PER_TICK, as
    (data, (host, port)); each read takes one byte past MAX_DATAGRAM_BYTES, so a longer datagram
    shows as too long and is refused unread. An OSError on one (ICMP port unreachable: a gone
    follower, a leader not there yet) skips it."""
    for _ in range(MAX_DATAGRAMS_PER_TICK):
        try:
            data, sender = sock.recvfrom(MAX_DATAGRAM_BYTES + 1)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            continue
        yield data, (sender[0], sender[1])


def _udp_socket(host: str, port: int, what: str) -> socket.socket:
    """A bound UDP socket (IPv4); ControlError with one line when it cannot be bound."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ControlError(f"{what}: cannot listen on UDP {host}:{port}: {err.strerror}") from None
    sock.setblocking(False)
    return sock


class ClockLeader(ServiceThread):
    """--sync leader: answers followers' hellos with its show clock, five times a second."""

    thread_name = "sync-leader"
    service_name = "sync leader"

    def __init__(
        self, host: str, port: int, reading: Callable[[], ClockReading | None],
        allow: tuple[str, ...] | str, notes: dict[str, str] | None = None,
        wall_clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        """`reading`: the clock now (None while the show is loading); `notes`: the status
        board's notes (the "sync" key says how many follow)."""
        super().__init__()
        self.allow = AllowList(allow)
        self.reading = reading
        self.notes = notes if notes is not None else {}
        self.wall_clock = wall_clock
        self.session = random.randrange(1, 2**31)
        self.seq = 0
        self.followers: dict[tuple[str, int], float] = {}  # address -> last hello (wall s)
        self.refusal_log = RateLimitedLog(log, interval_s=REFUSAL_LOG_S)
        self.refused = 0
        self.sent = 0
        self._sock = _udp_socket(host, port, "--sync leader")
        self.host, self.port = self._sock.getsockname()[:2]
        self._is_stopping = False

    def _run(self) -> None:
        log.info("sync leader on UDP %s:%d (session %d; followers say hello there)",
                 self.host, self.port, self.session)  # fmt: skip
        next_send_s = self.wall_clock()
        while not self._is_stopping:
            now_s = self.wall_clock()
            readable, _, _ = select.select([self._sock], [], [],
                                           min(max(next_send_s - now_s, 0.0), POLL_S))
            if readable:
                self._receive()
            now_s = self.wall_clock()
            if now_s >= next_send_s:
                self._send_all(now_s)
                next_send_s = now_s + SEND_INTERVAL_S

    def _receive(self) -> None:
        """Take the waiting hellos (refusing what is not one from an allowed sender)."""
        for data, sender in waiting_datagrams(self._sock):
            problem = self._hello_problem(data, sender)
            if problem is not None:
                self.refused += 1
                self.refusal_log.log(logging.WARNING, "sync hello from %s:%d refused: %s",
                                     sender[0], sender[1], problem)  # fmt: skip
                continue
            is_new = sender not in self.followers
            self.followers[sender] = self.wall_clock()
            if is_new:
                log.info("sync follower %s:%d joined (%d following)", sender[0], sender[1],
                         len(self.followers))  # fmt: skip
                self._send(sender)

    def _hello_problem(self, data: bytes, sender: tuple[str, int]) -> str | None:
        if not self.allow.is_allowed(sender[0]):
            return f"sender not in the allow-list ({self.allow.text})"
        try:
            messages = list(read_messages(data)) if len(data) <= MAX_DATAGRAM_BYTES else []
        except (MalformedDatagram, *PARSE_ERRORS):
            messages = []
        if len(messages) != 1 or messages[0].address != HELLO_ADDRESS:
            return "not one /sync/hello message"
        if sender not in self.followers and len(self.followers) >= MAX_FOLLOWERS:
            return f"already {MAX_FOLLOWERS} followers"
        return None

    def _send_all(self, now_s: float) -> None:
        for address, heard_s in list(self.followers.items()):
            if now_s - heard_s > FOLLOWER_TIMEOUT_S:
                del self.followers[address]
                log.info("sync follower %s:%d left (no hello for %.0f s)", address[0],
                         address[1], FOLLOWER_TIMEOUT_S)  # fmt: skip
            else:
                self._send(address)
        self.notes["sync"] = f"leader, {len(self.followers)} following"

    def _send(self, address: tuple[str, int]) -> None:
        reading = self.reading()
        if reading is None:
            return
        self.seq = (self.seq + 1) % 2**31
        data = clock_datagram(self.session, self.seq, reading)
        if data is None:
            return
        try:
            self._sock.sendto(data, address)
            self.sent += 1
        except OSError as err:
            self.refusal_log.log(logging.WARNING, "sync clock to %s:%d not sent: %s",
                                 address[0], address[1], err)  # fmt: skip

    def _request_stop(self) -> None:
        self._is_stopping = True

    def _close(self) -> None:
        self._sock.close()


class ClockFollower(ServiceThread):
    """--sync follow HOST:PORT: hears the leader's clock and puts FollowClock commands."""

    thread_name = "sync-follower"
    service_name = "sync follower"

    def __init__(
        self, leader: tuple[str, int], commands: Callable[[Command], None] | object,
        allow: tuple[str, ...] | str, notes: dict[str, str] | None = None,
        wall_clock: Callable[[], float] = time.perf_counter, port: int = 0,
    ) -> None:  # fmt: skip
        """`commands`: the sink (a queue with put, or a callable); `wall_clock`: the render
        loop's clock (each command carries the moment its message arrived); `port`: where this
        follower listens (0: any free port; the leader answers where the hello came from)."""
        super().__init__()
        try:
            infos = socket.getaddrinfo(leader[0], leader[1], socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as err:
            raise ControlError(f"--sync follow {leader[0]}:{leader[1]}: {err}") from None
        self.leader = infos[0][4][:2]
        self.allow = AllowList(allow)
        put = getattr(commands, "put", commands)
        assert callable(put)
        self.put: Callable[[Command], None] = put
        self.notes = notes if notes is not None else {}
        self.wall_clock = wall_clock
        is_loopback = self.leader[0].startswith("127.")
        self._sock = _udp_socket("127.0.0.1" if is_loopback else "0.0.0.0", port,
                                 "--sync follow")  # fmt: skip
        self.port = self._sock.getsockname()[1]
        self.refusal_log = RateLimitedLog(log, interval_s=REFUSAL_LOG_S)
        self.refused = 0
        self.accepted = 0
        self.last: tuple[ClockMessage, float] | None = None  # last accepted, arrival wall s
        self.pending_jump: tuple[ClockMessage, float] | None = None
        self.is_locked = False
        self._is_stopping = False

    def _run(self) -> None:
        log.info("sync: following the leader at %s:%d (listening on UDP %d)", self.leader[0],
                 self.leader[1], self.port)  # fmt: skip
        self.notes["sync"] = f"following {self.leader[0]}:{self.leader[1]}, not heard yet"
        next_hello_s = 0.0
        while not self._is_stopping:
            now_s = time.monotonic()
            if now_s >= next_hello_s:
                self._hello()
                next_hello_s = now_s + HELLO_INTERVAL_S
            readable, _, _ = select.select([self._sock], [], [], POLL_S)
            if readable:
                self._receive()
            self._check_lost()

    def _hello(self) -> None:
        data = build_datagram(HELLO_ADDRESS, [])
        try:
            if data is not None:
                self._sock.sendto(data, self.leader)
        except OSError as err:  # no route yet (the network comes up later): try again
            self.refusal_log.log(logging.WARNING, "sync hello to %s:%d not sent: %s",
                                 self.leader[0], self.leader[1], err)  # fmt: skip

    def _receive(self) -> None:
        for data, sender in waiting_datagrams(self._sock):
            self.take(data, sender, self.wall_clock())

    def take(self, data: bytes, sender: tuple[str, int], arrived_s: float) -> bool:
        """Check one datagram and put its FollowClock; False (one rate-limited log line) when
        it is refused."""
        problem = self._problem(data, sender, arrived_s)
        if isinstance(problem, str):
            self.refused += 1
            self.refusal_log.log(logging.WARNING, "sync clock from %s:%d refused: %s",
                                 sender[0], sender[1], problem)  # fmt: skip
            return False
        message = problem
        self.last, self.pending_jump = (message, arrived_s), None
        self.accepted += 1
        if not self.is_locked:
            self.is_locked = True
            log.info("sync: leader %s:%d heard (session %d), locking on", sender[0], sender[1],
                     message.session)  # fmt: skip
        self.notes["sync"] = f"following {self.leader[0]}:{self.leader[1]}"
        self.put(FollowClock(message.show_s, message.rate, message.is_paused, arrived_s,
                             message.session, message.epoch))  # fmt: skip
        return True

    def _problem(self, data: bytes, sender: tuple[str, int],
                 arrived_s: float) -> str | ClockMessage:  # fmt: skip
        """The refusal's reason, or the accepted message."""
        if not self.allow.is_allowed(sender[0]):
            return f"sender not in the allow-list ({self.allow.text})"
        if sender != self.leader:
            return f"not the leader ({self.leader[0]}:{self.leader[1]})"
        try:
            message = read_clock(data)
        except ValueError as err:
            return str(err)
        if self.last is None:
            return message
        last, last_s = self.last
        if message.session == last.session and message.seq <= last.seq:
            return f"late or repeated (seq {message.seq} after {last.seq})"
        predicted_s = last.show_s + (0.0 if last.is_paused else (arrived_s - last_s) * last.rate)
        if abs(message.show_s - predicted_s) <= MAX_JUMP_S:
            return message
        pending = self.pending_jump
        self.pending_jump = (message, arrived_s)
        if pending is not None and message.session == pending[0].session:
            then, then_s = pending
            expected_s = then.show_s + (0.0 if then.is_paused else (arrived_s - then_s) * then.rate)
            if abs(message.show_s - expected_s) <= CONFIRM_S:
                return message  # two messages agree: the leader really is there now
        return (f"show time {message.show_s:.3f} jumps {message.show_s - predicted_s:+.0f} s "
                "(more than an hour; a second message must confirm it)")  # fmt: skip

    def _check_lost(self) -> None:
        if not self.is_locked or self.last is None:
            return
        silent_s = self.wall_clock() - self.last[1]
        if silent_s > LOST_AFTER_S:
            self.is_locked = False
            log.warning("sync: leader %s:%d not heard for %.1f s: playing on alone",
                        self.leader[0], self.leader[1], silent_s)  # fmt: skip
            self.notes["sync"] = f"alone: leader {self.leader[0]}:{self.leader[1]} not heard"
            self.put(ClockLost())

    def _request_stop(self) -> None:
        self._is_stopping = True

    def _close(self) -> None:
        self._sock.close()
