"""The HTTP + WebSocket API and the web remote page: one aiohttp server on its own thread ("http").

Why aiohttp: one well-kept library (the aio-libs project, releases every few weeks) that serves
HTTP and WebSocket from one asyncio loop, with request size limits built in; no hand-written
HTTP, and no second framework for the WebSocket.

The API mirrors the OSC address table (control/addresses.py), so the two cannot drift:
- GET /api/addresses: the table (address, argument spec, description, example, group);
- POST /api/command {"address": "/show/next", "args": []}: parsed by `addresses.parse()` as an
  OSC message would be (numbers are clamped into range like OSC's), then the show's refusal
  check, then commands on the one queue; 400 {"error": reason} for bad JSON, an unknown address
  or bad arguments, 409 when the playing section does not take it, 429 over the sender's budget;
- GET /api/status, /api/parameters (steerable now, with ranges), /api/sections;
- GET /api/thumbnail.jpg: the frame on screen, at most THUMBNAIL_PX wide or high (JPEG);
- GET /ws: a WebSocket that sends {"status", "parameters", "sections"} at most STATUS_HZ times a
  second and the thumbnail (a binary message, JPEG) at most THUMBNAIL_FPS times a second when
  the frame changed, and takes {"address", "args"} messages like POST (each is answered {"ok"}
  or {"error"});
- GET /: the web remote page (installation/control/web/: plain HTML/JS/CSS, no build step).

Who may use it, checked on every request before anything else: the allow-list (the same rules
and class as OSC's), then the token: peers in `open_to` (loopback by default) need none, every
other peer sends it as `Authorization: Bearer <token>` or `X-Latent-Walk-Token: <token>` (a
browser's WebSocket, which cannot set headers, as the subprotocol `token.<token>`); never a
cookie. Then the per-sender budgets of OSC (access.py): messages a second, expensive commands a
second. The page itself (HTML, JS, CSS: no secrets) is served without the token, so a phone can
load it and then ask for the token. Against other web pages in a browser on this machine: a
command must come as `application/json` (a cross-site form cannot send that without a CORS
preflight, which is never granted), a request with a foreign `Origin` is refused, and so is a
`Host` that is not an IP address, localhost or this machine's name (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web
from PIL import Image

from installation.control.access import AllowList
from installation.control.addresses import ADDRESSES, LogLimiter, MessageError, parse
from installation.control.mailbox import is_expensive
from installation.control.osc import CommandSink, Refusal, Status
from installation.control.web_access import (
    HEADER_TIMEOUT_S,
    AiohttpService,
    RequestError,
    WebGate,
    answer,
    finite,
    json_response,
)
from installation.netcheck import DEFAULT_ALLOW
from installation.walk.commands import Command

log = logging.getLogger(__name__)

Parameters = Callable[[], dict[str, dict[str, float]]]  # name -> {"low", "high"[, "value"]}
Sections = Callable[[], list[dict[str, Any]]]  # [{"index", "name", "duration_s"}]
# max_px -> (a key that changes with the frame, [H, W, 3] uint8 of sides <= 2 * max_px) or None
Picture = Callable[[int], "tuple[Hashable, np.ndarray] | None"]

MAX_REQUEST_BYTES = 64 * 1024  # a request body or a WebSocket message
REQUEST_TIMEOUT_S = 5.0  # reading a request body
STATUS_HZ = 4.0  # WebSocket status messages a second (the issue allows up to 10)
MAX_WEBSOCKETS = 16  # open WebSocket connections at once
MAX_ARGS = 64  # arguments of one command (the table's longest takes 16)
MAX_STATUS_CALLS_PER_S = 20.0  # board.status() at most this often (shared by every client)
THUMBNAIL_PX = 320  # the thumbnail's longer side at most (the issue: <= 320 px)
THUMBNAIL_FPS = 2.0  # thumbnails a second per WebSocket at most (the issue: <= 5)
THUMBNAIL_QUALITY = 70  # JPEG quality
TOKEN_HEADER = "X-Latent-Walk-Token"
WS_PROTOCOL = "latent-walk"
WEB_DIR = Path(__file__).with_name("web")
WEB_FILES = {  # URL path -> (file in WEB_DIR, content type); nothing else is served from disk
    "/": ("index.html", "text/html; charset=utf-8"),
    "/remote.js": ("remote.js", "text/javascript; charset=utf-8"),
    "/remote.css": ("remote.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data: blob:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class HttpCounters:
    """What the server did with its requests (the summary line at stop)."""

    requests: int = 0
    commands: int = 0  # accepted command messages (POST and WebSocket)
    rejected: int = 0  # 400/409: bad JSON, unknown address, bad arguments, refused by the show
    denied: int = 0  # 403/401: allow-list, token, Host or Origin
    rate_limited: int = 0
    internal_errors: int = 0


def new_token() -> str:
    """A fresh random token (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def address_table() -> list[dict[str, Any]]:
    """The OSC address table as JSON-ready dicts (GET /api/addresses)."""
    return [
        {
            "address": entry.pattern,
            "args": [
                {"name": arg.name, "kind": arg.kind, "low": arg.low, "high": arg.high,
                 "default": arg.default, "unit": arg.unit, "choices": list(arg.choices)}
                for arg in entry.args
            ],  # fmt: skip
            "max_repeats": entry.max_repeats,
            "spec": entry.describe_args(),
            "description": entry.description,
            "example": entry.example,
            "group": entry.group,
            "widget": entry.widget,
        }
        for entry in ADDRESSES
    ]


class HttpControl(AiohttpService):
    """Serves the JSON API, the WebSocket and the web remote page from a thread named "http".

    Binds in the constructor; `start()` runs the server, `stop()` ends it.

    Args:
        host, port: where to listen; port 0 picks a free one (see `port`).
        commands: the render thread's command queue.
        status, refusal: the status board's callbacks (as OscControl's).
        parameters: the parameters steerable now, name -> {"low", "high"[, "value"]}.
        sections: the show's sections, [{"index", "name", "duration_s"}].
        picture: the frame on screen for the thumbnail (see `Picture`); None: no thumbnail.
        token: what non-open peers must send; None: a new random one (see `token`).
        allow: peers allowed at all (the OSC allow-list rules); others get 403.
        open_to: peers that need no token (allow-list entries; default loopback).
        rate_limit_per_s: requests and WebSocket messages a second per peer (burst 2x).
        server_names: Host header names accepted besides IP addresses and localhost.
        header_timeout_s: a connection's whole request line and headers must come within this.

    Raises:
        ControlError: the port is taken, the host cannot be bound, an allow entry is invalid.
    """

    thread_name = "http"
    service_name = "HTTP server"
    stop_timeout_s = 3.0

    def __init__(
        self,
        host: str,
        port: int,
        commands: CommandSink,
        status: Status,
        refusal: Refusal | None = None,
        parameters: Parameters | None = None,
        sections: Sections | None = None,
        picture: Picture | None = None,
        token: str | None = None,
        allow: Sequence[str] = DEFAULT_ALLOW,
        open_to: Sequence[str] = ("loopback",),
        rate_limit_per_s: float = 50.0,
        server_names: Sequence[str] = (),
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self._limiter = LogLimiter(log)
        self._gate = WebGate("HTTP", host, allow, rate_limit_per_s, self._limiter, server_names)
        self._open = AllowList(open_to)
        self._commands = commands
        self._status = status
        self._refusal = refusal
        self._parameters = parameters or dict
        self._sections = sections or list
        self._picture = picture
        self._thumbnail_cache: tuple[Hashable, bytes] | None = None
        self.token = token or new_token()
        self.rate_limit_per_s = float(rate_limit_per_s)
        self.counters = HttpCounters()
        self._status_cache: tuple[float, dict[str, Any]] = (-math.inf, {})
        self._websockets: set[web.WebSocketResponse] = set()
        self._pages = {path: ((WEB_DIR / name).read_bytes(), kind)
                       for path, (name, kind) in WEB_FILES.items()}  # fmt: skip
        self._bind_server(host, port, header_timeout_s)

    def _close(self) -> None:
        self._socket.close()
        self._limiter.flush()
        c = self.counters
        log.info("stopped requests=%d commands=%d rejected=%d denied=%d rate_limited=%d "
                 "internal_errors=%d", c.requests, c.commands, c.rejected, c.denied,
                 c.rate_limited, c.internal_errors)  # fmt: skip

    # -- the http thread ------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[self._guard])
        app.router.add_get("/api/status", self._get_status)
        app.router.add_get("/api/parameters", self._get_parameters)
        app.router.add_get("/api/sections", self._get_sections)
        app.router.add_get("/api/addresses", self._get_addresses)
        app.router.add_get("/api/thumbnail.jpg", self._get_thumbnail)
        app.router.add_post("/api/command", self._post_command)
        app.router.add_get("/ws", self._websocket)
        for path in self._pages:
            app.router.add_get(path, self._page)
        return app

    def _serving(self) -> None:
        log.info("web remote on %s allow=%s token needed from all but %s", self.url,
                 self._gate.allow.text, self._open.text)  # fmt: skip

    async def _closing(self) -> None:
        for ws in list(self._websockets):
            await ws.close()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Admission (allow-list, Host, Origin, token, budget); errors as JSON, never a trace."""
        response = await answer(request, handler, self._admit, self._count, self._limiter)
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
        return response

    def _count(self, counter: str) -> None:
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)

    def _admit(self, request: web.Request) -> None:
        """Raise RequestError unless this peer may make this request now."""
        ip = self._gate.check_peer(request)
        if request.path in self._pages:
            return
        if not self._open.is_allowed(ip) and not self._has_token(request):
            raise RequestError(401, f"a token is needed from {ip}: send 'Authorization: "
                               f"Bearer <token>' or '{TOKEN_HEADER}: <token>'",
                               "denied")  # fmt: skip
        self._gate.take_message(ip)

    def _has_token(self, request: web.Request) -> bool:
        """True when a header carries the token (compared in constant time)."""
        given = request.headers.get(TOKEN_HEADER, "")
        authorization = request.headers.get("Authorization", "")
        if authorization[:7].lower() == "bearer ":
            given = authorization[7:].strip()
        for protocol in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
            if protocol.strip().startswith("token."):
                given = protocol.strip()[6:]
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def _page(self, request: web.Request) -> web.Response:
        body, content_type = self._pages[request.path]
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _get_status(self, request: web.Request) -> web.Response:
        return json_response(self._status_now())

    async def _get_parameters(self, request: web.Request) -> web.Response:
        return json_response(self._parameters())

    async def _get_sections(self, request: web.Request) -> web.Response:
        return json_response(self._sections())

    async def _get_addresses(self, request: web.Request) -> web.Response:
        return json_response(address_table())

    async def _get_thumbnail(self, request: web.Request) -> web.Response:
        found = self._thumbnail()
        if found is None:
            raise RequestError(503, "no frame on screen yet")
        return web.Response(body=found[1], headers={"Content-Type": "image/jpeg"})

    async def _post_command(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            raise RequestError(415, "send the command as application/json")
        try:
            body = await asyncio.wait_for(request.read(), REQUEST_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise RequestError(408, f"the request body took over {REQUEST_TIMEOUT_S:g} s") from None
        accepted = self.command(_json_message(body), str(request.remote))
        return json_response({"ok": True, "commands": accepted})

    def command(self, message: Any, ip: str) -> int:
        """One {"address", "args"} message -> commands on the queue (their number).

        Raises:
            RequestError: 400 bad message or arguments, 409 refused by the show, 429 over the
                sender's expensive budget.
        """
        address, args = _message_parts(message)
        try:
            commands = parse(address, args, self._limiter)
        except MessageError as exc:
            self.counters.rejected += 1
            raise RequestError(400, str(exc)) from None
        reason = self._refused(commands)
        if reason is not None:
            self.counters.rejected += 1
            raise RequestError(409, reason)
        budgets = self._gate.sender(ip)
        now_s = time.monotonic()
        expensive = sum(1 for command in commands if is_expensive(command))
        if expensive and not budgets.expensive.take(now_s, expensive):
            raise RequestError(429, f"{address}: too many section moves, show changes or glides "
                               "a second; try again in a moment", "rate_limited")  # fmt: skip
        for command in commands:
            self._commands.put(command)
        self.counters.commands += 1
        return len(commands)

    def _refused(self, commands: list[Command]) -> str | None:
        if self._refusal is None:
            return None
        for command in commands:
            reason = self._refusal(command)
            if reason is not None:
                return reason
        return None

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if len(self._websockets) >= MAX_WEBSOCKETS:
            raise RequestError(503, f"at most {MAX_WEBSOCKETS} WebSocket connections")
        ws = web.WebSocketResponse(protocols=(WS_PROTOCOL,), max_msg_size=MAX_REQUEST_BYTES,
                                   heartbeat=20.0)  # fmt: skip
        ws.headers.update(SECURITY_HEADERS)
        await ws.prepare(request)
        self._websockets.add(ws)
        sender = asyncio.create_task(self._send_status(ws))
        ip = str(request.remote)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    await ws.send_json({"error": "send JSON text messages"})
                    continue
                await ws.send_json(self._ws_command(message.data, ip))
        finally:
            sender.cancel()
            self._websockets.discard(ws)
        return ws

    def _ws_command(self, text: str, ip: str) -> dict[str, Any]:
        """One WebSocket message -> its answer ({"ok", "commands"} or {"error", "status"})."""
        try:
            self._gate.take_message(ip, "messages")
            message = _json_message(text.encode("utf-8", "replace"))
            return {"ok": True, "commands": self.command(message, ip),
                    "address": message.get("address")}  # fmt: skip
        except RequestError as exc:
            if exc.counter:
                self._count(exc.counter)
            return {"error": exc.reason, "status": exc.status}

    async def _send_status(self, ws: web.WebSocketResponse) -> None:
        """{"status", "parameters", "sections"} STATUS_HZ times a second, and the thumbnail
        (binary) THUMBNAIL_FPS times a second when the frame changed, until the socket ends."""
        sent_key: Hashable = None
        next_thumbnail_s = 0.0
        while not ws.closed:
            try:
                await ws.send_json(finite({"status": self._status_now(),
                                            "parameters": self._parameters(),
                                            "sections": self._sections()}))  # fmt: skip
                now_s = time.monotonic()
                if now_s >= next_thumbnail_s:
                    next_thumbnail_s = now_s + 1.0 / THUMBNAIL_FPS
                    found = self._thumbnail()
                    if found is not None and found[0] != sent_key:
                        sent_key = found[0]
                        await ws.send_bytes(found[1])
            except (ConnectionError, RuntimeError):
                return
            except Exception:
                self.counters.internal_errors += 1
                self._limiter.log("internal ws status", logging.ERROR,
                                  "internal error sending status", exc_info=True)  # fmt: skip
            await asyncio.sleep(1.0 / STATUS_HZ)

    # -- helpers --------------------------------------------------------------------------------

    def _status_now(self) -> dict[str, Any]:
        """The board's status, built at most MAX_STATUS_CALLS_PER_S times a second."""
        cached_s, status = self._status_cache
        now_s = time.monotonic()
        if now_s - cached_s >= 1.0 / MAX_STATUS_CALLS_PER_S:
            status = dict(self._status())
            self._status_cache = (now_s, status)
        return status

    def _thumbnail(self) -> tuple[Hashable, bytes] | None:
        """(frame key, JPEG) of the frame on screen, encoded once per frame; None: none yet."""
        found = self._picture(THUMBNAIL_PX) if self._picture is not None else None
        if found is None:
            return None
        key, rgb = found
        cached = self._thumbnail_cache
        if cached is None or cached[0] != key:
            cached = (key, _jpeg(rgb, THUMBNAIL_PX))
            self._thumbnail_cache = cached
        return cached


def _json_message(body: bytes) -> dict[str, Any]:
    """A request body -> the JSON object in it.

    Raises:
        RequestError: 400 when it is not a JSON object.
    """
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RequestError(400, f"the body is not JSON: {str(exc)[:120]}") from None
    if not isinstance(message, dict):
        raise RequestError(400, 'send a JSON object: {"address": "/show/next", "args": []}')
    return message


def _message_parts(message: dict[str, Any]) -> tuple[str, list[Any]]:
    """{"address": str, "args": [numbers, strings, booleans]} -> (address, args).

    Raises:
        RequestError: 400 when either is missing or of the wrong kind.
    """
    address = message.get("address")
    args = message.get("args", [])
    if not isinstance(address, str) or not address.startswith("/") or len(address) > 200:
        raise RequestError(400, '"address" must be an OSC address like "/show/next" '
                           "(see GET /api/addresses)")  # fmt: skip
    if not isinstance(args, list) or len(args) > MAX_ARGS:
        raise RequestError(400, f'"args" must be a list of at most {MAX_ARGS} values')
    if not all(isinstance(arg, (str, int, float, bool)) for arg in args):
        raise RequestError(400, '"args" may hold numbers, strings and booleans only')
    unknown = sorted(set(message) - {"address", "args"})
    if unknown:
        raise RequestError(400, f"unknown keys {unknown[:5]} (send address and args)")
    return address, args


def _jpeg(rgb: np.ndarray, max_px: int) -> bytes:
    """[H, W, 3] uint8 -> JPEG bytes, the longer side at most max_px."""
    image = Image.fromarray(rgb, "RGB")
    image.thumbnail((max_px, max_px))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()
