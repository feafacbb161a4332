"""The HTTP/WebSocket API against a real server on 127.0.0.1 with a real command queue.

"Other machines" are simulated without leaving loopback: the server is told that only
127.0.0.1 is open (`open_to`), and the client connects from 127.0.0.2 (the whole 127/8 is this
machine's on Linux), so that peer must send the token.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import queue
import socket
import time

import aiohttp
import numpy as np
import pytest
from PIL import Image

from installation.control.addresses import ADDRESSES
from installation.control.http import MAX_REQUEST_BYTES, HttpControl
from installation.errors import ControlError
from installation.walk.commands import JumpSection, SetLive, SetPaused

TOKEN = "test-token-0123456789"
JSON = {"Content-Type": "application/json"}
OTHER = "127.0.0.2"  # a peer that is not open (needs the token)


def refuse_cutoff(command):
    return "no cutoff here" if isinstance(command, SetLive) and command.name == "cutoff" else None


@pytest.fixture(scope="module")
def server():
    commands: queue.SimpleQueue = queue.SimpleQueue()
    control = HttpControl(
        "127.0.0.1", 0, commands, lambda: {"state": "playing", "section": "intro"},
        refusal=refuse_cutoff, parameters=lambda: {"psi": {"low": 0.0, "high": 1.5}},
        sections=lambda: [{"index": 0, "name": "intro", "duration_s": 30.0}], token=TOKEN,
        picture=lambda max_px: ("frame 1", np.full((600, 400, 3), 200, np.uint8)),
        allow=("127.0.0.1", OTHER), open_to=("127.0.0.1",), rate_limit_per_s=1000.0,
    )  # fmt: skip
    with control:
        control.queue = commands
        yield control


def request(server, method, path, body=None, headers=None, source="127.0.0.1"):
    """(status, JSON answer or bytes) of one request from `source`."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5,
                                            source_address=(source, 0))  # fmt: skip
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json else data
    finally:
        connection.close()


def post(server, message, headers=None, source="127.0.0.1"):
    body = message if isinstance(message, (str, bytes)) else json.dumps(message)
    return request(server, "POST", "/api/command", body, {**JSON, **(headers or {})}, source)


def drain(commands: queue.SimpleQueue) -> list:
    found = []
    while not commands.empty():
        found.append(commands.get_nowait())
    return found


def test_reads_come_from_the_board_and_the_address_table(server):
    assert request(server, "GET", "/api/status") == (200, {"state": "playing",
                                                           "section": "intro"})  # fmt: skip
    assert request(server, "GET", "/api/parameters") == (200, {"psi": {"low": 0.0, "high": 1.5}})
    assert request(server, "GET", "/api/sections")[1][0]["name"] == "intro"
    status, table = request(server, "GET", "/api/addresses")
    assert status == 200 and [row["address"] for row in table] == [a.pattern for a in ADDRESSES]
    fade = next(row for row in table if row["address"] == "/show/fade")
    assert fade["args"][0] == {"name": "level", "kind": "float", "low": 0.0, "high": 1.0,
                               "default": None, "unit": "", "choices": []}  # fmt: skip


def test_commands_are_parsed_like_osc_and_queued(server):
    drain(server.queue)
    assert post(server, {"address": "/show/next"}) == (200, {"ok": True, "commands": 1})
    assert post(server, {"address": "/show/paused", "args": [1]})[0] == 200
    assert post(server, {"address": "/psi", "args": [9]})[0] == 200  # clamped, as OSC does
    assert drain(server.queue) == [JumpSection(1), SetPaused(True), SetLive("psi", 2.0)]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ("{not json", 400, "not JSON"),
        ("[1, 2]", 400, "JSON object"),
        ({"args": []}, 400, '"address" must be'),
        ({"address": "/nope"}, 400, "unknown OSC address '/nope'"),
        ({"address": "/psi", "args": ["high"]}, 400, "must be a number"),
        ({"address": "/psi", "args": [1, 2]}, 400, "expected 1 argument"),
        ({"address": "/psi", "args": [[1]]}, 400, "numbers, strings and booleans"),
        ({"address": "/psi", "args": 1}, 400, '"args" must be a list'),
        ({"address": "/psi", "args": [1], "x": 1}, 400, "unknown keys"),
        ({"address": "/cutoff", "args": [4]}, 409, "no cutoff here"),
        ("x" * (MAX_REQUEST_BYTES + 1), 413, "Maximum request body size"),
    ],
)
def test_bad_commands_get_a_json_reason_and_queue_nothing(server, body, status, reason):
    drain(server.queue)
    answer_status, answer = post(server, body)
    assert answer_status == status and reason in answer["error"]
    assert drain(server.queue) == []


