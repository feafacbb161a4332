"""OSCQuery: the namespace generated from the address table, and a real server on 127.0.0.1.

The server's data comes from plain functions over dicts (what the status board returns), so the
values can be changed between requests; the HTTP and WebSocket traffic is real (aiohttp client).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
import typing

import aiohttp
import pytest
from pythonosc.osc_message import OscMessage

from installation.control.addresses import ADDRESSES, ArgKind, parse
from installation.control.oscquery import (
    MAX_LISTENS,
    MAX_WEBSOCKETS,
    MAX_WS_MESSAGE_BYTES,
    OSC_TYPES,
    STATUS_VALUES,
    OscQueryControl,
    Snapshot,
    build_namespace,
    find_node,
)
from installation.errors import ControlError
from installation.walk.commands import JumpSection

PARAMETERS = {"psi": {"low": -1.0, "high": 2.0, "value": 0.5},
              "direction/smile": {"low": -5.0, "high": 5.0},
              "speed": {"low": 0.05, "high": 10.0, "value": 1.0}}  # fmt: skip
SENSORS = [{"name": "proximity", "index": 0, "low": 0.0, "high": 1023.0}]
SNAPSHOT = Snapshot({"speed": 1.0, "paused": True, "section": "drift", "live/psi": 0.5,
                     "live/translate_x": 0.25, "live/translate_y": -0.5, "level": 0.8},
                    PARAMETERS, ("drift", "second"), tuple(SENSORS))  # fmt: skip


def all_nodes(node: dict) -> dict[str, dict]:
    found = {node["FULL_PATH"]: node}
    for child in node.get("CONTENTS", {}).values():
        found.update(all_nodes(child))
    return found


def test_every_table_address_is_a_node_with_type_and_range():
    nodes = all_nodes(build_namespace(SNAPSHOT, "latent-walk test"))
    expanded = {"/direction/<name>": ["/direction/smile"],
                "/param/<name>": ["/param/psi", "/param/direction/smile", "/param/speed"],
                "/sensor/<name>": ["/sensor/proximity"]}  # fmt: skip
    for entry in ADDRESSES:
        paths = expanded[entry.pattern] if entry.name_regex else [entry.pattern]
        if entry.name_regex:
            assert nodes[entry.prefix.rstrip("/")]["ACCESS"] == 0  # the placeholder's container
        for path in paths:
            node = nodes[path]
            assert node["FULL_PATH"] == path and node["DESCRIPTION"]
            assert node["TYPE"], path
            if node["TYPE"] == "N":  # a button: no value to range
                assert entry.args[0].kind == "button" and "RANGE" not in node
            else:
                assert len(node["RANGE"]) == len(node["TYPE"]) == len(node["CLIPMODE"]), path
            assert node["ACCESS"] in (2, 3)
    assert nodes["/camera/translate"]["TYPE"] == "ff"
    assert nodes["/show/blackout"]["TYPE"] == "Tf"
    assert nodes["/show/speed"]["RANGE"] == [{"MIN": 0.05, "MAX": 10.0}]
    assert nodes["/show/section"]["RANGE"] == [{"VALS": ["drift", "second"]}]
    assert nodes["/noise/mode"]["RANGE"] == [{"VALS": ["const", "random", "none", "show"]}]
    assert nodes["/direction/smile"]["RANGE"] == [{"MIN": -5.0, "MAX": 5.0}]
    assert nodes["/param/psi"]["RANGE"] == [{"MIN": -1.0, "MAX": 2.0}]
    assert nodes["/sensor/proximity"]["RANGE"] == [{"MIN": 0.0, "MAX": 1023.0}]
    assert "smile" in nodes["/direction"]["CONTENTS"]
    assert "mode" in nodes["/noise"]["CONTENTS"] and nodes["/noise"]["TYPE"] == "f"


def test_every_argument_kind_has_an_osc_type():
    assert set(typing.get_args(ArgKind)) <= set(OSC_TYPES)


def test_values_come_from_the_status_board():
    nodes = all_nodes(build_namespace(SNAPSHOT))
    assert nodes["/psi"]["VALUE"] == [0.5] and nodes["/param/psi"]["VALUE"] == [0.5]
    assert nodes["/param/speed"]["VALUE"] == [1.0] and nodes["/show/speed"]["VALUE"] == [1.0]
    assert nodes["/show/paused"]["VALUE"] == [True]
    assert nodes["/show/section"]["VALUE"] == ["drift"]
    assert nodes["/camera/translate"]["VALUE"] == [0.25, -0.5]
    assert nodes["/show/fade"]["VALUE"] == [0.8, 1.0]  # the fade time: its default
    assert "VALUE" not in nodes["/cutoff"] and nodes["/cutoff"]["ACCESS"] == 3  # not set yet
    assert "VALUE" not in nodes["/show/next"] and nodes["/show/next"]["ACCESS"] == 2
    patterns = {entry.pattern for entry in ADDRESSES}
    assert set(STATUS_VALUES) <= patterns  # the value map names only table addresses


def test_the_namespace_follows_the_show():
    bare = all_nodes(build_namespace(Snapshot()))
    assert "/direction/smile" not in bare and "/direction" in bare  # loading: no names yet
    assert find_node(build_namespace(SNAPSHOT), "/param/direction/smile")["TYPE"] == "f"
    hostile = Snapshot(parameters={"bad name": {"low": 0, "high": 1}, "a//b": {}})
    assert not all_nodes(build_namespace(hostile))["/param"].get("CONTENTS")


def test_a_button_takes_osc_nil_as_a_press():
    assert parse("/show/next", [None]) == [JumpSection(1)]  # what an OSCQuery client sends
    assert parse("/show/next", [0]) == []


# -- a real server -----------------------------------------------------------------------------


class Board:
    """The status board's answers as plain dicts the test changes."""

    def __init__(self):
        self.state = dict(SNAPSHOT.status)
        self.params = {key: dict(value) for key, value in PARAMETERS.items()}


