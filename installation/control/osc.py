"""The OSC server: one UDP socket, one thread ("osc"); handlers parse and enqueue, nothing more.

Each datagram goes through, in order:
1. the allow-list (sender address) -> else dropped, counted `denied`;
2. the sender's token bucket (`rate_limit_per_s`, burst 2x) -> else `rate_limited`;
3. parsing: OSC messages and bundles (nested ones too, in datagram order, handled at once:
   timetags are ignored, so nothing waits) -> else `malformed`;
4. per message: one token, then `addresses.parse()`, then the show's `refusal` check (does the
   playing section take it?) -> commands on the queue (`accepted`) or one rate-limited ERROR
   line and a `/status/refused <address> <reason>` reply (`rejected`; `refused` counts those the
   show refused). Expensive commands (moves, show changes, glides, mixing; mailbox.py) also take
   a token of the sender's expensive budget; over it they wait at the sender, merged to the
   newest (`deferred`), and go when the budget refills: a burst of reloads becomes one.
A datagram with an accepted message is answered with the status (/status/<key> <value> ...
/status/end), from the server's socket, so the reply comes from the server's port. The thread
reads at most MAX_DATAGRAMS_PER_S: a storm beyond that waits in the socket buffer (the kernel
drops the overflow) instead of holding the GIL the render thread needs.

No amplification: every reply and heartbeat comes out of one byte budget (REPLY_BYTES_PER_S,
whatever the senders send), status replies and refusals are rate-limited per sender host, and
heartbeats go only to the MAX_REPLY_TARGETS most recent senders of an accepted message, until
they have been quiet for SENDER_QUIET_S (and to `feedback_target`). Log lines about a sender are
keyed by its host, never its port, so a sender hopping ports cannot flood the log.

Counting: `received` counts messages, except that a datagram dropped before parsing (denied,
rate-limited, malformed) counts as one. So `received == accepted + rejected + denied +
rate_limited + malformed` always; `datagrams` counts raw datagrams.

Why bundles are parsed here and not by python-osc (1.10.2): its bundle parser loops forever on
an element size <= -4 (a 20-byte datagram stops the thread for good, logging a root-logger
WARNING per turn), and `Dispatcher.call_handlers_for_packet` swallows parse errors (so they
could not be counted). Messages are still decoded by python-osc's `OscMessage`, after a check
that the type tags are ones it knows (it would log a root WARNING per unknown tag character).
The server is python-osc's `BlockingOSCUDPServer` with a `Dispatcher(strict_timing=False)`
whose default handler is `_on_message`, the one function every message goes to.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import math
import numbers
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message import ParseError as MessageParseError
from pythonosc.osc_message_builder import build_msg
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.parsing.osc_types import BuildError
from pythonosc.parsing.osc_types import ParseError as TypeParseError

from installation.control.addresses import LogLimiter, MessageError, parse
from installation.control.mailbox import is_expensive, merge, merge_key
from installation.errors import ControlError
from installation.walk.commands import Command

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Status = Callable[[], dict[str, float | int | str | bool]]
Refusal = Callable[[Command], str | None]  # why the show would not take a command now


class CommandSink(Protocol):
    """Where accepted commands go: the render thread's CommandQueue (or any queue)."""

    def put(self, item: Command, block: bool = ..., timeout: float | None = ...) -> None: ...

LOOPBACK_NETWORKS: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# "local" means the private and link-local ranges (RFC 1918, RFC 3927, RFC 4193, RFC 4291), not
# the subnets of this machine's interfaces: the standard library cannot list those on every OS
# without running `ip`/`ipconfig`. For a stricter list name the gallery's CIDR explicitly.
LOCAL_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7",
                 "fe80::/10")
)  # fmt: skip

