"""OSCQuery: the show's OSC namespace over HTTP + WebSocket, for clients that discover it.

One aiohttp server on its own thread ("oscquery") and its own TCP port serves the namespace of
the Vidvox OSCQuery proposal (github.com/Vidvox/OSCQueryProposal), so that TouchDesigner's
OSCQuery component, Chataigne or Vezer list every address with its type and range and show the
live values without anyone typing an address. The service is advertised over DNS-SD
(control/dns_sd.py).

The namespace is generated from the OSC address table (control/addresses.py ADDRESSES), so it
cannot drift from what the OSC server accepts:
- every exact address is a node: TYPE (OSC type tags, "N" for a button), RANGE (one item per
  type tag: {"MIN", "MAX"}, {"VALS": [...]} or null), CLIPMODE, ACCESS (2: write only, 3: the
  show also reports its value), DESCRIPTION and, where the status board knows it, VALUE;
- a placeholder address (`/direction/<name>`, `/param/<name>`, `/sensor/<name>`) is a container
  holding one node per name the running show offers now (the playing section's parameters and
  their ranges, the show's sensors); the names change with the section (PATH_CHANGED is sent).

Requests: GET <path> (the node and everything under it), GET <path>?<ATTRIBUTE> ({ATTRIBUTE:
value}; 204 when the node has none, 400 for an unknown attribute), GET any path ?HOST_INFO
(NAME, OSC_IP, OSC_PORT, OSC_TRANSPORT "UDP", EXTENSIONS). 404 for an unknown path. A WebSocket on
the same port takes {"COMMAND": "LISTEN" | "IGNORE", "DATA": "<path>"}; a listened value that
changes is sent as a binary OSC message (at most LISTEN_HZ times a second, polled and diffed).

It is read-only: values are set by OSC to the OSC port (HOST_INFO says where). Who may ask: the
OSC allow-list, a Host that is an IP address or this machine's name, no foreign Origin, and a
per-peer budget of requests and WebSocket messages (access.py), as the HTTP API. Bounded: at most
MAX_WEBSOCKETS sockets, MAX_LISTENS paths each, MAX_WS_MESSAGE_BYTES a message, MAX_PATH_CHARS a
path; bad input gets a JSON error ({"error"} over HTTP, {"ERROR"} over the WebSocket), never a
traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from installation.control.addresses import (
    ADDRESSES,
    Address,
    Arg,
    LogLimiter,
    MessageError,
    match,
)
from installation.control.osc_framing import build_datagram
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

log = logging.getLogger(__name__)

Status = Callable[[], dict[str, Any]]
Parameters = Callable[[], dict[str, dict[str, float]]]  # name -> {"low", "high"[, "value"]}
Sections = Callable[[], list[dict[str, Any]]]  # [{"index", "name", "duration_s"}]
Sensors = Callable[[], list[dict[str, Any]]]  # [{"name", "index", "low", "high"}]

LISTEN_HZ = 10.0  # listened values are polled and diffed this often (the issue: <= 10 Hz)
MAX_SNAPSHOTS_PER_S = 20.0  # the status board is read at most this often (as http.py's)
MAX_WEBSOCKETS = 16
MAX_LISTENS = 128  # listened paths per WebSocket (the namespace has ~40 nodes plus the names)
MAX_WS_MESSAGE_BYTES = 4096  # a LISTEN message is ~60 bytes; larger ones close the socket
MAX_PATH_CHARS = 256
MAX_QUERY_CHARS = 64
MAX_NAMES = 256  # nodes under one placeholder container (names the show offers)
SEND_TIMEOUT_S = 2.0  # a WebSocket that does not take a message in this long is closed
OSC_TYPES = {"float": "f", "int": "i", "bool": "T", "button": "N", "section": "s",
             "show_name": "s", "latent_name": "s", "preset_name": "s", "choice": "s",
             "param_name": "s"}  # fmt: skip
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "RANGE", "CLIPMODE", "VALUE", "ACCESS",
              "DESCRIPTION")  # fmt: skip
EXTENSIONS = {
    "ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "TYPE": True,
    "CLIPMODE": True, "LISTEN": True, "PATH_CHANGED": True, "TAGS": False, "UNIT": False,
    "CRITICAL": False, "EXTENDED_TYPE": False, "HTML": False, "OSC_STREAMING": False,
    "PATH_RENAMED": False, "PATH_ADDED": False, "PATH_REMOVED": False,
}  # fmt: skip
# Where an exact address's value is in the status board: its status keys, one per leading
# argument (the arguments after them report their defaults). Addresses not here are write-only.
STATUS_VALUES: dict[str, tuple[str, ...]] = {
    "/show/paused": ("paused",),
    "/show/section": ("section",),
    "/show/seek": ("show_time_s",),
    "/show/speed": ("speed",),
    "/show/fade": ("level",),
    "/psi": ("live/psi",),
    "/cutoff": ("live/cutoff",),
    "/noise": ("live/noise_strength",),
    "/camera/translate": ("live/translate_x", "live/translate_y"),
    "/camera/rotate": ("live/rotate_deg",),
}
# Placeholder addresses whose nodes report a live value: pattern -> status key of a name.
NAMED_VALUES: dict[str, Callable[[str], str]] = {
    "/direction/<name>": lambda name: f"live/direction/{name}",
    "/param/<name>": lambda name: "speed" if name == "speed" else f"live/{name}",
}
_UNSET = object()


@dataclass(frozen=True)
class Snapshot:
    """What the show offers now, read from the status board at one moment."""

    status: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, dict[str, float]] = field(default_factory=dict)
    sections: tuple[str, ...] = ()
    sensors: tuple[dict[str, Any], ...] = ()

    def names(self, entry: Address) -> dict[str, list[dict[str, Any]]]:
        """The names a placeholder address offers now -> the ranges of its values."""
        found: dict[str, list[dict[str, Any]]] = {}
        if entry.pattern == "/direction/<name>":
            for key, spec in self.parameters.items():
                if key.startswith("direction/"):
                    found[key.removeprefix("direction/")] = [_range(spec.get("low"),
                                                                    spec.get("high"))]  # fmt: skip
        elif entry.pattern == "/param/<name>":
            for key, spec in self.parameters.items():
                found[key] = [_range(spec.get("low"), spec.get("high"))]
        elif entry.pattern == "/sensor/<name>":
            for sensor in self.sensors:
                ranges = found.setdefault(str(sensor.get("name", "")), [])
                index = int(sensor.get("index", 0))
                if 0 <= index < entry.max_repeats:
                    ranges.extend([None] * (index + 1 - len(ranges)))
                    ranges[index] = _range(sensor.get("low"), sensor.get("high"))
        regex = re.compile(entry.name_regex or "")
        return {name: ranges for name, ranges in list(found.items())[:MAX_NAMES]
                if regex.fullmatch(name) and "" not in name.split("/")}  # fmt: skip


def _range(low: Any, high: Any) -> dict[str, float] | None:
    """{"MIN", "MAX"} of the known sides (sorted), or None when neither is known."""
    sides = [float(v) for v in (low, high) if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(sides) == 2:
        return {"MIN": min(sides), "MAX": max(sides)}
    return None


def arg_range(arg: Arg, snapshot: Snapshot) -> dict[str, Any] | None:
    """One argument's RANGE item: {"MIN"?, "MAX"?}, {"VALS": [...]} or None."""
    if arg.kind == "choice":
        return {"VALS": list(arg.choices)}
    if arg.kind == "section":
        return {"VALS": list(snapshot.sections)} if snapshot.sections else None
    if arg.kind == "param_name":
        return {"VALS": list(snapshot.parameters)} if snapshot.parameters else None
    if arg.kind not in ("float", "int"):
        return None
    found = {key: value for key, value in (("MIN", arg.low), ("MAX", arg.high))
             if value is not None}  # fmt: skip
    return found or None


