"""OSC storms from allowed senders over real UDP on loopback (issue 13): no amplification, no
backlog, expensive commands budgeted, overflow logged per host, SIGTERM exits cleanly.

Linux routes all of 127.0.0.0/8 to loopback, so sockets bound to 127.0.x.y act as many hosts;
a socket per burst is a fresh port (a port-hopping, spoof-like sender). The allow-list names
127.0.0.0/8, so every one of them counts as allowed.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import build_msg

from installation import app
from installation.control import osc as osc_module
from installation.control.mailbox import CommandQueue
from installation.control.osc import MAX_REPLY_TARGETS, OscControl
from installation.display.offscreen import OffscreenPresenter
from installation.models import load_generator
from installation.render.show_renderer import ShowRenderer
from installation.settings import AppSettings
from installation.show.load import load_show
from installation.walk.commands import JumpSection, ReloadShow, SetLive
from tiny_models import tiny_show_tree

WAIT_S = 30.0  # an upper bound for waiting, never a timing assertion
REPO = Path(__file__).resolve().parents[2]
STATUS = {"section": "intro", "section_index": 0, "show_time_s": 12.5, "paused": False,
          "speed": 1.0, "fps": 29.75, "model": "demo",
          "steerable": "psi -1..2, cutoff 0..32, noise_strength 0..5, speed 0.05..10"}  # fmt: skip


def refuse_cutoff(command) -> str | None:
    if isinstance(command, SetLive) and command.name == "cutoff":
        return "section 'intro' does not steer cutoff (steerable now: psi -1..2, speed 0.05..10)"
    return None


@pytest.fixture
def make_server() -> Iterator[Callable[..., OscControl]]:
    servers: list[OscControl] = []

    def make(**kwargs) -> OscControl:
        kwargs.setdefault("commands", CommandQueue())
        kwargs.setdefault("allow", ("127.0.0.0/8",))
        server = OscControl("127.0.0.1", 0, status=lambda: dict(STATUS),
                            refusal=refuse_cutoff, **kwargs)  # fmt: skip
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


def storm_datagrams(rng: random.Random) -> list[bytes]:
    """A burst as a hostile but allowed sender sends it: the requests with the biggest answers
    (/status, refused and unknown messages) and ordinary ones, strings as TouchDesigner sends."""
    return [
        build_msg("/status", []).dgram,
        build_msg("/psi", [f"{rng.random():.3f}"]).dgram,
        build_msg("/cutoff", [8]).dgram,  # refused: /status/refused <address> <reason>
        build_msg(f"/no/such/{rng.randrange(10**6)}", []).dgram,
        build_msg("/show/next", []).dgram,
        build_msg("/status", []).dgram,
    ]


def drain(sock: socket.socket) -> int:
    """Bytes of every datagram waiting on a non-blocking socket."""
    total = 0
    while True:
        try:
            total += len(sock.recv(65535))
        except BlockingIOError:
            return total


def test_a_port_hopping_storm_gets_at_most_twice_its_bytes_back(make_server, capfd) -> None:
    server = make_server(heartbeat_s=0.05)
    target = ("127.0.0.1", server.port)
    rng = random.Random(13)
    sockets: list[socket.socket] = []
    sent_bytes = received_bytes = 0
    try:
        for burst in range(600):  # 600 fresh (host, port) pairs over 100 hosts
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((f"127.0.1.{1 + burst % 100}", 0))
            sock.setblocking(False)
            sockets.append(sock)
            for datagram in storm_datagrams(rng):
                sock.sendto(datagram, target)
                sent_bytes += len(datagram)
            if burst % 20 == 19:  # let the server keep up: every datagram is counted below
                wait_until(lambda: server.counters.datagrams == 6 * len(sockets))
                received_bytes += sum(drain(s) for s in sockets)
        wait_until(lambda: server.counters.datagrams == 6 * len(sockets))
        time.sleep(0.3)  # heartbeats meanwhile count too
        received_bytes += sum(drain(s) for s in sockets)
    finally:
        for sock in sockets:
            sock.close()
    c = server.counters
    assert c.request_bytes == sent_bytes
    assert c.reply_bytes >= received_bytes > 0  # answered, within the budget
    assert c.reply_bytes / c.request_bytes <= 2.0
    assert received_bytes / sent_bytes <= 2.0
    assert c.replies_dropped > 0 and c.refused > 0
    assert len(server.reply_targets) <= MAX_REPLY_TARGETS
    print(f"amplification: sent {sent_bytes} B, replied {c.reply_bytes} B "
          f"({c.reply_bytes / c.request_bytes:.3f}x), received {received_bytes} B")  # fmt: skip


def test_heartbeats_go_to_the_most_recent_senders_and_stop_when_they_are_quiet(
    make_server, monkeypatch
) -> None:
    monkeypatch.setattr(osc_module, "SENDER_QUIET_S", 60.0)  # nobody goes quiet while they send
    server = make_server(heartbeat_s=0.05)
    target = ("127.0.0.1", server.port)
    sockets = []
    try:
        for index in range(3 * MAX_REPLY_TARGETS):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((f"127.0.3.{1 + index}", 0))
            sock.settimeout(WAIT_S)
            sockets.append(sock)
            sock.sendto(build_msg("/psi", [0.5]).dgram, target)
            wait_until(lambda n=index + 1: server.counters.accepted == n)
        recent = [s.getsockname() for s in sockets[-MAX_REPLY_TARGETS:]]
        assert server.reply_targets == recent  # the cap keeps the most recent ones
        monkeypatch.setattr(osc_module, "SENDER_QUIET_S", 0.5)
        last = sockets[-1]
        while True:  # the last sender gets heartbeats ...
            data = last.recv(65535)
            if data.startswith(b"/heartbeat"):
                break
        wait_until(lambda: server.reply_targets == [])  # ... until it has been quiet 0.5 s
        last.setblocking(False)
        drain(last)  # what was on its way
        time.sleep(0.3)  # six heartbeat periods
        assert drain(last) == 0
    finally:
        for sock in sockets:
            sock.close()


def test_overflowing_numbers_are_refused_and_logged_once_per_sender_host(make_server, caplog):
    server = make_server(heartbeat_s=0.0)
    target = ("127.0.0.1", server.port)
    hosts = ["127.0.4.1", "127.0.4.2"]
    with caplog.at_level(logging.ERROR, logger="installation.control"):
        for host in hosts:
            for value in ["1e999", "9" * 5000, "-" + "9" * 400, float("inf")] * 5:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # a new port
                    sock.bind((host, 0))
                    sock.sendto(build_msg("/psi", [value]).dgram, target)
        wait_until(lambda: server.counters.rejected == 40)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert lines == [
        "rejected from 127.0.4.1: /psi: argument 1 (psi) must be a finite number, got '1e999'",
        "rejected from 127.0.4.2: /psi: argument 1 (psi) must be a finite number, got '1e999'",
    ]
    assert server.counters.accepted == 0 and server.is_running


def test_a_burst_of_reloads_and_jumps_becomes_one_reload_and_every_jump(make_server) -> None:
    commands = CommandQueue(expensive_interval_s=0.0)  # only the per-sender budget here
    server = make_server(commands=commands, heartbeat_s=0.0)
    bundle = OscBundleBuilder(IMMEDIATELY)
    for _ in range(50):
        bundle.add_content(build_msg("/show/reload", []))
        bundle.add_content(build_msg("/show/next", []))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.5.1", 0))
        sock.sendto(bundle.build().dgram, ("127.0.0.1", server.port))
        wait_until(lambda: server.counters.accepted == 100)
    assert server.counters.deferred == 96  # a burst of 4, then the newest waits, merged
    taken: list = []
    while sum(c.delta for c in taken if isinstance(c, JumpSection)) < 50:
        taken.append(commands.get(timeout=WAIT_S))  # deferred ones come as the budget refills
    assert sum(isinstance(c, ReloadShow) for c in taken) <= 3
    assert sum(c.delta for c in taken if isinstance(c, JumpSection)) == 50  # no jump lost


# -- a playing show ------------------------------------------------------------------------------


class CountingPresenter(OffscreenPresenter):
    """A real offscreen presenter that notes each new frame's epoch and quits after `stop_at`."""

    def __init__(self, stop_at: int) -> None:
        super().__init__()
        self.stop_at = stop_at
        self.epochs: list[int] = []
        self.last: object = None

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        if frame is not self.last:
            self.last = frame
            self.epochs.append(frame.epoch)

    def poll(self) -> list[str]:
        return ["quit"] if len(self.epochs) >= self.stop_at else []


