"""OscControl over real UDP on 127.0.0.1: commands in order, replies, allow-list, limits, fuzz."""

from __future__ import annotations

import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from queue import Empty, SimpleQueue
from typing import Any

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import build_msg
from pythonosc.udp_client import SimpleUDPClient

from installation.cli import main
from installation.control.osc import OscControl
from installation.errors import ControlError
from installation.walk.commands import (
    GoToSection,
    JumpSection,
    LoadShow,
    SetLive,
    SetPaused,
    SetSpeed,
    TogglePause,
)

WAIT_S = 10.0  # an upper bound for waiting, never a timing assertion
STATUS = {"section": "intro", "section_index": 0, "show_time_s": 12.5, "paused": False,
          "speed": 1.0, "fps": 29.75, "model": "demo"}  # fmt: skip


def status() -> dict:
    return dict(STATUS)


@pytest.fixture
def commands() -> SimpleQueue:
    return SimpleQueue()


@pytest.fixture
def make_server(commands: SimpleQueue) -> Iterator[Callable[..., OscControl]]:
    servers: list[OscControl] = []

    def make(**kwargs: Any) -> OscControl:
        kwargs.setdefault("heartbeat_s", 0.0)
        server = OscControl("127.0.0.1", 0, commands, status, **kwargs)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def sock() -> Iterator[socket.socket]:
    """A client socket bound to 127.0.0.1 that can receive replies."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(WAIT_S)
        yield s


def take(commands: SimpleQueue, count: int) -> list:
    return [commands.get(timeout=WAIT_S) for _ in range(count)]


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.001)


def receive(s: socket.socket) -> tuple[tuple, str, list]:
    data, source = s.recvfrom(65535)
    message = OscMessage(data)
    return source, message.address, list(message.params)


def receive_status(s: socket.socket) -> tuple[tuple, dict]:
    """Read up to /status/end; returns the source and {key: value} (heartbeat as 'heartbeat')."""
    values: dict = {}
    while True:
        source, address, params = receive(s)
        if address == "/status/end":
            return source, values
        values[address.removeprefix("/status/").lstrip("/")] = params[0]


def test_commands_arrive_in_order(make_server: Callable, commands: SimpleQueue) -> None:
    server = make_server()
    client = SimpleUDPClient("127.0.0.1", server.port)
    client.send_message("/show/pause", [])
    client.send_message("/show/speed", 2.5)
    client.send_message("/psi", "0.5")  # TouchDesigner sends strings
    client.send_message("/camera/translate", [0.25, -0.5])
    client.send_message("/show/section", "intro")
    client.send_message("/show/next", 1.0)
    client.send_message("/show/next", 0.0)  # a button's release does nothing
    client.send_message("/show/toggle", True)
    expected = [
        SetPaused(True), SetSpeed(2.5), SetLive("psi", 0.5), SetLive("translate_x", 0.25),
        SetLive("translate_y", -0.5), GoToSection("intro"), JumpSection(1), TogglePause(),
    ]  # fmt: skip
    assert take(commands, len(expected)) == expected
    wait_until(lambda: server.counters.received == 8)
    assert server.counters.accepted == 8 and server.counters.rejected == 0


@pytest.mark.parametrize("timetag", [IMMEDIATELY, 0.0, time.time() + 3600.0, 2085978000.0])
def test_bundle_messages_run_at_once_in_order(
    make_server: Callable, commands: SimpleQueue, timetag: float
) -> None:
    server = make_server()
    builder = OscBundleBuilder(timetag)
    for index in range(3):
        builder.add_content(build_msg("/show/section", [index]))
    inner = OscBundleBuilder(IMMEDIATELY)
    inner.add_content(build_msg("/show/load", ["after"]))
    builder.add_content(inner.build())
    SimpleUDPClient("127.0.0.1", server.port).send(builder.build())
    assert take(commands, 4) == [GoToSection(0), GoToSection(1), GoToSection(2), LoadShow("after")]


def test_status_query_is_answered_from_the_server_port(
    make_server: Callable, sock: socket.socket
) -> None:
    server = make_server()
    sock.sendto(build_msg("/status", []).dgram, ("127.0.0.1", server.port))
    source, values = receive_status(sock)
    assert source == ("127.0.0.1", server.port)
    assert values == {**STATUS, "paused": 0}  # bools go as 0/1
    assert isinstance(values["section_index"], int) and isinstance(values["fps"], float)


def test_accepted_messages_get_status_and_rejected_ones_a_refusal(
    make_server: Callable, commands: SimpleQueue, sock: socket.socket
) -> None:
    server = make_server()
    target = ("127.0.0.1", server.port)
    sock.sendto(build_msg("/psi", [0.25]).dgram, target)
    assert receive_status(sock)[1]["section"] == "intro"
    for bad in (build_msg("/psi", ["high"]), build_msg("/nowhere", []), build_msg("/psi", [])):
        sock.sendto(bad.dgram, target)
    sock.sendto(build_msg("/status", []).dgram, target)
    # UDP on loopback keeps order: each rejected message is answered with its reason, in order
    refusals = [receive(sock)[1:] for _ in range(3)]
    assert refusals == [
        ("/status/refused", ["/psi", "/psi: argument 1 (psi) must be a number (int, float, bool "
                                     "or a numeric string), got 'high'"]),
        ("/status/refused", ["/nowhere", "unknown OSC address '/nowhere' (see docs/osc.md)"]),
        ("/status/refused", ["/psi", "/psi: expected 1 argument(s) (psi: float -1..2), got 0: []"]),
    ]  # fmt: skip
    _, address, params = receive(sock)
    assert (address, params) == ("/status/section", ["intro"])
    assert take(commands, 1) == [SetLive("psi", 0.25)]
    c = server.counters
    assert (c.received, c.accepted, c.rejected) == (5, 2, 3)


def test_rejections_are_logged_once_per_address(
    make_server: Callable, sock: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server()
    with caplog.at_level(logging.ERROR, logger="installation.control"):
        for _ in range(20):
            sock.sendto(build_msg("/psi", ["high"]).dgram, ("127.0.0.1", server.port))
            sock.sendto(build_msg("/nowhere", []).dgram, ("127.0.0.1", server.port))
        wait_until(lambda: server.counters.rejected == 40)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert lines == [
        "rejected from 127.0.0.1: /psi: argument 1 (psi) must be a number (int, float, bool or a "
        "numeric string), got 'high'",
        "rejected from 127.0.0.1: unknown OSC address '/nowhere' (see docs/osc.md)",
    ]


def test_port_in_use_is_a_control_error(make_server: Callable, commands: SimpleQueue) -> None:
    server = make_server()
    with pytest.raises(ControlError, match=rf"OSC port 127.0.0.1:{server.port} is taken: "):
        OscControl("127.0.0.1", server.port, commands, status)
    with pytest.raises(ControlError, match="is not loopback, local, any"):
        OscControl("127.0.0.1", 0, commands, status, allow=("lan",))


def test_allow_list_drops_and_counts_other_senders(
    make_server: Callable, commands: SimpleQueue, sock: socket.socket
) -> None:
    server = make_server(allow=("127.0.0.1/32",))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("127.0.0.2", 0))  # Linux routes all of 127/8 to loopback
        other.sendto(build_msg("/show/load", ["intruder"]).dgram, ("127.0.0.1", server.port))
    sock.sendto(build_msg("/show/load", ["friend"]).dgram, ("127.0.0.1", server.port))
    assert take(commands, 1) == [LoadShow("friend")]
    c = server.counters
    assert (c.datagrams, c.denied, c.accepted) == (2, 1, 1)
    with pytest.raises(Empty):
        commands.get_nowait()


def test_rate_limit_drops_and_counts_a_flood(
    make_server: Callable, commands: SimpleQueue, sock: socket.socket
) -> None:
    server = make_server(rate_limit_per_s=5.0)  # burst of 10 (cheap messages: no other budget)
    bundle = OscBundleBuilder(IMMEDIATELY)
    for _ in range(30):
        bundle.add_content(build_msg("/psi", [0.5]))
    sock.sendto(bundle.build().dgram, ("127.0.0.1", server.port))
    for _ in range(30):
        sock.sendto(build_msg("/psi", [0.5]).dgram, ("127.0.0.1", server.port))
    wait_until(lambda: server.counters.datagrams == 31)
    c = server.counters
    assert c.accepted >= 10  # the burst
    assert c.rate_limited >= 30  # at 5/s nothing refills 30 tokens while a bundle is handled
    assert c.accepted + c.rate_limited == c.received
    assert len(take(commands, c.accepted)) == c.accepted


def test_heartbeat_goes_to_recent_senders_and_the_feedback_target(
    make_server: Callable, sock: socket.socket
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tablet:
        tablet.bind(("127.0.0.1", 0))
        tablet.settimeout(WAIT_S)
        server = make_server(heartbeat_s=0.05, feedback_target=tablet.getsockname())
        _, address, params = receive(tablet)
        assert (address, params) == ("/heartbeat", [12.5])
        assert receive_status(tablet)[1]["model"] == "demo"
        sock.sendto(build_msg("/show/play", []).dgram, ("127.0.0.1", server.port))
        replies = [receive(sock)[1] for _ in range(2 * (len(STATUS) + 1) + 1)]
        assert "/heartbeat" in replies and replies.count("/status/end") >= 2


def test_a_failing_send_is_counted_not_raised(make_server: Callable, sock: socket.socket) -> None:
    # a socket bound to 127.0.0.1 cannot send to TEST-NET-1: sendto fails (EINVAL)
    server = make_server(heartbeat_s=0.02, feedback_target=("192.0.2.1", 9))
    wait_until(lambda: server.counters.send_errors >= 3)
    sock.sendto(build_msg("/status", []).dgram, ("127.0.0.1", server.port))
    assert receive_status(sock)[1]["section"] == "intro"
    assert server.is_running


def test_stop_is_idempotent_and_ends_the_osc_thread(commands: SimpleQueue) -> None:
    server = OscControl("127.0.0.1", 0, commands, status)
    server.start()
    server.start()
    assert [t.name for t in threading.enumerate()].count("osc") >= 1
    server.stop()
    server.stop()
    assert not server.is_running
    with pytest.raises(ControlError, match="was stopped"):
        server.start()
    OscControl("127.0.0.1", server.port, commands, status).stop()  # the port is free again


def test_python_osc_bundle_hang_is_a_malformed_datagram(
    make_server: Callable, commands: SimpleQueue, sock: socket.socket
) -> None:
    # python-osc 1.10.2's own bundle parser loops forever on an element size of -4
    server = make_server()
    for size in (-4, 0, 3, 1000):
        datagram = b"#bundle\x00" + bytes(8) + struct.pack(">i", size) + b"/a\x00\x00"
        sock.sendto(datagram, ("127.0.0.1", server.port))
    sock.sendto(b"#bundle\x00" + bytes(8), ("127.0.0.1", server.port))  # no messages
    sock.sendto(build_msg("/show/next", []).dgram, ("127.0.0.1", server.port))
    assert take(commands, 1) == [JumpSection(1)]
    assert server.counters.malformed == 5


def fuzz_datagrams(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """(kind, datagram) forever; kinds 'good', 'bad' and 'non-osc' have a known outcome."""
    far_future = struct.pack(">II", 0xFFFFFFFF, 0xFFFFFFFF)
    timetags = [bytes(8), struct.pack(">II", 0, 1), far_future, rng.randbytes(8)]
    while True:
        kind = rng.randrange(10)
        if kind == 0:
            yield "non-osc", b"x" + rng.randbytes(rng.randrange(0, 200))
        elif kind == 1:
            yield "other", b"/" + rng.randbytes(rng.randrange(0, 200))
        elif kind == 2:
            body = b"".join(
                struct.pack(">i", rng.choice([rng.randrange(-64, 256), 8, 12, -4]))
                + rng.randbytes(rng.randrange(0, 40))
                for _ in range(rng.randrange(0, 4))
            )
            yield "other", b"#bundle\x00" + rng.choice(timetags) + body
        elif kind == 3:
            yield "bad", build_msg("/psi", [[rng.random()] * rng.randrange(1, 2000)]).dgram
        elif kind == 4:
            value = rng.choice(["abc", b"\x00\x01", None, float("nan"), [1, [2, [3]]], "1e999"])
            yield "bad", build_msg("/show/speed", [value]).dgram
        elif kind == 5:
            yield "bad", build_msg(f"/no/such/{rng.randrange(10**6)}", [1]).dgram
        elif kind == 6:
            yield "other", b"/\xff\xfe\x80\x00,f\x00\x00" + rng.randbytes(4)  # non-UTF-8 address
        elif kind == 7:
            yield "other", build_msg("/psi", [1.0]).dgram[: rng.randrange(1, 12)]  # cut short
        elif kind == 8:
            bundle = OscBundleBuilder(rng.choice([IMMEDIATELY, time.time() + 1e6]))
            bundle.add_content(build_msg("/psi", [rng.choice(["x", 1.0, 0.5, True])]))
            yield "other", bundle.build().dgram
        else:
            yield "good", build_msg("/direction/fuzz", [rng.randrange(-10, 10)]).dgram


def test_fuzz_leaves_the_server_alive_and_counting(
    make_server: Callable, commands: SimpleQueue, sock: socket.socket, capfd: pytest.CaptureFixture
) -> None:
    server = make_server(rate_limit_per_s=1e9)
    target = ("127.0.0.1", server.port)
    rng = random.Random(5)
    sent = {"good": 0, "bad": 0, "non-osc": 0, "other": 0}
    expected_values = []
    deadline = time.monotonic() + 3.0
    datagrams = fuzz_datagrams(rng)
    while time.monotonic() < deadline:
        for _ in range(25):  # then wait: a bigger burst of large datagrams overflows the buffer
            kind, datagram = next(datagrams)
            if kind == "good":
                expected_values.append(float(OscMessage(datagram).params[0]))
            sent[kind] += 1
            sock.sendto(datagram, target)
        total = sum(sent.values())
        wait_until(lambda total=total: server.counters.datagrams == total)  # no loss from flooding
    sock.sendto(build_msg("/show/load", ["sentinel"]).dgram, target)
    received = []
    while not received or received[-1] != LoadShow("sentinel"):
        received.append(commands.get(timeout=WAIT_S))
    assert server.is_running
    # every good message's command arrived, in order (accepted fuzz bundles add /psi ones)
    directions = [c.value for c in received if c.name == "direction/fuzz"]
    assert directions == expected_values
    c = server.counters
    total = sum(sent.values())
    assert c.datagrams == total + 1
    assert c.received == c.accepted + c.rejected + c.denied + c.rate_limited + c.malformed
    assert c.denied == c.rate_limited == c.internal_errors == 0
    assert c.accepted >= sent["good"] + 1  # plus /psi bundles with a good value
    assert c.rejected >= sent["bad"]
    assert c.malformed >= sent["non-osc"]
    assert c.received >= total + 1  # bundles may hold several messages
    err = capfd.readouterr().err
    assert "Traceback" not in err
    print(f"fuzz: {total} datagrams in about 3 s, counters {c}")


def test_osc_send_cli_sends_and_prints_replies(
    make_server: Callable, commands: SimpleQueue, capsys: pytest.CaptureFixture
) -> None:
    server = make_server()
    port = str(server.port)
    assert main(["osc-send", "/camera/translate", "-0.5", "1", "--port", port]) == 0
    assert take(commands, 2) == [SetLive("translate_x", -0.5), SetLive("translate_y", 1.0)]
    assert main(["osc-send", "/show/paused", "true", "--port", port, "--wait-reply", "5"]) == 0
    assert take(commands, 1) == [SetPaused(True)]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "/status/section intro" and out[-1] == "/status/end"
    assert "/status/fps 29.75" in out and "/status/paused 0" in out
    assert main(["osc-send", "/psi", "high", "--port", port, "--wait-reply", "5"]) == 1
    assert capsys.readouterr().out == (
        "/status/refused /psi /psi: argument 1 (psi) must be a number (int, float, bool or a "
        "numeric string), got 'high'\n"
    )
    server.stop()  # nobody answers now
    assert main(["osc-send", "/psi", "1", "--port", port, "--wait-reply", "0.2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no reply from 127.0.0.1:") and err.count("\n") == 1
    assert main(["osc-send", "psi", "1", "--port", port]) == 2
    assert "an OSC address starts with '/'" in capsys.readouterr().err