def _clip_mode(item: dict[str, Any] | None) -> str:
    """The parser clamps numbers into their range (addresses.py): both ends, one, or none."""
    if not item or "VALS" in item:
        return "none"
    return {(True, True): "both", (True, False): "low", (False, True): "high"}[
        ("MIN" in item, "MAX" in item)
    ]


def value_of(entry: Address, name: str, status: dict[str, Any]) -> list[Any] | None:
    """The node's VALUE from the status board, or None when the show does not report it."""
    if entry.name_regex is not None:
        key_of = NAMED_VALUES.get(entry.pattern)
        keys: tuple[str, ...] = (key_of(name),) if key_of is not None else ()
    else:
        keys = STATUS_VALUES.get(entry.pattern, ())
    if not keys:
        return None
    values: list[Any] = []
    for index, arg in enumerate(entry.args):
        if index < len(keys):
            value = status.get(keys[index], _UNSET)
            if value is _UNSET or value is None:
                return None
        else:
            value = arg.default
        if arg.kind == "int" and isinstance(value, (int, float)) and math.isfinite(value):
            value = int(round(value))
        elif arg.kind == "bool":
            value = bool(value)
        elif arg.kind == "float" and isinstance(value, (int, float)):
            value = float(value)
        values.append(value)
    return values