def test_a_sender_within_the_rate_limit_cannot_freeze_the_picture_with_seeks(tmp_path) -> None:
    """180 /show/next, /show/seek and /show/reload a second (under the 200/s limit): each seek
    would render a frame and drop the ones ahead, so applying them all keeps the picture from
    moving. Budgeted, every new epoch (a seek) still gets frames of its own on screen."""
    show_path = tiny_show_tree(tmp_path, STORM_SHOW)
    show = load_show(show_path)
    renderer = ShowRenderer(show, {"tiny": load_generator(show.models[0].path, "cpu", "exact")},
                            "cpu")  # fmt: skip
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, osc_host="127.0.0.1", osc_port=0,
                           osc_allow=("loopback",))  # fmt: skip
    commands = CommandQueue()
    board = app.StatusBoard()
    osc = app.start_osc(settings, commands, board)
    presenter = CountingPresenter(stop_at=40)  # 2 s at 20 frames/s
    stop = threading.Event()

    def storm() -> None:
        while not presenter.epochs and not stop.is_set():
            time.sleep(0.01)
        messages = [build_msg("/show/next", []).dgram, build_msg("/show/seek", [2.5]).dgram,
                    build_msg("/show/reload", []).dgram]  # fmt: skip
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sent = 0
            started_s = time.monotonic()
            while not stop.is_set():
                if sent < (time.monotonic() - started_s) * 180:
                    sock.sendto(messages[sent % 3], ("127.0.0.1", osc.port))
                    sent += 1
                time.sleep(0.001)

    sender = threading.Thread(target=storm)
    sender.start()
    try:
        assert app.play(settings, renderer, presenter, commands=commands, board=board) == 0
    finally:
        stop.set()
        sender.join()
        presenter.close()
        osc.stop()
    assert osc.counters.rate_limited == 0 and osc.counters.accepted > 100
    assert board.loop is not None and board.loop.stats.commands < osc.counters.accepted / 10
    runs = [len(list(group)) for _, group in itertools.groupby(presenter.epochs)]
    assert len(runs) >= 3  # the seeks happen ...
    assert min(runs[1:-1]) >= 2, runs  # ... and each one's picture moves on before the next