@pytest.fixture
def board():
    return Board()


@pytest.fixture
def server(board):
    control = OscQueryControl(
        "127.0.0.1", 0, "127.0.0.1", 9000, "latent-walk test", lambda: board.state,
        lambda: board.params, lambda: [{"index": 0, "name": "drift"}], lambda: SENSORS,
        allow=("loopback",), rate_limit_per_s=200.0,
    )  # fmt: skip
    with control:
        yield control


def get(port: int, path: str, method: str = "GET", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else None
    finally:
        connection.close()


def test_queries_and_errors(server):
    port = server.port
    status, root = get(port, "/")
    assert status == 200 and root["DESCRIPTION"] == "latent-walk test"
    assert get(port, "/psi?VALUE") == (200, {"VALUE": [0.5]})
    assert get(port, "/show/speed?RANGE") == (200, {"RANGE": [{"MIN": 0.05, "MAX": 10.0}]})
    status, info = get(port, "/show?HOST_INFO")
    assert status == 200 and info["OSC_PORT"] == 9000 and info["OSC_TRANSPORT"] == "UDP"
    assert info["OSC_IP"] == "127.0.0.1" and info["NAME"] == "latent-walk test"
    assert info["EXTENSIONS"]["LISTEN"] and info["EXTENSIONS"]["VALUE"]
    assert get(port, "/show/next?VALUE") == (204, None)  # a button has no value
    status, answer = get(port, "/no/such/address")
    assert status == 404 and "no OSC address" in answer["error"]
    for query in ("/psi?BOGUS", "/psi?VALUE=1", "/psi?" + "A" * 500, "/psi?%00"):
        status, answer = get(port, query)
        assert status == 400 and "error" in answer, query
    status, answer = get(port, "/psi", method="POST")
    assert status == 405 and "error" in answer  # read-only
    status, answer = get(port, "/" + "x" * 400)
    assert status == 414 and "error" in answer
    status, answer = get(port, "/", headers={"Host": "evil.example"})
    assert status == 403 and "Host" in answer["error"]
    status, answer = get(port, "/", headers={"Origin": "http://evil.example"})
    assert status == 403


def test_the_allow_list_and_the_budget_apply(board):
    with OscQueryControl("127.0.0.1", 0, "127.0.0.1", 9000, "t", lambda: board.state,
                         allow=("10.0.0.0/8",)) as control:  # fmt: skip
        status, answer = get(control.port, "/")
        assert status == 403 and "allow-list" in answer["error"]
    with OscQueryControl("127.0.0.1", 0, "127.0.0.1", 9000, "t", lambda: board.state,
                         rate_limit_per_s=5.0) as control:  # fmt: skip
        codes = [get(control.port, "/psi?TYPE")[0] for _ in range(15)]
        assert codes[:10] == [200] * 10 and 429 in codes[10:]  # burst 2x, then refused


def test_a_taken_port_is_a_clear_error(server):
    with pytest.raises(ControlError, match="OSCQuery port .* is taken"):
        OscQueryControl("127.0.0.1", server.port, "127.0.0.1", 9000, "t", dict)


async def receive(ws, timeout_s: float = 2.0):
    """The next message: ("osc", OscMessage), ("json", dict) or ("closed", code); None: none."""
    if ws.closed:
        return "closed", ws.close_code
    try:
        message = await ws.receive(timeout=timeout_s)
    except asyncio.TimeoutError:
        return None
    if message.type == aiohttp.WSMsgType.BINARY:
        return "osc", OscMessage(message.data)
    if message.type == aiohttp.WSMsgType.TEXT:
        return "json", json.loads(message.data)
    return "closed", ws.close_code


async def drain(ws, quiet_s: float = 0.5, limit: int = 1000) -> list:
    """Every message until none comes for quiet_s; stops at a close (kept) or `limit` messages,
    so a socket that closes or keeps talking ends the wait instead of spinning."""
    found = []
    while len(found) < limit and (message := await receive(ws, quiet_s)) is not None:
        found.append(message)
        if message[0] == "closed":
            break
    return found


def test_listen_sends_changes_as_binary_osc(server, board):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{server.port}/") as ws:
                await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/psi"}))
                kind, message = await receive(ws)
                assert kind == "osc" and message.address == "/psi"
                assert message.params == [0.5]  # the value now, first
                assert await receive(ws, 0.4) is None  # unchanged: nothing more
                board.state["live/psi"] = 1.25
                kind, message = await receive(ws)
                assert (kind, message.address, message.params) == ("osc", "/psi", [1.25])
                await ws.send_str(json.dumps({"COMMAND": "IGNORE", "DATA": "/psi"}))
                await asyncio.sleep(0.2)
                board.state["live/psi"] = 0.0
                board.params["direction/frown"] = {"low": -1.0, "high": 1.0}
                kind, message = await receive(ws)  # the section's names changed
                assert (kind, message) == ("json", {"COMMAND": "PATH_CHANGED", "DATA": "/"})
                assert await receive(ws, 0.4) is None  # /psi is ignored now

    asyncio.run(scenario())


def test_bad_websocket_messages_get_errors_and_bounds(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}/"
            async with session.ws_connect(url) as ws:
                for text in ("not json", "[1, 2]", '{"COMMAND": "WRITE", "DATA": "/psi"}',
                             '{"COMMAND": "LISTEN", "DATA": 5}', "{" * 3000):  # fmt: skip
                    await ws.send_str(text)
                    kind, message = await receive(ws)
                    assert kind == "json" and "ERROR" in message, text
                await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/nowhere"}))
                assert "no value to listen to" in (await receive(ws))[1]["ERROR"]
                await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/show/next"}))
                assert "no value to listen to" in (await receive(ws))[1]["ERROR"]
                await ws.send_bytes(b"/psi\x00\x00\x00\x00,f\x00\x00\x3f\x00\x00\x00")
                assert "read-only" in (await receive(ws))[1]["ERROR"]
            async with session.ws_connect(url) as ws:  # a path listened twice counts once
                await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/psi"}))
                assert (await receive(ws))[0] == "osc"
                for index in range(MAX_LISTENS + 1):  # the same paths again count once
                    path = "/psi" if index % 2 else "/show/speed"
                    await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
                got = await drain(ws)
                assert [(kind, m.address) for kind, m in got] == [("osc", "/show/speed")]
                server_listens = next(iter(server._listens.values()))
                assert set(server_listens) == {"/psi", "/show/speed"}
            async with session.ws_connect(url) as ws:  # an oversized message closes
                await ws.send_str("x" * (MAX_WS_MESSAGE_BYTES + 10))
                kind, code = await receive(ws)
                assert kind == "closed" and code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        status, root = get(server.port, "/psi?VALUE")  # and the server serves on
        assert status == 200

    asyncio.run(scenario())


def test_too_many_listens_on_one_socket(board):
    many = {f"p{index}": {"low": 0.0, "high": 1.0} for index in range(MAX_LISTENS + 3)}
    board.params.update(many)
    with OscQueryControl("127.0.0.1", 0, "127.0.0.1", 9000, "t", lambda: board.state,
                         lambda: board.params, rate_limit_per_s=1000.0) as control:  # fmt: skip

        async def scenario():
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"http://127.0.0.1:{control.port}/") as ws:
                    for name in many:
                        await ws.send_str(json.dumps({"COMMAND": "LISTEN",
                                                      "DATA": f"/param/{name}"}))  # fmt: skip
                    errors = [m["ERROR"] for kind, m in await drain(ws) if kind == "json"]
                    assert len(errors) == 3 and f"at most {MAX_LISTENS}" in errors[0]

        asyncio.run(scenario())