def reports_value(entry: Address) -> bool:
    """True when nodes of this address report a VALUE (ACCESS 3) rather than only take one."""
    return entry.pattern in (NAMED_VALUES if entry.name_regex is not None else STATUS_VALUES)


def method_node(entry: Address, path: str, name: str, snapshot: Snapshot,
                ranges: list[dict[str, Any] | None] | None = None) -> dict[str, Any]:  # fmt: skip
    """One OSC method's node. `ranges`: the per-name ranges of a placeholder's node."""
    node: dict[str, Any] = {
        "FULL_PATH": path,
        "DESCRIPTION": entry.description.replace("<name>", name) if name else entry.description,
        "ACCESS": 3 if reports_value(entry) else 2,
    }
    args = list(entry.args)
    if entry.max_repeats > 1:  # the repeated last argument, as many as the show's ranges say
        args += [entry.args[-1]] * (max(1, len(ranges or ())) - 1)
    node["TYPE"] = "".join(OSC_TYPES.get(arg.kind, "s") for arg in args)
    if node["TYPE"] == "N":
        return node  # a button: no value, no range
    items = [arg_range(arg, snapshot) for arg in args]
    for index, item in enumerate(ranges or ()):
        if index < len(items) and item is not None:
            items[index] = item
    node["RANGE"] = items
    node["CLIPMODE"] = [_clip_mode(item) for item in items]
    value = value_of(entry, name, snapshot.status)
    if value is not None:
        node["VALUE"] = value
    return node


def build_namespace(snapshot: Snapshot, description: str = "latent-walk") -> dict[str, Any]:
    """The whole namespace as the root node (GET /): every address of ADDRESSES, placeholders
    expanded with the names the show offers now."""
    nodes: dict[str, dict[str, Any]] = {}
    for entry in ADDRESSES:
        if entry.name_regex is None:
            nodes[entry.pattern] = method_node(entry, entry.pattern, "", snapshot)
            continue
        container = entry.prefix.rstrip("/")
        nodes.setdefault(container, {"FULL_PATH": container, "ACCESS": 0,
                                     "DESCRIPTION": entry.description})  # fmt: skip
        for name, ranges in snapshot.names(entry).items():
            path = entry.prefix + name
            nodes[path] = method_node(entry, path, name, snapshot, ranges)
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": 0, "DESCRIPTION": description,
                            "CONTENTS": {}}  # fmt: skip
    index = {"/": root}
    for path in sorted(nodes, key=lambda p: p.count("/")):
        parent = root
        parts = path.strip("/").split("/")
        for depth, part in enumerate(parts):
            sub_path = "/" + "/".join(parts[: depth + 1])
            node = index.get(sub_path)
            if node is None:
                node = nodes.get(sub_path) or {"FULL_PATH": sub_path, "ACCESS": 0,
                                               "DESCRIPTION": ""}  # fmt: skip
                index[sub_path] = node
                parent.setdefault("CONTENTS", {})[part] = node
            parent = node
    return root


