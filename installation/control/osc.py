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

The pieces, as python-osc splits them: datagram framing (osc_framing.py: messages and bundles
out of a datagram, the size limits, and why bundles are not parsed by python-osc), access
control (access.py: the allow-list and each sender host's budgets), this server, and the
operator's client (osc_client.py). The server is python-osc's `BlockingOSCUDPServer` with a
`Dispatcher(strict_timing=False)` whose default handler is `_on_message`, the one function
every message goes to.
"""

from __future__ import annotations

import errno
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from installation.control.access import (
    EXPENSIVE_PER_S,
    MAX_SENDERS,
    SENDER_MEMORY_S,
    AllowList,
    SenderBudgets,
    TokenBucket,
)
from installation.control.addresses import LogLimiter, MessageError, parse
from installation.control.mailbox import is_expensive, merge, merge_key
from installation.control.osc_framing import (
    MAX_DATAGRAM_BYTES,
    PARSE_ERRORS,
    build_datagram,
    is_osc_start,
    osc_value,
    read_messages,
)
from installation.control.service import ServiceThread
from installation.errors import ControlError
from installation.netcheck import DEFAULT_ALLOW
from installation.walk.commands import Command

log = logging.getLogger(__name__)

Status = Callable[[], dict[str, float | int | str | bool]]
Refusal = Callable[[Command], str | None]  # why the show would not take a command now


class CommandSink(Protocol):
    """Where accepted commands go: the render thread's CommandQueue (or any queue)."""

    def put(self, item: Command, block: bool = ..., timeout: float | None = ...) -> None: ...


POLL_S = 0.05  # the server loop's socket timeout: how late a heartbeat or stop() may come
SENDER_QUIET_S = 10.0  # heartbeats stop going to a sender quiet (no accepted message) this long
MAX_REPLY_TARGETS = 16  # (host, port) pairs that get heartbeats; the least recent one goes
REPLY_BYTES_PER_S = 8192.0  # all replies and heartbeats together (burst: one second's worth)
MAX_REASON_CHARS = 200  # the reason of a /status/refused reply
MAX_ECHO_CHARS = 120  # the address it repeats (the sender chose it: any length)
MAX_DATAGRAMS_PER_S = 2000.0  # the osc thread reads no faster (burst 0.1 s): a storm waits in
# the socket buffer (the kernel drops what overflows) instead of taking the GIL from rendering
STATUS_CACHE_S = 0.1  # replies within this reuse the status datagrams already built
MAX_LOGGED_HOSTS = 32  # log lines keyed by sender host: the first hosts each, then all others
HOUSEKEEPING_S = 10.0


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


class OscControl(ServiceThread):
    """Receives OSC on one UDP socket and turns messages into commands; replies with status.

    Binds in the constructor; `start()` runs the server on a thread named "osc", `stop()` ends
    it. Only that thread touches the socket: it receives, replies and sends heartbeats.

    Args:
        host, port: where to listen; port 0 picks a free one (see `port`).
        commands: the render thread's command queue (a CommandQueue merges what waits);
            accepted messages put commands on it.
        status: returns the app's state for feedback, e.g. {"section": "intro",
            "show_time_s": 12.3, "paused": False, ...}; called on the osc thread.
        allow: senders allowed to steer (see `access.allow_networks`); others are dropped.
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

    thread_name = "osc"
    service_name = "OSC server"
    stop_timeout_s = 2.0

    def __init__(
        self,
        host: str,
        port: int,
        commands: CommandSink,
        status: Status,
        allow: Sequence[str] = DEFAULT_ALLOW,
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
        super().__init__()
        self._allow = AllowList(allow)
        self._commands = commands
        self._status = status
        self._refusal = refusal
        self.rate_limit_per_s = float(rate_limit_per_s)
        self.feedback_target = feedback_target
        self.heartbeat_s = float(heartbeat_s)
        self.counters = OscCounters()
        self._limiter = LogLimiter(log)  # keyed by address and reason
        self._host_limiter = LogLimiter(log, max_keys=MAX_LOGGED_HOSTS)  # keyed by sender host
        # sender host -> budgets, the least recent first
        self._senders: OrderedDict[str, SenderBudgets] = OrderedDict()
        self._deferring: set[str] = set()  # hosts with deferred expensive commands
        self._recent: OrderedDict[tuple, float] = OrderedDict()  # reply target -> last accepted
        now_s = time.monotonic()
        self._reply_budget = TokenBucket(reply_bytes_per_s, reply_bytes_per_s, now_s)
        self._intake = TokenBucket(MAX_DATAGRAMS_PER_S, 0.1 * MAX_DATAGRAMS_PER_S, now_s)
        self._status_cache: tuple[float, list[bytes]] = (-math.inf, [])
        self._is_reply_due = False
        self._refusals: list[tuple[str, str]] = []  # (address, reason) of the datagram at hand
        self._stopping = threading.Event()
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
    def reply_targets(self) -> list[tuple]:
        """The (host, port) pairs heartbeats go to now, besides `feedback_target` (a copy)."""
        return list(self._recent)

    def _request_stop(self) -> None:
        self._stopping.set()

    def _close(self) -> None:
        self._server.server_close()
        self._limiter.flush()
        self._host_limiter.flush()

    # -- the osc thread -------------------------------------------------------------------------

    def _run(self) -> None:
        self._next_heartbeat_s = time.monotonic() + self.heartbeat_s
        log.info(
            "listening on %s:%d allow=%s rate_limit=%g/s heartbeat=%g s feedback_target=%s",
            self.host, self.port, self._allow.text, self.rate_limit_per_s, self.heartbeat_s,
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
        if not self._allow.is_allowed(ip):
            c.received += 1
            c.denied += 1
            self._host_limiter.log(
                f"denied {ip}", logging.WARNING,
                "dropped datagrams from %s: not in the allow-list (%s)", ip, self._allow.text,
            )  # fmt: skip
            return False
        if not self._sender(ip).messages.has_token(time.monotonic()):
            c.received += 1
            c.rate_limited += 1
            self._log_rate_limited(ip)
            return False
        if not is_osc_start(data):
            self._malformed(ip, data, "neither an OSC message nor a bundle")
            return False
        return True

    def _handle_datagram(self, data: bytes, sender: tuple) -> None:
        """Parse an admitted datagram, hand each message to the handler, reply (within budgets)."""
        try:
            messages = list(read_messages(data))
        except PARSE_ERRORS as exc:
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
            refused = build_datagram("/status/refused",
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

    def _defer(self, ip: str, budgets: SenderBudgets, command: Command) -> None:
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
        self._allow.forget_answers(MAX_SENDERS)

    # -- helpers --------------------------------------------------------------------------------

    def _sender(self, ip: str) -> SenderBudgets:
        """The budgets of sender host `ip` (made on its first datagram)."""
        budgets = self._senders.get(ip)
        if budgets is None:
            budgets = SenderBudgets.full(self.rate_limit_per_s, time.monotonic())
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
        datagrams = [build_datagram("/heartbeat", [osc_value(show_time_s)])]
        for key, value in state.items():
            datagrams.append(build_datagram(f"/status/{key}", [osc_value(value)]))
        datagrams.append(build_datagram("/status/end", []))
        if datagrams[0] is None:
            datagrams[0] = build_datagram("/heartbeat", [0.0])
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
