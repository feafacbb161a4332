"""scripts/sensor_bridge.py run as a process: lines on its stdin become /sensor/<name> messages
that a real python-osc server on 127.0.0.1 receives."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sensor_bridge.py"
TIMEOUT_S = 20.0  # an upper bound only


@pytest.fixture
def show() -> Iterator[tuple[int, queue.SimpleQueue]]:
    """A stand-in show: a blocking OSC server in a thread; yields (port, received messages)."""
    received: queue.SimpleQueue = queue.SimpleQueue()
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: received.put((address, list(args))))
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="show")
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        thread.join(TIMEOUT_S)
        server.server_close()


def bridge(port: int, lines: list[str], *options: str) -> subprocess.CompletedProcess[str]:
    """Run the bridge with `lines` on stdin until it ends at EOF."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), "-", "--port", str(port), *options],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def drain(received: queue.SimpleQueue, count: int) -> list[tuple[str, list]]:
    """The first `count` messages (waiting for each at most TIMEOUT_S), then any stragglers."""
    messages = [received.get(timeout=TIMEOUT_S) for _ in range(count)]
    while True:
        try:
            messages.append(received.get(timeout=0.2))
        except queue.Empty:
            return messages


def test_readings_become_sensor_messages_and_garbage_is_skipped(show) -> None:
    port, received = show
    lines = [
        "512",
        "hello",  # garbage
        "",  # blank: ignored quietly
        "512 300",
        "12 abc",  # garbage: one value is not a number
        "distance=7.5",
        "bad name!=3",  # garbage: not a sensor name
        "nan",  # garbage: not finite
        "1e999",  # garbage: infinite
        "knob = 1, 2, 3",
        "=4",  # garbage: empty name
        "\x00\xff",  # garbage bytes
        "-0.25",
    ]
    done = bridge(port, lines, "--name", "dist", "--rate-limit", "0")
    assert done.returncode == 0, done.stderr
    assert drain(received, 5) == [
        ("/sensor/dist", [512.0]),
        ("/sensor/dist", [512.0, 300.0]),
        ("/sensor/distance", [7.5]),
        ("/sensor/knob", [1.0, 2.0, 3.0]),
        ("/sensor/dist", [-0.25]),
    ]
    assert "skipped a line that is not a reading: 'hello'" in done.stderr
    assert "similar" not in done.stderr  # one line per 10 s: the other garbage is only counted
    assert "sent 5 messages, skipped 7 lines" in done.stderr


def test_scale_and_offset_apply_to_every_value(show) -> None:
    port, received = show
    done = bridge(port, ["512 100"], "--scale", "0.5", "--offset", "1", "--rate-limit", "0")
    assert done.returncode == 0, done.stderr
    assert drain(received, 1) == [("/sensor/sensor", [257.0, 51.0])]


def test_rate_limit_sends_the_latest_reading(show) -> None:
    port, received = show
    # 200 readings in one write: far more than 2 a second, so most wait and are replaced
    done = bridge(port, [str(n) for n in range(1, 201)], "--rate-limit", "2")
    assert done.returncode == 0, done.stderr
    messages = drain(received, 1)
    values = [args[0] for _, args in messages]
    assert values[-1] == 200.0, "the newest reading is sent, even at the end of the input"
    assert len(values) < 200
    assert values == sorted(values), "older readings never follow newer ones"
    assert {address for address, _ in messages} == {"/sensor/sensor"}


def test_rate_limit_keeps_the_latest_of_each_sensor(show) -> None:
    port, received = show
    lines = [f"a={n}" for n in range(50)] + [f"b={n}" for n in range(50)] + ["a=99"]
    done = bridge(port, lines, "--rate-limit", "4")
    assert done.returncode == 0, done.stderr
    messages = drain(received, 2)
    last = {address: args for address, args in messages}
    assert last == {"/sensor/a": [99.0], "/sensor/b": [49.0]}


def test_bad_options_exit_with_usage(show) -> None:
    port, _ = show
    done = bridge(port, [], "--name", "no spaces")
    assert done.returncode == 2
    assert "--name" in done.stderr


def test_bridge_imports_nothing_from_the_app() -> None:
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('installation', 'torch', "
        "'numpy', 'kernels')); print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(SCRIPT)], capture_output=True, text=True,
        timeout=TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