def find_node(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The node at `path` in the namespace, or None."""
    node = root
    for part in path.strip("/").split("/") if path.strip("/") else ():
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


def _has_value(path: str) -> bool:
    """True when `path` is an address of the table that reports a value."""
    if len(path) > MAX_PATH_CHARS:
        return False
    try:
        entry, _name = match(path)
    except MessageError:
        return False
    return reports_value(entry)


def listen_value(path: str, status: dict[str, Any]) -> list[Any] | None:
    """The current value of a listened path (None: not known now)."""
    try:
        entry, name = match(path)
    except MessageError:
        return None
    return value_of(entry, name, status)


class OscQueryControl(AiohttpService):
    """Serves the OSCQuery namespace (HTTP + WebSocket) from a thread named "oscquery".

    Binds in the constructor; `start()` serves (and starts the DNS-SD advertiser if asked),
    `stop()` ends both.

    Args:
        host, port: where to listen (the OSC server's host); port 0 picks a free one.
        osc_host, osc_port: the OSC server these addresses go to (HOST_INFO, DNS-SD).
        name: the show's name for clients (HOST_INFO NAME, the DNS-SD instance).
        status, parameters, sections, sensors: the status board's callbacks.
        allow: peers allowed at all (the OSC allow-list rules); others get 403.
        rate_limit_per_s: requests and WebSocket messages a second per peer (burst 2x).
        dns_sd: advertise `_oscjson._tcp` and `_osc._udp` (control/dns_sd.py) while serving.
        header_timeout_s: a connection's whole request line and headers must come within this
            (as the HTTP API's: a peer trickling header bytes holds nothing for long).

    Raises:
        ControlError: the port is taken, the host cannot be bound, an allow entry is invalid.
    """

    thread_name = "oscquery"
    service_name = "OSCQuery server"
    stop_timeout_s = 3.0

    def __init__(
        self,
        host: str,
        port: int,
        osc_host: str,
        osc_port: int,
        name: str,
        status: Status,
        parameters: Parameters | None = None,
        sections: Sections | None = None,
        sensors: Sensors | None = None,
        allow: Sequence[str] = DEFAULT_ALLOW,
        rate_limit_per_s: float = 50.0,
        dns_sd: bool = False,
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self._limiter = LogLimiter(log)
        self._gate = WebGate("OSCQuery", host, allow, rate_limit_per_s, self._limiter)
        self.name = name
        self.osc_host, self.osc_port = osc_host, int(osc_port)
        self._status = status
        self._parameters = parameters or dict
        self._sections = sections or list
        self._sensors = sensors or list
        self.rate_limit_per_s = float(rate_limit_per_s)
        self._is_dns_sd = dns_sd
        self.advertiser: Any = None  # the DnsSd while advertising
        self._snapshot_cache: tuple[float, Snapshot] = (-math.inf, Snapshot())
        self._tree_cache: tuple[Snapshot | None, dict[str, Any]] = (None, {})
        self._listens: dict[web.WebSocketResponse, dict[str, Any]] = {}  # path -> last sent
        self._shape: frozenset[str] | None = None  # the expanded names, for PATH_CHANGED
        self.counters = {"requests": 0, "denied": 0, "rejected": 0, "rate_limited": 0,
                         "sent_values": 0, "internal_errors": 0}  # fmt: skip
        self._bind_server(host, port, header_timeout_s)

    def _after_start(self) -> None:
        super()._after_start()
        if self._is_dns_sd:
            from installation.control.dns_sd import DnsSd  # zeroconf only when advertising

            self.advertiser = DnsSd(self.name, self.host, self.port, self.osc_host, self.osc_port)
            self.advertiser.start()  # registers on its own thread: the show does not wait

    def _request_stop(self) -> None:
        if self.advertiser is not None:
            self.advertiser.stop()
        super()._request_stop()

    def _close(self) -> None:
        self._socket.close()
        self._limiter.flush()
        log.info("stopped %s", " ".join(f"{k}={v}" for k, v in self.counters.items()))

    # -- the oscquery thread --------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application(client_max_size=1024, middlewares=[self._guard])
        app.router.add_get("/{path:.*}", self._get)
        return app

    def _serving(self) -> None:
        log.info("OSCQuery on %s for OSC port %d allow=%s", self.url, self.osc_port,
                 self._gate.allow.text)  # fmt: skip

    def _background(self) -> list[Any]:
        return [self._poll()]

    async def _closing(self) -> None:
        for ws in list(self._listens):
            await ws.close()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Admission (allow-list, Host, Origin, budget); errors as JSON, never a trace."""
        return await answer(request, handler, self._admit, self._count, self._limiter)

    def _count(self, counter: str) -> None:
        self.counters[counter] += 1

    def _admit(self, request: web.Request) -> None:
        """Raise RequestError unless this peer may make this request now."""
        self._gate.take_message(self._gate.check_peer(request))

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        path = request.path
        if len(path) > MAX_PATH_CHARS:
            raise RequestError(414, f"a path of at most {MAX_PATH_CHARS} characters")
        query = request.query_string
        if query == "HOST_INFO":
            return json_response(self.host_info(request))
        if len(query) > MAX_QUERY_CHARS or not re.fullmatch(r"[A-Z_]*", query):
            raise RequestError(400, f"unknown query {query[:MAX_QUERY_CHARS]!r}: ask for one "
                               f"attribute, e.g. ?VALUE ({', '.join(ATTRIBUTES)}, "
                               "HOST_INFO)")  # fmt: skip
        if query and query not in ATTRIBUTES:
            raise RequestError(400, f"unknown attribute {query!r} ({', '.join(ATTRIBUTES)}, "
                               "HOST_INFO)")  # fmt: skip
        node = find_node(self.namespace(), path.rstrip("/") or "/")
        if node is None:
            raise RequestError(404, f"no OSC address or container {path[:80]!r}")
        if not query:
            return json_response(node)
        if query not in node:
            return web.Response(status=204)
        return json_response({query: node[query]})

    def host_info(self, request: web.Request | None = None) -> dict[str, Any]:
        """HOST_INFO: who we are, where OSC goes, what this server supports."""
        osc_ip = self.osc_host
        if osc_ip in ("0.0.0.0", "::", "") and request is not None and request.transport:
            osc_ip = str(request.transport.get_extra_info("sockname")[0])  # the address asked
        return {"NAME": self.name, "OSC_IP": osc_ip, "OSC_PORT": self.osc_port,
                "OSC_TRANSPORT": "UDP", "EXTENSIONS": dict(EXTENSIONS)}  # fmt: skip

    def namespace(self) -> dict[str, Any]:
        """The namespace now (built once per snapshot of the status board)."""
        snapshot = self._snapshot()
        cached_for, tree = self._tree_cache
        if cached_for is not snapshot:
            tree = finite(build_namespace(snapshot, self.name))
            self._tree_cache = (snapshot, tree)
        return tree

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if len(self._listens) >= MAX_WEBSOCKETS:
            raise RequestError(503, f"at most {MAX_WEBSOCKETS} WebSocket connections")
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE_BYTES, heartbeat=20.0)
        await ws.prepare(request)
        self._listens[ws] = {}
        ip = str(request.remote)
        try:
            async for message in ws:
                reply = self.ws_message(ws, message.type, message.data, ip)
                if reply is not None:
                    await ws.send_json(reply)
        finally:
            self._listens.pop(ws, None)
        return ws

    def ws_message(self, ws: Any, kind: WSMsgType, data: Any, ip: str) -> dict[str, Any] | None:
        """One WebSocket message: LISTEN/IGNORE applied; None, or {"ERROR": reason}."""
        try:
            self._gate.take_message(ip, "messages")
        except RequestError as exc:
            self._count(exc.counter)
            return {"ERROR": exc.reason}
        if kind == WSMsgType.BINARY:
            self.counters["rejected"] += 1
            return {"ERROR": f"OSCQuery here is read-only: send OSC to UDP port {self.osc_port}"}
        if kind != WSMsgType.TEXT:
            return None
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):
            message = None
        command = message.get("COMMAND") if isinstance(message, dict) else None
        path = message.get("DATA") if isinstance(message, dict) else None
        if command not in ("LISTEN", "IGNORE") or not isinstance(path, str):
            self.counters["rejected"] += 1
            return {"ERROR": 'send {"COMMAND": "LISTEN" or "IGNORE", "DATA": "/path"}'}
        listens = self._listens.get(ws)
        if listens is None:
            return None
        if command == "IGNORE":
            listens.pop(path, None)
            return None
        if not _has_value(path):  # a name the show may offer later (another section) is fine
            self.counters["rejected"] += 1
            return {"ERROR": f"no value to listen to at {path[:80]!r}"}
        if path not in listens and len(listens) >= MAX_LISTENS:
            self.counters["rejected"] += 1
            return {"ERROR": f"at most {MAX_LISTENS} paths per connection"}
        listens.setdefault(path, _UNSET)
        return None

    async def _poll(self) -> None:
        """LISTEN_HZ times a second: send changed listened values and PATH_CHANGED."""
        while True:
            await asyncio.sleep(1.0 / LISTEN_HZ)
            if not self._listens:
                continue
            try:
                await self._send_changes()
            except Exception:
                self.counters["internal_errors"] += 1
                self._limiter.log("internal poll", logging.ERROR,
                                  "internal error sending OSCQuery values",
                                  exc_info=True)  # fmt: skip

    async def _send_changes(self) -> None:
        snapshot = self._snapshot()
        shape = frozenset([*snapshot.parameters, *(s.get("name") for s in snapshot.sensors)])
        is_changed = self._shape is not None and shape != self._shape
        self._shape = shape
        for ws, listens in list(self._listens.items()):
            messages: list[str | bytes] = []
            if is_changed:
                messages.append(json.dumps({"COMMAND": "PATH_CHANGED", "DATA": "/"}))
            for path, sent in list(listens.items()):
                value = listen_value(path, snapshot.status)
                if value is None or value == sent:
                    continue
                datagram = build_datagram(path, value)
                if datagram is not None:
                    listens[path] = value
                    messages.append(datagram)
            for message in messages:
                if not await self._send(ws, message):
                    break

    async def _send(self, ws: web.WebSocketResponse, message: str | bytes) -> bool:
        """Send one message; a socket that fails or stalls is closed (False)."""
        try:
            if isinstance(message, bytes):
                await asyncio.wait_for(ws.send_bytes(message), SEND_TIMEOUT_S)
                self.counters["sent_values"] += 1
            else:
                await asyncio.wait_for(ws.send_str(message), SEND_TIMEOUT_S)
            return True
        except (ConnectionError, RuntimeError, asyncio.TimeoutError):
            self._listens.pop(ws, None)
            await ws.close()
            return False

    # -- helpers --------------------------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        """The status board now, read at most MAX_SNAPSHOTS_PER_S times a second."""
        cached_s, snapshot = self._snapshot_cache
        now_s = time.monotonic()
        if now_s - cached_s >= 1.0 / MAX_SNAPSHOTS_PER_S:
            snapshot = Snapshot(
                dict(self._status()), dict(self._parameters()),
                tuple(str(s.get("name")) for s in self._sections()), tuple(self._sensors()),
            )  # fmt: skip
            self._snapshot_cache = (now_s, snapshot)
        return snapshot
