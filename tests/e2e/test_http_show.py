"""The HTTP API steering a running headless show over real TCP on 127.0.0.1 (issue 16).

The show plays in-process (render thread + offscreen EGL presenter) with a real HttpControl
started by app.start_http; the presenter makes real HTTP requests while frames are shown, and
the frames that follow are checked.
"""

from __future__ import annotations

import http.client
import json
import queue
import socket
from pathlib import Path

import pytest
from two_section_show import renderer_for, write_show

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.settings import AppSettings
from installation.show.load import load_show


@pytest.fixture(scope="module")
def show_path(tmp_path_factory) -> Path:
    return write_show(tmp_path_factory.mktemp("http_show"))


def call(port: int, method: str, path: str, message: dict | None = None) -> tuple[int, object]:
    """(status, JSON answer) of one request to the show's HTTP server."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        body = None if message is None else json.dumps(message)
        headers = {"Content-Type": "application/json"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


class RequestingPresenter(OffscreenPresenter):
    """A real offscreen presenter that makes HTTP requests once N frames were shown."""

    def __init__(self, port: int, script: dict[int, list[tuple]], stop_at: int):
        super().__init__()
        self.port, self.script, self.stop_at = port, dict(script), stop_at
        self.frames: list = []
        self.answers: list[tuple[int, object]] = []

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        self.frames.append(frame)

    def poll(self) -> list[str]:
        for request in self.script.pop(len(self.frames), []):
            self.answers.append(call(self.port, *request))
        return ["quit"] if len(self.frames) >= self.stop_at else []


def test_http_api_steers_a_running_show(show_path, tmp_path):
    status_file = tmp_path / "status.json"
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, http_host="127.0.0.1", http_port=0,
                           status_file=status_file)  # fmt: skip
    commands: queue.SimpleQueue = queue.SimpleQueue()
    board = app.StatusBoard()
    server = app.start_http(settings, commands, board)
    assert server is not None
    script = {
        4: [("GET", "/api/status"), ("GET", "/api/parameters"), ("GET", "/api/sections"),
            ("POST", "/api/command", {"address": "/show/next", "args": []}),
            ("POST", "/api/command", {"address": "/psi", "args": ["high"]})],
        14: [("GET", "/api/status"), ("GET", "/api/parameters")],
    }  # fmt: skip
    try:
        presenter = RequestingPresenter(server.port, script, stop_at=18)
        try:
            assert app.play(settings, renderer_for(show_path), presenter, commands=commands,
                            board=board) == 0  # fmt: skip
        finally:
            presenter.close()
    finally:
        server.stop()
    status, parameters, sections, next_answer, bad, status_after, parameters_after = (
        presenter.answers
    )
    assert status[0] == 200 and status[1]["section"] == "drift"
    assert parameters == (200, {"psi": {"low": -1.0, "high": 2.0},
                                "speed": {"low": 0.05, "high": 10.0, "value": 1.0}})  # fmt: skip
    assert [s["name"] for s in sections[1]] == ["drift", "second"]
    assert next_answer == (200, {"ok": True, "commands": 1})
    assert bad[0] == 400 and "/psi: argument 1 (psi) must be a number" in bad[1]["error"]
    assert status_after[1]["section"] == "second" and status_after[1]["section_index"] == 1
    assert "cutoff" in parameters_after[1]  # the second section takes the core parameters
    jumped = [frame for frame in presenter.frames if frame.epoch == 1]
    assert jumped and all(frame.section_name == "second" for frame in jumped)
    written = json.loads(status_file.read_text())
    assert written["http_token"] == server.token and written["http_url"] == server.url


def test_the_show_file_can_start_the_web_remote(tmp_path):
    """`show: http:` starts the server without --http-port; the command line wins per field."""
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "gallery-remote-token-2026"
    text = write_show(tmp_path).read_text(encoding="utf-8")
    path = tmp_path / "with_http.yaml"
    path.write_text(f"show:\n  http: {{port: {port}, host: 127.0.0.1, token: {token}}}\n" + text,
                    encoding="utf-8")  # fmt: skip
    show = load_show(path)
    board = app.StatusBoard()
    server = app.start_http(AppSettings(show_path=path), queue.SimpleQueue(), board, show)
    assert server is not None
    try:
        assert (server.port, server.token) == (port, token)
        assert call(port, "GET", "/api/sections")[0] == 200
    finally:
        server.stop()
    other = app.start_http(AppSettings(show_path=path, http_port=0, http_token="x" * 20),
                           queue.SimpleQueue(), board, show)  # fmt: skip
    assert other is not None
    try:
        assert other.port != port and other.token == "x" * 20
    finally:
        other.stop()
    assert app.start_http(AppSettings(show_path=path), queue.SimpleQueue(), board, None) is None