def test_other_errors_are_json_too(server):
    status, answer = request(server, "POST", "/api/command", '{"address": "/show/next"}',
                             {"Content-Type": "text/plain"})  # fmt: skip
    assert status == 415 and "application/json" in answer["error"]
    assert request(server, "GET", "/api/nothing")[0] == 404
    assert request(server, "DELETE", "/api/status")[0] == 405


def test_other_peers_need_the_token_in_a_header(server):
    drain(server.queue)
    status, answer = post(server, {"address": "/show/next"}, source=OTHER)
    assert status == 401 and "token" in answer["error"]
    assert post(server, {"address": "/show/next"}, {"X-Latent-Walk-Token": "wrong"},
                source=OTHER)[0] == 401  # fmt: skip
    assert request(server, "GET", "/api/status", source=OTHER)[0] == 401
    assert request(server, "GET", "/api/status", headers={"Cookie": f"token={TOKEN}"},
                   source=OTHER)[0] == 401  # fmt: skip
    assert drain(server.queue) == []
    assert post(server, {"address": "/show/next"}, {"Authorization": f"Bearer {TOKEN}"},
                source=OTHER)[0] == 200  # fmt: skip
    assert post(server, {"address": "/show/prev"}, {"X-Latent-Walk-Token": TOKEN},
                source=OTHER)[0] == 200  # fmt: skip
    assert drain(server.queue) == [JumpSection(1), JumpSection(-1)]
    status, page = request(server, "GET", "/", source=OTHER)  # the page has no secrets
    assert status == 200 and b"<title>latent-walk remote</title>" in page


def test_the_allow_list_host_and_origin_checks(server):
    with HttpControl("127.0.0.1", 0, queue.SimpleQueue(), dict, allow=("127.0.0.1",)) as strict:
        status, answer = request(strict, "GET", "/", source=OTHER)
        assert status == 403 and "allow-list" in answer["error"]
    status, answer = request(server, "GET", "/api/status", headers={"Host": "evil.example"})
    assert status == 403 and "Host" in answer["error"]
    status, answer = post(server, {"address": "/show/next"},
                          {"Origin": "http://evil.example"})  # fmt: skip
    assert status == 403 and "other web pages" in answer["error"]


def test_rate_limit_per_peer():
    with HttpControl("127.0.0.1", 0, queue.SimpleQueue(), dict, rate_limit_per_s=2.0) as slow:
        statuses = [request(slow, "GET", "/api/status")[0] for _ in range(6)]
    assert statuses[:4] == [200] * 4 and statuses[-1] == 429  # burst: twice the rate


def test_a_peer_that_trickles_its_headers_is_cut_off():
    """Slowloris: the request line and headers must all come within header_timeout_s; a complete
    request on another connection is answered meanwhile."""
    with HttpControl("127.0.0.1", 0, queue.SimpleQueue(), dict, header_timeout_s=0.5) as srv:
        slow = socket.create_connection(("127.0.0.1", srv.port), timeout=5.0)
        started = time.monotonic()
        slow.sendall(b"GET /api/status HTTP/1.1\r\n")
        closed_after = None
        for index in range(40):  # one header byte every 0.1 s: would take 4 s
            time.sleep(0.1)
            try:
                slow.sendall(b"X-Slow: 1\r\n"[index % 11 : index % 11 + 1])
            except OSError:  # reset: the server closed it
                closed_after = time.monotonic() - started
                break
            if request(srv, "GET", "/api/status")[0] != 200:
                break
        else:
            slow.settimeout(2.0)
            try:
                assert slow.recv(100) == b""  # closed, nothing answered
            except OSError:
                pass
            closed_after = time.monotonic() - started
        slow.close()
    assert closed_after is not None and closed_after < 3.5