POLL_S = 0.05  # the server loop's socket timeout: how late a heartbeat or stop() may come
MAX_DATAGRAM_BYTES = 65535  # socketserver's default of 8192 would cut large bundles
MAX_BUNDLE_DEPTH = 8  # nested bundles deeper than this are malformed
SENDER_MEMORY_S = 60.0  # a sender host's budgets are forgotten after this long without a datagram
SENDER_QUIET_S = 10.0  # heartbeats stop going to a sender quiet (no accepted message) this long
MAX_REPLY_TARGETS = 16  # (host, port) pairs that get heartbeats; the least recent one goes
MAX_SENDERS = 1024  # remembered sender hosts (budgets); the oldest are forgotten
EXPENSIVE_PER_S = 2.0  # expensive commands a second per sender host (burst 2x)
STATUS_REPLIES_PER_S = 2.0  # status replies a second per sender host (burst 2x)
REFUSALS_PER_S = 4.0  # /status/refused replies a second per sender host (burst 2x)
REPLY_BYTES_PER_S = 8192.0  # all replies and heartbeats together (burst: one second's worth)
MAX_REASON_CHARS = 200  # the reason of a /status/refused reply
MAX_ECHO_CHARS = 120  # the address it repeats (the sender chose it: any length)
MAX_DATAGRAMS_PER_S = 2000.0  # the osc thread reads no faster (burst 0.1 s): a storm waits in
# the socket buffer (the kernel drops what overflows) instead of taking the GIL from rendering
STATUS_CACHE_S = 0.1  # replies within this reuse the status datagrams already built
MAX_LOGGED_HOSTS = 32  # log lines keyed by sender host: the first hosts each, then all others
HOUSEKEEPING_S = 10.0
_BUNDLE_PREFIX = b"#bundle\x00"
_KNOWN_TYPE_TAGS = b"ihfdsbrmtTFN[]"  # what python-osc 1.10.2 decodes
# What python-osc's message decoder may raise on hostile bytes (notes/stack.md §3).
_PARSE_ERRORS = (
    MessageParseError, TypeParseError, UnicodeDecodeError, TypeError, ValueError, IndexError,
    struct.error, OverflowError,
)  # fmt: skip


class MalformedDatagram(ValueError):
    """A datagram is not OSC (or not OSC this server can read)."""


@dataclass
class OscCounters:
    """What the server did with its input; others read it (copy with `snapshot()`)."""

    datagrams: int = 0
    received: int = 0  # == accepted + rejected + denied + rate_limited + malformed
    accepted: int = 0
    rejected: int = 0  # unknown address, bad arguments, or refused by the show
    refused: int = 0  # of the rejected: the playing section does not take it
    deferred: int = 0  # expensive commands held at their sender (over its budget), merged
    denied: int = 0  # sender not in the allow-list
    rate_limited: int = 0
    malformed: int = 0
    replies_sent: int = 0  # datagrams
    replies_dropped: int = 0  # datagrams not sent: over the reply byte budget
    send_errors: int = 0
    paced_s: float = 0.0  # time the osc thread waited: more than MAX_DATAGRAMS_PER_S came
    request_bytes: int = 0  # every datagram received, allowed or not
    reply_bytes: int = 0  # every datagram sent (replies, refusals, heartbeats)
    internal_errors: int = 0

    def snapshot(self) -> OscCounters:
        return replace(self)


def allow_networks(allow: Sequence[str]) -> tuple[tuple[Network, ...], bool]:
    """Allow-list entries -> (networks, is_any).

    Entries: "loopback", "local" (private and link-local ranges), "any" (everyone; must be
    explicit), an address ("192.168.1.20") or a CIDR network ("192.168.1.0/24").

    Raises:
        ControlError: an entry is none of these, or the list is empty.
    """
    if isinstance(allow, str):
        allow = (allow,)
    networks: list[Network] = []
    is_any = False
    for entry in allow:
        word = entry.strip().lower()
        if word == "any":
            is_any = True
        elif word == "loopback":
            networks.extend(LOOPBACK_NETWORKS)
        elif word == "local":
            networks.extend(LOCAL_NETWORKS)
        else:
            try:
                networks.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                raise ControlError(
                    f"OSC allow-list: {entry!r} is not loopback, local, any, an IP address or a "
                    "CIDR network"
                ) from None
    if not networks and not is_any:
        raise ControlError("OSC allow-list is empty: nobody could steer the show")
    return tuple(networks), is_any


