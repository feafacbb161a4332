"""What the show's aiohttp servers (the HTTP API, OSCQuery) share: who may ask, and how answers go.

- `WebGate`: the allow-list (the OSC rules, control/access.py), the Host check against DNS
  rebinding (an IP address, localhost, this machine's name or a name the server was given), the
  Origin check against other web pages, and each peer's message budget (SenderBudgets, at most
  MAX_SENDERS peers remembered);
- `answer`: runs a request's handler behind the gate and turns every failure into a JSON error
  (a RequestError's status and reason, aiohttp's own 404/405/413, 500 for a bug, logged once a
  minute), never a traceback;
- `bind_tcp`: the listening socket, with one ControlError line when the port is taken;
- strict JSON out (`json_response`: NaN and infinities as null);
- `AiohttpService`: the thread, event loop, socket and start/stop of such a server.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import math
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from installation.control.access import MAX_SENDERS, AllowList, SenderBudgets
from installation.control.addresses import LogLimiter
from installation.control.service import ServiceThread
from installation.errors import ControlError

log = logging.getLogger(__name__)

# A connection must send a whole request (line and headers) within this of opening, or of its
# previous answer (keep-alive), else it is closed: a peer that trickles header bytes
# ("slowloris") holds nothing for long. aiohttp's keep-alive timer does this (it starts when the
# connection opens and closes a connection still waiting for a complete request).
HEADER_TIMEOUT_S = 10.0

Count = Callable[[str], None]  # counts one event by counter name: "denied", "rate_limited", ...


class RequestError(Exception):
    """A request refused with an HTTP status and a reason (sent as {"error": reason});
    `counter`: the server's counter it counts in ("denied", "rate_limited"; "" none)."""

    def __init__(self, status: int, reason: str, counter: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.counter = counter


class WebGate:
    """Admission to one server (module docstring); `what` names it in log lines ("HTTP")."""

    def __init__(
        self,
        what: str,
        host: str,
        allow: Sequence[str],
        rate_limit_per_s: float,
        limiter: LogLimiter,
        server_names: Sequence[str] = (),
    ) -> None:
        self.what = what
        self.allow = AllowList(allow)
        self.rate_limit_per_s = float(rate_limit_per_s)
        self.limiter = limiter
        hostname = socket.gethostname().lower()
        self.names = {"localhost", hostname, f"{hostname}.local", host.lower(),
                      *(name.lower() for name in server_names)}  # fmt: skip
        self._senders: OrderedDict[str, SenderBudgets] = OrderedDict()

    def check_peer(self, request: web.Request) -> str:
        """The peer's IP when it is allowed, its Host is this machine's and no other web page
        sent it; else RequestError 403 (counted as "denied")."""
        ip = request.remote or ""
        if not self.allow.is_allowed(ip):
            self.limiter.log(f"denied {ip}"[:60], logging.WARNING,
                             "refused %s from %s: not in the allow-list (%s)", self.what, ip,
                             self.allow.text)  # fmt: skip
            raise RequestError(403, f"{ip} is not in the allow-list", "denied")
        host = request.host.rsplit(":", 1)[0].strip("[]").lower() if request.host else ""
        if not (is_ip(host) or host in self.names):
            raise RequestError(403, f"Host {host[:60]!r} is not this machine's", "denied")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
            raise RequestError(403, "requests from other web pages are refused", "denied")
        return ip

    def sender(self, ip: str) -> SenderBudgets:
        """The budgets of peer `ip` (made on its first request; the oldest are forgotten)."""
        budgets = self._senders.get(ip)
        if budgets is None:
            budgets = SenderBudgets.full(self.rate_limit_per_s, time.monotonic())
            self._senders[ip] = budgets
            while len(self._senders) > MAX_SENDERS:
                self._senders.popitem(last=False)
        else:
            self._senders.move_to_end(ip)
        return budgets

    def take_message(self, ip: str, what: str = "requests") -> None:
        """Spend one of the peer's messages; RequestError 429 ("rate_limited") when none is
        left."""
        if not self.sender(ip).messages.take(time.monotonic()):
            raise RequestError(429, f"more than {self.rate_limit_per_s:g} {what} a second",
                               "rate_limited")  # fmt: skip


async def answer(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    admit: Callable[[web.Request], object],
    count: Count,
    limiter: LogLimiter,
) -> web.StreamResponse:
    """`handler`'s response once `admit` let the request in; every failure as a JSON error."""
    count("requests")
    try:
        admit(request)
        return await handler(request)
    except RequestError as exc:
        if exc.counter:
            count(exc.counter)
        return error_response(exc.status, exc.reason)
    except web.HTTPException as exc:  # aiohttp's own: 404, 405, 413 ...
        return error_response(exc.status, exc.text or exc.reason)
    except Exception:
        count("internal_errors")
        limiter.log(f"internal {request.path[:40]}", logging.ERROR,
                    "internal error serving %s", request.path[:80], exc_info=True)  # fmt: skip
        return error_response(500, "internal error (see the show's log)")


def bind_tcp(host: str, port: int, what: str) -> socket.socket:
    """A listening TCP socket on host:port (IPv6 when the host is one), not blocking.

    Raises:
        ControlError: the port is taken or the host is not this machine's ("HTTP port ...").
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # lets a restart bind past connections in TIME_WAIT; a port in use still fails
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            raise ControlError(f"{what} port {host}:{port} is taken: {reason}") from None
        raise ControlError(f"{what} cannot listen on {host}:{port}: {reason}") from None
    sock.setblocking(False)
    return sock


def finite(value: Any) -> Any:
    """`value` with NaN and infinities as None, so that browsers can parse the JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def json_response(value: Any, status: int = 200) -> web.Response:
    """A JSON response (strict JSON: no NaN)."""
    return web.json_response(finite(value), status=status)


def error_response(status: int, reason: str) -> web.Response:
    """{"error": reason} with `status`."""
    return json_response({"error": reason}, status)


def is_ip(text: str) -> bool:
    """True for an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class AiohttpService(ServiceThread):
    """An aiohttp server on its own thread and event loop, on a socket bound at construction.

    Subclasses call `_bind_server(host, port, header_timeout_s)` in their constructor and give
    `_application()` (routes, middlewares) and `_serving()` (the log line once it serves);
    `_background()` may start tasks that run while it serves, `_closing()` closes what the
    handlers hold open (WebSockets) before the runner stops. `start()` returns once it serves.
    """

    def _bind_server(self, host: str, port: int, header_timeout_s: float) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._started = threading.Event()
        self.header_timeout_s = float(header_timeout_s)
        self._socket = bind_tcp(host, port, self.service_name.split()[0])
        self._port = int(self._socket.getsockname()[1])
        self.host = host

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """E.g. http://127.0.0.1:8080/ (0.0.0.0 shown as this machine's name)."""
        host = socket.gethostname() if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def _after_start(self) -> None:
        self._started.wait(10.0)  # start() returns once it serves

    def _request_stop(self) -> None:
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None:
            try:
                loop.call_soon_threadsafe(stop_event.set)
            except RuntimeError:  # the loop has ended already
                pass

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("the %s ended", self.service_name)
        finally:
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        runner = web.AppRunner(self._application(), access_log=None, handle_signals=False,
                               shutdown_timeout=0.5,
                               keepalive_timeout=self.header_timeout_s)  # fmt: skip
        await runner.setup()
        await web.SockSite(runner, self._socket).start()
        self._serving()
        self._started.set()
        tasks = [asyncio.create_task(coroutine) for coroutine in self._background()]
        try:
            await self._stop_event.wait()
        finally:
            for task in tasks:
                task.cancel()
            await self._closing()
            await runner.cleanup()

    def _application(self) -> web.Application:
        raise NotImplementedError

    def _serving(self) -> None:
        """Called once the server serves (its log line)."""

    def _background(self) -> list[Any]:
        """Coroutines to run while the server serves (cancelled at the stop)."""
        return []

    async def _closing(self) -> None:
        """Close what handlers hold open, before the runner stops."""
