"""OSCQuery describing a running headless show over real sockets on 127.0.0.1 (issue 16).

The show plays in-process (render thread + offscreen EGL presenter) with a real OscControl and
OscQueryControl started by app.start_osc / app.start_oscquery (DNS-SD off: the browse test is
test_oscquery_dns_sd.py). A real python-osc client sets psi over UDP while frames are shown; the
namespace, `?VALUE` and a WebSocket LISTEN must follow.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
import threading
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient
from two_section_show import renderer_for, write_show

from installation import app
from installation.control.addresses import ADDRESSES
from installation.display.offscreen import OffscreenPresenter
from installation.settings import AppSettings
from installation.walk.timeline import LIVE_DEFAULT_RANGES

SHOW = """\
models:
  tiny: {path: tiny.safetensors, psi: 0.8}
sensors:
  proximity: {target: psi, input: [0, 1023], output: [1.0, 0.3]}
sections:
  - name: intro
    model: tiny
    duration_s: 30
    walk: {space: z, path: slerp, closed: true, seconds_per_keyframe: 0.5,
           keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}
    directions:
      - {file: directions/smile.npy, intensity: 0}
"""
PSI = 0.25


@pytest.fixture(scope="module")
def show_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("oscquery_show")
    write_show(root)
    (root / "directions").mkdir()
    np.save(root / "directions" / "smile.npy", np.ones(8, np.float32))
    path = root / "walk.yaml"
    path.write_text(SHOW, encoding="utf-8")
    return path


def get(port: int, path: str) -> tuple[int, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else None
    finally:
        connection.close()


def all_nodes(node: dict) -> dict[str, dict]:
    found = {node["FULL_PATH"]: node}
    for child in node.get("CONTENTS", {}).values():
        found.update(all_nodes(child))
    return found


class Listener(threading.Thread):
    """A WebSocket client that LISTENs to paths and keeps the OSC messages it is sent."""

    def __init__(self, port: int, paths: list[str]):
        super().__init__(daemon=True)
        self.port, self.paths = port, paths
        self.messages: list[tuple[str, list]] = []
        self.ready, self.stopping = threading.Event(), threading.Event()

    def run(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{self.port}/") as ws:
                for path in self.paths:
                    await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        message = await ws.receive(timeout=0.2)
                    except asyncio.TimeoutError:
                        continue
                    if message.type == aiohttp.WSMsgType.BINARY:
                        osc = OscMessage(message.data)
                        self.messages.append((osc.address, list(osc.params)))


class QueryingPresenter(OffscreenPresenter):
    """A real offscreen presenter that sets psi over OSC and asks OSCQuery as frames are shown."""

    def __init__(self, osc_port: int, oscquery_port: int, stop_at: int):
        super().__init__()
        self.client = SimpleUDPClient("127.0.0.1", osc_port)
        self.oscquery_port, self.stop_at = oscquery_port, stop_at
        self.shown = 0
        self.namespace: dict | None = None
        self.values: list[tuple[int, object]] = []

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        self.shown += 1

    def poll(self) -> list[str]:
        if self.shown == 3 and self.namespace is None:
            self.namespace = get(self.oscquery_port, "/")[1]
            self.client.send_message("/psi", PSI)
        if self.shown >= 3:
            self.values.append(get(self.oscquery_port, "/psi?VALUE"))
        return ["quit"] if self.shown >= self.stop_at else []


def test_oscquery_follows_a_running_show(show_path, tmp_path):
    status_file = tmp_path / "status.json"
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, osc_host="127.0.0.1", osc_port=0,
                           osc_allow=("loopback",), oscquery_port=0, is_dns_sd=False,
                           status_file=status_file)  # fmt: skip
    commands: queue.SimpleQueue = queue.SimpleQueue()
    board = app.StatusBoard()
    osc = app.start_osc(settings, commands, board)
    oscquery = app.start_oscquery(settings, board, osc)
    assert osc is not None and oscquery is not None and oscquery.advertiser is None
    listener = Listener(oscquery.port, ["/psi", "/param/psi"])
    listener.start()
    try:
        assert listener.ready.wait(5)
        presenter = QueryingPresenter(osc.port, oscquery.port, stop_at=40)
        try:
            assert app.play(settings, renderer_for(show_path), presenter, commands=commands,
                            board=board) == 0  # fmt: skip
        finally:
            presenter.close()
    finally:
        listener.stopping.set()
        listener.join(5)
        oscquery.stop()
        osc.stop()
    nodes = all_nodes(presenter.namespace)
    for entry in ADDRESSES:  # every table address, the placeholders with the show's names
        assert (entry.prefix.rstrip("/") if entry.name_regex else entry.pattern) in nodes
    assert nodes["/direction/smile"]["TYPE"] == "f" and nodes["/direction/smile"]["RANGE"]
    low, high = LIVE_DEFAULT_RANGES["psi"]  # no `live` block: the core parameters' ranges
    assert nodes["/param/psi"]["RANGE"] == [{"MIN": low, "MAX": high}]
    assert nodes["/param/direction/smile"]["TYPE"] == "f"
    assert nodes["/sensor/proximity"]["RANGE"] == [{"MIN": 0.0, "MAX": 1023.0}]
    assert nodes["/show/section"]["RANGE"] == [{"VALS": ["intro"]}]
    assert nodes["/show/section"]["VALUE"] == ["intro"]
    assert (200, {"VALUE": [PSI]}) in presenter.values  # the OSC value reached ?VALUE
    assert presenter.values[-1] == (200, {"VALUE": [PSI]})
    assert ("/psi", [PSI]) in listener.messages  # and LISTEN (binary OSC)
    assert ("/param/psi", [PSI]) in listener.messages
    written = json.loads(status_file.read_text())
    assert written["oscquery_url"] == oscquery.url