class _TokenBucket:
    """`rate_per_s` tokens a second, at most `capacity`; a message takes one."""

    __slots__ = ("rate_per_s", "capacity", "tokens", "last_s")

    def __init__(self, rate_per_s: float, capacity: float, now_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self.tokens = capacity
        self.last_s = now_s

    def refill(self, now_s: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now_s - self.last_s) * self.rate_per_s)
        self.last_s = now_s

    def has_token(self, now_s: float) -> bool:
        self.refill(now_s)
        return self.tokens >= 1.0

    def take(self, now_s: float, amount: float = 1.0) -> bool:
        self.refill(now_s)
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


@dataclass
class _Sender:
    """One sender host's budgets and its expensive commands waiting for that budget."""

    messages: _TokenBucket
    expensive: _TokenBucket
    status: _TokenBucket
    refusals: _TokenBucket
    deferred: OrderedDict[Hashable, Command] = field(default_factory=OrderedDict)


class _Server(BlockingOSCUDPServer):
    """python-osc's blocking server with our checks; never reuses a taken address."""

    allow_reuse_address = False
    allow_reuse_port = False
    max_packet_size = MAX_DATAGRAM_BYTES

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher, owner: OscControl):
        self.owner = owner
        super().__init__(address, dispatcher, timeout=POLL_S)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.owner._admit(request[0], client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.owner._handle_datagram(request[0], client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A bug, not bad input (that is caught earlier): one line a minute, never a flood."""
        self.owner._internal_error("handling a datagram", client_address)

    def handle_timeout(self) -> None:
        """No datagram within POLL_S; the loop goes on."""


class OscControl:
    """Receives OSC on one UDP socket and turns messages into commands; replies with status.

    Binds in the constructor; `start()` runs the server on a thread named "osc", `stop()` ends
    it. Only that thread touches the socket: it receives, replies and sends heartbeats.

    Args:
        host, port: where to listen; port 0 picks a free one (see `port`).
        commands: the render thread's command queue (a CommandQueue merges what waits);
            accepted messages put commands on it.
        status: returns the app's state for feedback, e.g. {"section": "intro",
            "show_time_s": 12.3, "paused": False, ...}; called on the osc thread.
        allow: senders allowed to steer (see `allow_networks`); others are dropped.
        rate_limit_per_s: messages a second per sender IP (burst: twice that).
        feedback_target: (host, port) that also gets every status reply and heartbeat, e.g. a
            tablet that listens on another port than the one it sends from.
        heartbeat_s: every this many seconds, send /heartbeat <show_time_s> and the status to
            recent senders and `feedback_target`; 0 turns heartbeats off.
        refusal: says why the playing section would not take a command (None: it would);
            called on the osc thread; a refused message is answered /status/refused.
        reply_bytes_per_s: the byte budget of all replies and heartbeats together.

    Raises:
        ControlError: the port is taken, the host is not this machine's, or `allow` is invalid.
    """

    def __init__(
        self,
        host: str,
        port: int,
        commands: CommandSink,
        status: Status,
        allow: Sequence[str] = ("loopback", "local"),
        rate_limit_per_s: float = 200.0,
        feedback_target: tuple[str, int] | None = None,
        heartbeat_s: float = 2.0,
        refusal: Refusal | None = None,
        reply_bytes_per_s: float = REPLY_BYTES_PER_S,
    ) -> None:
        if not rate_limit_per_s > 0:
            raise ControlError(f"OSC rate limit must be > 0 messages/s, got {rate_limit_per_s}")
        if not heartbeat_s >= 0:
            raise ControlError(f"OSC heartbeat must be >= 0 s (0 = off), got {heartbeat_s}")
        self._networks, self._is_any = allow_networks(allow)
        self._allow_text = ",".join([allow] if isinstance(allow, str) else allow)
        self._commands = commands
        self._status = status
        self._refusal = refusal
        self.rate_limit_per_s = float(rate_limit_per_s)
        self.feedback_target = feedback_target
        self.heartbeat_s = float(heartbeat_s)
        self.counters = OscCounters()
        self._limiter = LogLimiter(log)  # keyed by address and reason
        self._host_limiter = LogLimiter(log, max_keys=MAX_LOGGED_HOSTS)  # keyed by sender host
        self._allowed: dict[str, bool] = {}
        self._senders: OrderedDict[str, _Sender] = OrderedDict()  # host -> budgets, oldest first
        self._deferring: set[str] = set()  # hosts with deferred expensive commands
        self._recent: OrderedDict[tuple, float] = OrderedDict()  # reply target -> last accepted
        now_s = time.monotonic()
        self._reply_budget = _TokenBucket(reply_bytes_per_s, reply_bytes_per_s, now_s)
        self._intake = _TokenBucket(MAX_DATAGRAMS_PER_S, 0.1 * MAX_DATAGRAMS_PER_S, now_s)
        self._status_cache: tuple[float, list[bytes]] = (-math.inf, [])
        self._is_reply_due = False
        self._refusals: list[tuple[str, str]] = []  # (address, reason) of the datagram at hand
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._is_closed = False
        self._next_heartbeat_s = 0.0
        self._next_housekeeping_s = 0.0
        self._dispatcher = Dispatcher(strict_timing=False)
        self._dispatcher.set_default_handler(self._on_message, needs_reply_address=True)
        try:
            self._server = _Server((host, port), self._dispatcher, self)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.errno == errno.EADDRINUSE:
                raise ControlError(f"OSC port {host}:{port} is taken: {reason}") from None
            raise ControlError(f"OSC cannot listen on {host}:{port}: {reason}") from None
        self.host = host

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0)."""
        return self._server.server_address[1]

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def reply_targets(self) -> list[tuple]:
        """The (host, port) pairs heartbeats go to now, besides `feedback_target` (a copy)."""
        return list(self._recent)

    def start(self) -> None:
        """Run the server on its own thread, "osc"; a second call does nothing."""
        if self._is_closed:
            raise ControlError("this OSC server was stopped; make a new OscControl")
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._serve, name="osc", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """End the thread (join with a timeout) and close the socket; safe to call twice."""
        if self._is_closed:
            return
        self._is_closed = True
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("thread %s did not stop within %.1f s", self._thread.name, timeout_s)
        self._server.server_close()
        self._limiter.flush()
        self._host_limiter.flush()

    def __enter__(self) -> OscControl:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the osc thread -------------------------------------------------------------------------

    def _serve(self) -> None:
        self._next_heartbeat_s = time.monotonic() + self.heartbeat_s
        log.info(
            "listening on %s:%d allow=%s rate_limit=%g/s heartbeat=%g s feedback_target=%s",
            self.host, self.port, self._allow_text, self.rate_limit_per_s, self.heartbeat_s,
            self.feedback_target,
        )  # fmt: skip
        while not self._stopping.is_set():
            try:
                self._server.handle_request()  # at most one datagram, or POLL_S of waiting
                now_s = time.monotonic()
                self._tick(now_s)
                self._pace(now_s)
            except Exception:  # a bug must not end the thread; handle_error covers handlers
                self._internal_error("in the server loop")
        c = self.counters
        log.info(
            "stopped datagrams=%d received=%d accepted=%d rejected=%d refused=%d denied=%d "
            "rate_limited=%d malformed=%d deferred=%d replies_sent=%d replies_dropped=%d "
            "send_errors=%d request_bytes=%d reply_bytes=%d",
            c.datagrams, c.received, c.accepted, c.rejected, c.refused, c.denied, c.rate_limited,
            c.malformed, c.deferred, c.replies_sent, c.replies_dropped, c.send_errors,
            c.request_bytes, c.reply_bytes,
        )  # fmt: skip

    def _admit(self, data: bytes, sender: tuple) -> bool:
        """Checks before parsing: allow-list, rate limit, looks like OSC (verify_request)."""
        c = self.counters
        c.datagrams += 1
        c.request_bytes += len(data)
        self._intake.refill(time.monotonic())
        self._intake.tokens -= 1.0  # may go below 0: _pace() then waits it off
        ip = str(sender[0])
        if not self._is_allowed(ip):
            c.received += 1
            c.denied += 1
            self._host_limiter.log(
                f"denied {ip}", logging.WARNING,
                "dropped datagrams from %s: not in the allow-list (%s)", ip, self._allow_text,
            )  # fmt: skip
            return False
        if not self._sender(ip).messages.has_token(time.monotonic()):
            c.received += 1
            c.rate_limited += 1
            self._log_rate_limited(ip)
            return False
        if not (data.startswith(b"/") or data.startswith(_BUNDLE_PREFIX)):
            self._malformed(ip, data, "neither an OSC message nor a bundle")
            return False
        return True

    def _handle_datagram(self, data: bytes, sender: tuple) -> None:
        """Parse an admitted datagram, hand each message to the handler, reply (within budgets)."""
        try:
            messages = list(_messages(data))
        except _PARSE_ERRORS as exc:
            self._malformed(str(sender[0]), data, f"{type(exc).__name__}: {exc}")
            return
        if not messages:
            self._malformed(str(sender[0]), data, "a bundle without messages")
            return
        self._is_reply_due = False
        self._refusals = []
        for message in messages:
            self._on_message(sender, message.address, *message.params)
        now_s = time.monotonic()
        target = tuple(sender)
        budgets = self._sender(str(sender[0]))
        for address, reason in self._refusals:
            if not budgets.refusals.take(now_s):
                break
            refused = _build("/status/refused",
                             [address[:MAX_ECHO_CHARS], reason[:MAX_REASON_CHARS]])  # fmt: skip
            if refused is not None:
                self._send([refused], target)
        if not self._is_reply_due:
            return
        self._remember_target(target, now_s)
        if budgets.status.take(now_s):
            status = self._status_datagrams(is_heartbeat=False, now_s=now_s)
            self._send(status, target)
            if self.feedback_target is not None and target != self.feedback_target:
                self._send(status, self.feedback_target)

    def _on_message(self, sender: tuple, address: str, *args: Any) -> None:
        """The handler of every message: rate limit, parse, check, enqueue (or defer)."""
        c = self.counters
        c.received += 1
        ip = str(sender[0])
        now_s = time.monotonic()
        budgets = self._sender(ip)
        if not budgets.messages.take(now_s):
            c.rate_limited += 1
            self._log_rate_limited(ip)
            return
        try:
            commands = parse(address, args, self._limiter)
        except MessageError as exc:
            c.rejected += 1
            # overflowing numbers: one line a minute per sender host (not per port)
            limiter = self._host_limiter if exc.is_overflow else self._limiter
            key = f"overflow {ip}" if exc.is_overflow else exc.log_key
            limiter.log(key, logging.ERROR, "rejected from %s: %s", ip, exc)
            self._refusals.append((address, str(exc)))
            return
        reason = self._refused(commands)
        if reason is not None:
            c.rejected += 1
            c.refused += 1
            self._limiter.log(f"refused {address}", logging.WARNING, "refused from %s: %s: %s",
                              ip, address, reason)  # fmt: skip
            self._refusals.append((address, reason))
            return
        for command in commands:
            if is_expensive(command) and not budgets.expensive.take(now_s):
                self._defer(ip, budgets, command)
            else:
                self._commands.put(command)
        c.accepted += 1
        self._is_reply_due = True
        log.debug("accepted from %s: %s -> %s", ip, address, commands)

    def _refused(self, commands: list[Command]) -> str | None:
        """Why the show would not take these commands now (the first reason), or None."""
        if self._refusal is None:
            return None
        for command in commands:
            try:
                reason = self._refusal(command)
            except Exception:  # the app's callback; its failure must not end the osc thread
                self._internal_error("in the refusal callback")
                return None
            if reason is not None:
                return reason
        return None

    def _defer(self, ip: str, budgets: _Sender, command: Command) -> None:
        """Hold an expensive command at its sender until its budget refills (newest merged)."""
        self.counters.deferred += 1
        key = merge_key(command) or ("once", type(command).__name__)
        waiting = budgets.deferred.pop(key, None)
        merged = command if waiting is None else merge(waiting, command)
        if merged is not None:
            budgets.deferred[key] = merged
        self._deferring.add(ip)
        self._host_limiter.log(f"defer {ip}", logging.WARNING, "more than %g expensive commands a "
                          "second from %s: the newest waits, merged", EXPENSIVE_PER_S,
                          ip)  # fmt: skip

    def _release_deferred(self, now_s: float) -> None:
        """Queue deferred expensive commands whose senders have budget again."""
        for ip in list(self._deferring):
            budgets = self._senders.get(ip)
            while budgets is not None and budgets.deferred and budgets.expensive.take(now_s):
                _, command = budgets.deferred.popitem(last=False)
                self._commands.put(command)
            if budgets is None or not budgets.deferred:
                self._deferring.discard(ip)

    def _pace(self, now_s: float) -> None:
        """Over MAX_DATAGRAMS_PER_S: wait (holding no lock) until the intake budget is back."""
        self._intake.refill(now_s)
        if self._intake.tokens < 0:
            self.counters.paced_s += -self._intake.tokens / self._intake.rate_per_s
            self._stopping.wait(-self._intake.tokens / self._intake.rate_per_s)

    def _tick(self, now_s: float) -> None:
        """Deferred commands, heartbeat and forgetting old senders, between datagrams."""
        if self._deferring:
            self._release_deferred(now_s)
        if now_s >= self._next_housekeeping_s or len(self._senders) > MAX_SENDERS:
            self._next_housekeeping_s = now_s + HOUSEKEEPING_S
            self._forget_senders(now_s)
        if self.heartbeat_s <= 0 or now_s < self._next_heartbeat_s:
            return
        self._next_heartbeat_s = now_s + self.heartbeat_s
        self._forget_quiet_targets(now_s)
        targets = list(reversed(self._recent))  # the most recent first, while the budget lasts
        if self.feedback_target is not None and self.feedback_target not in self._recent:
            targets.append(self.feedback_target)
        if not targets:
            return
        status = self._status_datagrams(is_heartbeat=True, now_s=now_s)
        for target in targets:
            self._send(status, target)

    def _remember_target(self, target: tuple, now_s: float) -> None:
        """A sender of an accepted message gets heartbeats (the most recent ones only)."""
        self._recent[target] = now_s
        self._recent.move_to_end(target)
        while len(self._recent) > MAX_REPLY_TARGETS:
            self._recent.popitem(last=False)

    def _forget_quiet_targets(self, now_s: float) -> None:
        while self._recent:
            target, last_s = next(iter(self._recent.items()))
            if now_s - last_s <= SENDER_QUIET_S:
                break
            del self._recent[target]

    def _forget_senders(self, now_s: float) -> None:
        for ip, budgets in list(self._senders.items()):  # the least recent first
            is_stale = now_s - budgets.messages.last_s > SENDER_MEMORY_S
            if is_stale or (len(self._senders) > MAX_SENDERS and not budgets.deferred):
                del self._senders[ip]
                self._deferring.discard(ip)
        self._forget_quiet_targets(now_s)
        if len(self._allowed) > MAX_SENDERS:
            self._allowed.clear()

    # -- helpers --------------------------------------------------------------------------------

    def _is_allowed(self, ip: str) -> bool:
        if self._is_any:
            return True
        is_allowed = self._allowed.get(ip)
        if is_allowed is None:
            try:
                address = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 scope
            except ValueError:
                address = None
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            is_allowed = address is not None and any(address in n for n in self._networks)
            self._allowed[ip] = is_allowed
        return is_allowed

    def _sender(self, ip: str) -> _Sender:
        """The budgets of sender host `ip` (made on its first datagram)."""
        budgets = self._senders.get(ip)
        if budgets is None:
            now_s = time.monotonic()

            def bucket(rate_per_s: float) -> _TokenBucket:
                return _TokenBucket(rate_per_s, 2.0 * rate_per_s, now_s)

            budgets = _Sender(bucket(self.rate_limit_per_s), bucket(EXPENSIVE_PER_S),
                              bucket(STATUS_REPLIES_PER_S), bucket(REFUSALS_PER_S))  # fmt: skip
            self._senders[ip] = budgets
        else:
            self._senders.move_to_end(ip)
        return budgets

    def _log_rate_limited(self, ip: str) -> None:
        self._host_limiter.log(
            f"rate {ip}", logging.WARNING, "dropping messages from %s: more than %g a second",
            ip, self.rate_limit_per_s,
        )  # fmt: skip

    def _malformed(self, ip: str, data: bytes, reason: str) -> None:
        self.counters.received += 1
        self.counters.malformed += 1
        self._host_limiter.log(
            f"malformed {ip}", logging.ERROR, "malformed datagram from %s (%d bytes, %r): %s",
            ip, len(data), data[:24], reason[:120],
        )  # fmt: skip

    def _internal_error(self, where: str, sender: object = None) -> None:
        """A bug, logged with its traceback once a minute per place (not per sender)."""
        self.counters.internal_errors += 1
        self._limiter.log(
            f"internal {where}", logging.ERROR, "internal error %s%s", where,
            "" if sender is None else f" (sender {sender})", exc_info=True,
        )  # fmt: skip

    def _status_datagrams(self, is_heartbeat: bool, now_s: float) -> list[bytes]:
        """[/heartbeat <show_time_s>,] /status/<key> <value> for each key, /status/end.

        Built at most every STATUS_CACHE_S, and not at all while the reply budget could not send
        the last one (a storm of /status costs no status callback).
        """
        cached_s, datagrams = self._status_cache
        if now_s - cached_s > STATUS_CACHE_S:
            size = sum(len(d) for d in datagrams)
            self._reply_budget.refill(now_s)
            if datagrams and self._reply_budget.tokens < size:
                return datagrams  # _send() drops it: no use building a fresh one
            datagrams = self._build_status()
            self._status_cache = (now_s, datagrams)
        if not is_heartbeat:
            return datagrams[1:]
        return datagrams

    def _build_status(self) -> list[bytes]:
        """/heartbeat <show_time_s>, then /status/<key> <value> for each key, /status/end."""
        try:
            state = dict(self._status())
        except Exception:  # the app's callback; its failure must not end the osc thread
            self._internal_error("in the status callback")
            state = {}
        show_time_s = state.get("show_time_s", 0.0)
        datagrams = [_build("/heartbeat", [_osc_value(show_time_s)])]
        for key, value in state.items():
            datagrams.append(_build(f"/status/{key}", [_osc_value(value)]))
        datagrams.append(_build("/status/end", []))
        if datagrams[0] is None:
            datagrams[0] = _build("/heartbeat", [0.0])
        return [d for d in datagrams if d is not None]

    def _send(self, datagrams: list[bytes], target: tuple) -> None:
        """Send from the server's socket, all or none within the reply byte budget; a failure is
        logged (once a minute per target host), never raised."""
        size = sum(len(datagram) for datagram in datagrams)
        if not self._reply_budget.take(time.monotonic(), size):
            self.counters.replies_dropped += len(datagrams)
            return
        try:
            for datagram in datagrams:
                self._server.socket.sendto(datagram, target)
                self.counters.replies_sent += 1
                self.counters.reply_bytes += len(datagram)
        except OSError as exc:
            self.counters.send_errors += 1
            self._host_limiter.log(
                f"send {target[0]}", logging.WARNING, "cannot send feedback to %s: %s",
                target, exc.strerror or exc,
            )  # fmt: skip


def _messages(data: bytes, depth: int = 0) -> Iterator[OscMessage]:
    """The messages of a datagram in order: a message, or a bundle's elements (recursively).

    Raises:
        MalformedDatagram, or one of _PARSE_ERRORS from python-osc's message decoder.
    """
    if data.startswith(b"/"):
        _check_type_tags(data)
        yield OscMessage(data)
        return
    if not data.startswith(_BUNDLE_PREFIX):
        raise MalformedDatagram("a bundle element is neither a message nor a bundle")
    if depth >= MAX_BUNDLE_DEPTH:
        raise MalformedDatagram(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    index = len(_BUNDLE_PREFIX) + 8  # the timetag is ignored: messages are handled at once
    if len(data) < index:
        raise MalformedDatagram("a bundle shorter than its header")
    while index < len(data):
        if index + 4 > len(data):
            raise MalformedDatagram("a bundle element size is cut off")
        (size,) = struct.unpack_from(">i", data, index)
        index += 4
        if size <= 0 or size % 4 or index + size > len(data):
            raise MalformedDatagram(f"a bundle element size of {size} bytes")
        yield from _messages(data[index : index + size], depth + 1)
        index += size


def _check_type_tags(data: bytes) -> None:
    """Reject type tags python-osc cannot decode (it would log a root WARNING for each)."""
    end = data.find(b"\x00")
    if end < 0:
        raise MalformedDatagram("the address is not terminated")
    start = (end // 4 + 1) * 4  # strings are padded to 4 bytes
    if start >= len(data):
        return  # no type tags: no arguments
    tag_end = data.find(b"\x00", start)
    tags = data[start : tag_end if tag_end >= 0 else len(data)]
    if tags[:1] != b"," or tags[1:].strip(_KNOWN_TYPE_TAGS):
        raise MalformedDatagram(f"unsupported type tags {tags[:40]!r}")


def _osc_value(value: object) -> int | float | str:
    """A status value as OSC sends it: bools as 0/1, numbers as int/float, else a string."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value if isinstance(value, str) else str(value)


def _build(address: str, values: list[Any]) -> bytes | None:
    try:
        return build_msg(address, values).dgram
    except (BuildError, ValueError, struct.error) as exc:
        log.warning("cannot build %s %r: %s", address, values, exc)
        return None


# -- a client for operators (latent-walk osc-send) ------------------------------------------------


def send_message(
    host: str, port: int, address: str, values: Sequence[Any], wait_reply_s: float = 0.0
) -> list[tuple[str, list[Any]]]:
    """Send one OSC message from a fresh UDP socket; with `wait_reply_s` > 0 collect the replies.

    Returns:
        The replies that came back to the sending socket within `wait_reply_s`, up to the end of
        the answer (/status/end, or /status/refused), as (address, arguments), in arrival
        order; [] when not waiting.

    Raises:
        ControlError: a bad address or value, an unknown host, or a failed send.
    """
    if not address.startswith("/"):
        raise ControlError(f"an OSC address starts with '/', got {address!r}")
    try:
        datagram = build_msg(address, list(values)).dgram
    except (BuildError, ValueError) as exc:
        raise ControlError(f"cannot build {address} {list(values)!r}: {exc}") from None
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(datagram, sockaddr)
            return _collect_replies(sock, wait_reply_s)
    except OSError as exc:
        raise ControlError(f"OSC {host}:{port}: {exc.strerror or exc}") from None


def _collect_replies(sock: socket.socket, wait_s: float) -> list[tuple[str, list[Any]]]:
    replies: list[tuple[str, list[Any]]] = []
    deadline_s = time.monotonic() + wait_s
    while (left_s := deadline_s - time.monotonic()) > 0:
        sock.settimeout(left_s)
        try:
            data, _ = sock.recvfrom(MAX_DATAGRAM_BYTES)
        except TimeoutError:
            break
        try:
            replies.extend((m.address, list(m.params)) for m in _messages(data))
        except _PARSE_ERRORS as exc:
            replies.append(("(malformed reply)", [f"{len(data)} bytes: {exc}"]))
        if replies[-1][0] in ("/status/end", "/status/refused"):  # the whole answer is here
            break
    return replies