def test_websockets_are_bounded(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}/"
            sockets = [await session.ws_connect(url) for _ in range(MAX_WEBSOCKETS)]
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url)
            assert refused.value.status == 503
            await sockets.pop().close()
            await asyncio.sleep(0.1)
            sockets.append(await session.ws_connect(url))  # a place came free
            for ws in sockets:
                await ws.close()

    asyncio.run(scenario())


def test_a_peer_that_trickles_its_headers_is_cut_off(board):
    with OscQueryControl("127.0.0.1", 0, "127.0.0.1", 9000, "t", lambda: board.state,
                         header_timeout_s=0.5) as control:  # fmt: skip
        slow = socket.create_connection(("127.0.0.1", control.port), timeout=5.0)
        started = time.monotonic()
        slow.sendall(b"GET / HTTP/1.1\r\n")
        closed_after = None
        for _ in range(40):  # one header byte every 0.1 s: would take 4 s
            time.sleep(0.1)
            try:
                slow.sendall(b"X")
            except OSError:  # reset: the server closed it
                closed_after = time.monotonic() - started
                break
            assert get(control.port, "/psi?TYPE")[0] == 200  # others are served meanwhile
        else:
            slow.settimeout(2.0)
            try:
                assert slow.recv(100) == b""  # closed, nothing answered
            except OSError:
                pass
            closed_after = time.monotonic() - started
        slow.close()
    assert closed_after is not None and closed_after < 3.5