# -- a real show process --------------------------------------------------------------------------

STORM_SHOW = """\
models:
  tiny: {path: ../assets/demo/demo-sg3.safetensors, psi: 0.8}
sections:
  - name: first
    model: tiny
    duration_s: 4
    walk: {space: z, path: slerp, closed: true, seconds_per_keyframe: 1,
           keyframes: [{seed: 1}, {seed: 2}]}
    live:
      psi: {range: [-1, 2], slew_s: 0, hold_s: 60}
  - name: second
    model: tiny
    duration_s: 4
    walk: {space: z, path: slerp, closed: true, seconds_per_keyframe: 1,
           keyframes: [{seed: 3}, {seed: 4}]}
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sigterm_during_a_storm_exits_cleanly(tmp_path) -> None:
    show = tiny_show_tree(tmp_path, STORM_SHOW)
    port = free_udp_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MESA_SHADER_CACHE_DISABLE"] = "true"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run_show.py"), str(show), "--headless", "--no-watch",
         "--osc-host", "127.0.0.1", "--osc-port", str(port), "--osc-allow", "127.0.0.0/8"],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    stop = threading.Event()

    def storm() -> None:
        """Many hosts, a fresh port per burst, every kind of message, until the show exits."""
        rng = random.Random(7)
        kinds = [("/show/next", []), ("/show/reload", []), ("/show/seek", [1.5]),
                 ("/status", []), ("/cutoff", [3]), ("/param/psi", ["0.5"]),
                 ("/direction/d", [1.0]), ("/nowhere", []), ("/psi", ["1e999"])]  # fmt: skip
        burst = 0
        while not stop.is_set():
            burst += 1
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((f"127.0.6.{1 + burst % 200}", 0))
                sock.setblocking(False)
                for _ in range(20):
                    address, values = rng.choice(kinds + [("/psi", [rng.random()])] * 4)
                    try:
                        sock.sendto(build_msg(address, values).dgram, ("127.0.0.1", port))
                    except BlockingIOError:
                        pass

    storming = threading.Thread(target=storm)
    try:
        wait_until(lambda: any("show started" in line for line in lines)
                   or process.poll() is not None)  # fmt: skip
        assert process.poll() is None, "".join(lines)
        storming.start()
        wait_until(lambda: any("rejected from 127.0.6." in line for line in lines))  # it arrives
        time.sleep(1.0)  # a second of storm
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=WAIT_S)  # while the storm goes on
    finally:
        stop.set()
        if storming.is_alive():
            storming.join()
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(WAIT_S)
    log = "".join(lines)
    assert returncode == 0, log[-3000:]
    assert "interrupted" in log and "summary frames generated=" in log
    assert "installation.control.osc: stopped datagrams=" in log
    for sign in ("Traceback", "Fatal Python error", "terminate called", "did not stop"):
        assert sign not in log, log[-3000:]