def test_the_header_timeout_does_not_cut_an_open_websocket():
    async def listen(port: int) -> int:
        async with aiohttp.ClientSession() as session, session.ws_connect(
            f"http://127.0.0.1:{port}/ws", protocols=("latent-walk",)
        ) as ws:
            texts, deadline = 0, time.monotonic() + 2.0
            while time.monotonic() < deadline:
                message = await ws.receive(timeout=1.0)
                assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)
                texts += message.type == aiohttp.WSMsgType.TEXT
            return texts

    with HttpControl("127.0.0.1", 0, queue.SimpleQueue(), dict, header_timeout_s=0.3) as srv:
        assert asyncio.run(listen(srv.port)) >= 6  # 4 a second for 2 s, past the timeout


def test_a_taken_port_is_a_control_error(server):
    with pytest.raises(ControlError, match="taken"):
        HttpControl("127.0.0.1", server.port, queue.SimpleQueue(), dict)


def test_websocket_streams_status_and_takes_commands(server):
    async def talk(source, protocols):
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            url = f"http://127.0.0.1:{server.port}/ws"
            async with session.ws_connect(url, protocols=protocols) as ws:
                update = await ws.receive_json(timeout=5)
                await ws.send_json({"address": "/show/next"})
                await ws.send_str("{broken")
                answers, thumbnails = [], []
                while len(answers) < 2 or not thumbnails:
                    message = await ws.receive(timeout=5)
                    if message.type == aiohttp.WSMsgType.BINARY:
                        thumbnails.append(message.data)
                        continue
                    message = json.loads(message.data)
                    if "status" not in message or "error" in message:
                        answers.append(message)
                return update, answers, thumbnails

    drain(server.queue)
    update, answers, thumbnails = asyncio.run(talk("127.0.0.1", ("latent-walk",)))
    assert update["status"]["section"] == "intro" and "psi" in update["parameters"]
    assert Image.open(io.BytesIO(thumbnails[0])).size == (213, 320)
    assert answers[0] == {"ok": True, "commands": 1, "address": "/show/next"}
    assert "not JSON" in answers[1]["error"]
    assert drain(server.queue) == [JumpSection(1)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        asyncio.run(talk(OTHER, ("latent-walk",)))
    assert refused.value.status == 401
    update, answers, _ = asyncio.run(talk(OTHER, ("latent-walk", f"token.{TOKEN}")))
    assert answers[0]["ok"] is True


def test_non_finite_numbers_go_out_as_null():
    status = {"level": float("nan"), "fps": float("inf"), "live": [1.0, float("-inf")]}
    with HttpControl("127.0.0.1", 0, queue.SimpleQueue(), lambda: status) as server:
        answer = request(server, "GET", "/api/status")
    assert answer == (200, {"level": None, "fps": None, "live": [1.0, None]})


def test_thumbnail_of_the_frame_on_screen(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/api/thumbnail.jpg")
    response = connection.getresponse()
    image = Image.open(io.BytesIO(response.read()))
    connection.close()
    assert response.getheader("Content-Type") == "image/jpeg"
    assert image.format == "JPEG" and image.size == (213, 320)  # the longer side 320
    assert abs(int(np.asarray(image).mean()) - 200) <= 2
    with HttpControl("127.0.0.1", 0, queue.SimpleQueue(), dict) as bare:
        status, answer = request(bare, "GET", "/api/thumbnail.jpg")
    assert status == 503 and "no frame" in answer["error"]
