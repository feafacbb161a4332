"""OSC storms from allowed senders (issue 13): amplification, storm throughput, backlog drain.

1. amplification: an in-process OSC server (allow-list 127.0.0.0/8) under a spoof-like storm:
   a fresh socket (new port) per burst over 200 loopback hosts (127.0.x.y), sending the
   messages with the biggest answers (/status, refused and unknown addresses) and ordinary
   ones, as fast as the server reads them. Prints reply bytes / request bytes (bar: <= 2).
2. backlog: the demo show plays headless (render thread + offscreen EGL); a storm process
   sends /psi values, /show/next, /show/reload, /status ... from 200 hosts for --storm-s (10 s),
   its last message a /psi value no storm message has. Prints the frames shown, the longest gap
   and the generation rate quiet vs during the storm, side by side; what the server read
   (storm throughput); and the drain time: from the storm's end until that last value is
   applied and no command waits (bar: <= 1 s).

    python benchmarks/osc_storm.py                    # about 40 s on 2 CPU cores
    python benchmarks/osc_storm.py --storm-s 10 --quiet-s 5 --amp-s 5
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# idle OpenMP threads sleep: on a busy PC spinning ones starve everything (issue 14)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from machine import cpu_description  # noqa: E402 (benchmarks/machine.py, beside this script)
from pythonosc.osc_message_builder import build_msg  # noqa: E402

FINAL_PSI = 1.75  # the storm's last value; its own values lie in 0..1
FINAL_REPEATS, FINAL_INTERVAL_S = 10, 0.05  # the last value is sent again, as a sender would
STORM_HOSTS = 200
DEMO_MODEL = ROOT / "assets" / "demo" / "demo-sg3.safetensors"
SHOW_TEXT = f"""\
models:
  demo: {{path: {DEMO_MODEL}, psi: 0.8}}
sections:
  - name: drift
    model: demo
    duration_s: 30
    walk: {{space: z, path: slerp, closed: true, seconds_per_keyframe: 2,
           keyframes: [{{seed: 1}}, {{seed: 2}}, {{seed: 3}}, {{seed: 4}}]}}
    live:
      psi: {{range: [-1, 2], slew_s: 0, hold_s: 600}}
  - name: orbit
    model: demo
    duration_s: 30
    walk: {{space: z, path: slerp, closed: true, seconds_per_keyframe: 2,
           keyframes: [{{seed: 5}}, {{seed: 6}}, {{seed: 7}}]}}
    live:
      psi: {{range: [-1, 2], slew_s: 0, hold_s: 600}}
"""


def storm_messages(rng: random.Random) -> list[bytes]:
    """One burst of a hostile but allowed sender (a fresh port each time)."""
    return [
        build_msg("/status", []).dgram,
        build_msg("/psi", [f"{rng.random():.4f}"]).dgram,
        build_msg("/psi", [rng.random()]).dgram,
        build_msg("/cutoff", [8]).dgram,  # refused by a psi-only section
        build_msg(f"/no/such/{rng.randrange(10**6)}", []).dgram,
        build_msg("/show/next", []).dgram,
        build_msg("/show/reload", []).dgram,
        build_msg("/direction/d", [rng.random()]).dgram,
    ]


def storm_child(port: int, seconds_s: float, rate_per_s: float) -> None:
    """The storm process: bursts from 200 hosts at `rate_per_s` datagrams a second, then
    FINAL_PSI; prints datagrams and bytes sent and its own CPU seconds."""
    rng = random.Random(13)
    sent = sent_bytes = burst = 0
    target = ("127.0.0.1", port)
    started_s = time.monotonic()
    end_s = started_s + seconds_s
    while (now_s := time.monotonic()) < end_s:
        if sent > (now_s - started_s) * rate_per_s:
            time.sleep(0.001)
            continue
        burst += 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((f"127.0.10.{1 + burst % STORM_HOSTS}", 0))
            sock.setblocking(False)
            for datagram in storm_messages(rng):
                try:
                    sock.sendto(datagram, target)
                    sent, sent_bytes = sent + 1, sent_bytes + len(datagram)
                except BlockingIOError:
                    pass
    print(f"{sent} {sent_bytes} {time.process_time():.2f}", flush=True)  # the storm ends here
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # a host of its own
        sock.bind(("127.0.99.1", 0))
        for _ in range(FINAL_REPEATS):  # UDP: the socket buffer may be full at the first one
            sock.sendto(build_msg("/psi", [FINAL_PSI]).dgram, target)
            time.sleep(FINAL_INTERVAL_S)


def amplification(seconds_s: float) -> None:
    """Part 1: reply bytes / request bytes under a port-hopping storm, server in-process."""
    from installation.control.mailbox import CommandQueue
    from installation.control.osc import OscControl
    from installation.walk.commands import SetLive

    status = {"show": "demo", "section": "drift", "section_index": 0, "show_time_s": 12.5,
              "paused": False, "speed": 1.0, "level": 1.0, "fps": 29.75, "generated_fps": 28.1,
              "model": "demo", "kernels": "torch", "steerable": "psi -1..2, speed 0.05..10"}

    def refusal(command):
        if isinstance(command, SetLive) and command.name != "psi":
            return f"section 'drift' does not steer {command.name} (steerable now: psi -1..2)"
        return None

    server = OscControl("127.0.0.1", 0, CommandQueue(), lambda: dict(status),
                        allow=("127.0.0.0/8",), heartbeat_s=2.0, refusal=refusal)  # fmt: skip
    server.start()
    rng = random.Random(5)
    sockets: list[socket.socket] = []
    sent_bytes = received_bytes = 0
    started_s = time.monotonic()
    burst = 0
    while time.monotonic() - started_s < seconds_s:
        burst += 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((f"127.0.20.{1 + burst % STORM_HOSTS}", 0))
        sock.setblocking(False)
        sockets.append(sock)
        messages = storm_messages(rng)
        for datagram in messages:
            sock.sendto(datagram, ("127.0.0.1", server.port))
            sent_bytes += len(datagram)
        if burst % 10 == 0:  # as fast as the server reads, so that nothing is lost
            while server.counters.datagrams < len(messages) * burst:
                time.sleep(0.0005)
            received_bytes += sum(_drain(s) for s in sockets)
            if len(sockets) > 500:
                for old in sockets[:-100]:
                    received_bytes += _drain(old)
                    old.close()
                del sockets[:-100]
    time.sleep(2.5)  # a heartbeat round
    received_bytes += sum(_drain(s) for s in sockets)
    elapsed_s = time.monotonic() - started_s
    server.stop()
    for sock in sockets:
        sock.close()
    c = server.counters
    print(f"\n## 1. amplification: port-hopping storm, {burst} fresh ports over {STORM_HOSTS} "
          f"hosts, {elapsed_s:.1f} s\n")  # fmt: skip
    print("| | value |\n|---|---:|")
    print(f"| datagrams read by the server | {c.datagrams} ({c.datagrams / elapsed_s:.0f}/s) |")
    print(f"| request bytes | {c.request_bytes} |")
    print(f"| reply bytes sent (replies, refusals, heartbeats) | {c.reply_bytes} |")
    print(f"| reply bytes received by the storm's sockets | {received_bytes} |")
    print(f"| **amplification** reply / request bytes (bar <= 2) | "
          f"**{c.reply_bytes / max(c.request_bytes, 1):.3f}** |")  # fmt: skip
    print(f"| replies dropped (over the budget) / sent datagrams | {c.replies_dropped} / "
          f"{c.replies_sent} |")  # fmt: skip
    print(f"| accepted / rejected (refused) / deferred | {c.accepted} / {c.rejected} "
          f"({c.refused}) / {c.deferred} |")  # fmt: skip


def _drain(sock: socket.socket) -> int:
    total = 0
    while True:
        try:
            total += len(sock.recv(65535))
        except (BlockingIOError, OSError):
            return total


def backlog(
    quiet_s: float, storm_s: float, storm_rate: float, device: str, precision: str, fps: float
) -> None:
    """Part 2: the demo show under a 10 s storm from another process; drain time after it."""
    from installation import app
    from installation.control.mailbox import (
        EXPENSIVE_INTERVAL_S,
        SHOW_CHANGE_INTERVAL_S,
        CommandQueue,
    )
    from installation.display.offscreen import OffscreenPresenter
    from installation.settings import AppSettings

    class TimingPresenter(OffscreenPresenter):
        """Records when each new frame was first put on the (offscreen) screen."""

        def __init__(self, size_px: tuple[int, int]) -> None:
            super().__init__(size_px)
            self.shown: list[float] = []
            self.last: object = None

        def present(self, frame, blend_with=None, mix=0.0) -> None:
            super().present(frame, blend_with, mix)
            if frame is not self.last:
                self.last = frame
                self.shown.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        show_path = Path(tmp) / "show.yaml"
        show_path.write_text(SHOW_TEXT, encoding="utf-8")
        settings = AppSettings(show_path=show_path, is_headless=True, fps=fps,
                               is_blending=False, is_watching=False, device=device,
                               precision=precision, osc_host="127.0.0.1", osc_port=0,
                               osc_allow=("127.0.0.0/8",))  # fmt: skip
        show = app.load_startup(settings)
        commands = CommandQueue()
        board = app.StatusBoard()
        osc = app.start_osc(settings, commands, board, show)
        presenter = TimingPresenter((640, 640))
        marks: dict[str, float] = {}
        storm_result: list[str] = []
        generated: dict[str, int] = {}

        def generated_now() -> int:
            return board.loop.stats.generated if board.loop is not None else 0

        def psi_target() -> float | None:
            loop = board.loop
            if loop is None:
                return None
            entry = loop.player.live.at(time.perf_counter()).get("psi")
            return None if entry is None else entry[0]

        def drive() -> None:
            while board.loop is None or board.loop.clock is None:
                time.sleep(0.05)
            time.sleep(2.0)  # warm-up
            marks["quiet"] = time.perf_counter()
            generated["quiet"] = generated_now()
            time.sleep(quiet_s)
            marks["storm"] = time.perf_counter()
            generated["storm"] = generated_now()
            before = osc.counters.datagrams
            child = subprocess.Popen(
                [sys.executable, __file__, "--storm-child", str(osc.port), str(storm_s),
                 str(storm_rate)],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert child.stdout is not None
            storm_result.append(child.stdout.readline().strip())  # printed at the storm's end
            marks["end"] = time.perf_counter()
            generated["end"] = generated_now()
            marks["read"] = osc.counters.datagrams - before
            deadline_s = marks["end"] + 30.0
            while time.perf_counter() < deadline_s and "empty" not in marks:
                now_s = time.perf_counter()
                if "applied" not in marks and psi_target() == FINAL_PSI:
                    marks["applied"] = now_s
                    marks["waiting"] = commands.qsize()
                if "applied" in marks and commands.qsize() == 0:
                    marks["empty"] = now_s
                time.sleep(0.001)
            child.wait()
            time.sleep(1.0)

        driver = threading.Thread(target=drive, name="driver")
        driver.start()
        original_poll = presenter.poll
        presenter.poll = lambda: ["quit"] if not driver.is_alive() else original_poll()
        try:
            app.play(settings, lambda s, playing=None: app.build_renderer(s, playing or show),
                     presenter, commands=commands, board=board)  # fmt: skip
        finally:
            presenter.close()
            osc.stop()
            driver.join()
    sent_text, bytes_text, child_cpu_s = storm_result[0].split()
    sent, sent_bytes = int(sent_text), int(bytes_text)

    def phase(start: str, end: str) -> tuple[int, float, float]:
        times = [t for t in presenter.shown if marks[start] <= t < marks[end]]
        gaps = [b - a for a, b in zip([marks[start], *times], [*times, marks[end]], strict=True)]
        seconds = marks[end] - marks[start]
        return len(times), len(times) / seconds, max(gaps)

    quiet, storm = phase("quiet", "storm"), phase("storm", "end")
    quiet_gen = (generated["storm"] - generated["quiet"]) / (marks["storm"] - marks["quiet"])
    storm_gen = (generated["end"] - generated["storm"]) / (marks["end"] - marks["storm"])
    c, q = osc.counters, commands.counters
    print(f"\n## 2. backlog: demo show headless ({device} {precision}, {fps:g} fps display) under "
          f"a {storm_s:g} s storm from {STORM_HOSTS} hosts (another process)\n")  # fmt: skip
    print(f"| | quiet ({quiet_s:g} s) | storm ({storm_s:g} s) | storm / quiet |")
    print("|---|---:|---:|---:|")
    print(f"| frames shown/s | {quiet[1]:.1f} | {storm[1]:.1f} | {storm[1] / quiet[1]:.2f} |")
    print(f"| frames generated/s | {quiet_gen:.1f} | {storm_gen:.1f} | "
          f"{storm_gen / max(quiet_gen, 1e-9):.2f} |")  # fmt: skip
    print(f"| longest gap between new frames (s) | {quiet[2]:.3f} | {storm[2]:.3f} | "
          f"{storm[2] / quiet[2]:.2f} |")  # fmt: skip
    print(f"\nstorm throughput: sent {sent} datagrams ({sent / storm_s:.0f}/s, {sent_bytes} B, "
          f"{child_cpu_s} CPU s in the storm process); "
          f"the server read {marks['read']} ({marks['read'] / storm_s:.0f}/s; the rest overflowed "
          f"the socket buffer), accepted {c.accepted}, rate-limited {c.rate_limited}, "
          f"rejected {c.rejected}, deferred {c.deferred}, paced {c.paced_s:.1f} s")  # fmt: skip
    print(f"command queue: {q.put} put, {q.merged} merged, {q.taken} applied, at most "
          f"{q.most_pending} waiting, {q.dropped} dropped")  # fmt: skip
    if "applied" in marks:
        print(f"**drain time** (storm end -> its last value applied; bar <= 1 s): "
              f"**{marks['applied'] - marks['end']:.3f} s**, {marks['waiting']} commands waiting "
              f"then")  # fmt: skip
    else:
        print("**drain time**: the last value was not applied within 30 s")
    if "empty" in marks:
        print(f"queue empty (throttled seeks and reloads applied too, by design within "
              f"{EXPENSIVE_INTERVAL_S:g} s / {SHOW_CHANGE_INTERVAL_S:g} s or 4x their cost) "
              f"{marks['empty'] - marks['end']:.3f} s after the storm")  # fmt: skip


def main() -> None:
    """Run both parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amp-s", type=float, default=5.0, help="amplification storm seconds")
    parser.add_argument("--quiet-s", type=float, default=5.0)
    parser.add_argument("--storm-s", type=float, default=10.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fast")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--storm-rate", type=float, default=4000.0,
                        help="datagrams/s the storm sends (the server reads at most 2000/s)")
    parser.add_argument("--storm-child", nargs=3, metavar=("PORT", "SECONDS", "RATE"),
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--log-level", default="CRITICAL", help="the app's log on stderr")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    if args.storm_child:
        storm_child(int(args.storm_child[0]), float(args.storm_child[1]),
                    float(args.storm_child[2]))
        return
    print(f"# OSC storm benchmark\n\nmachine: {cpu_description()}, load average {os.getloadavg()}\n"
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")  # fmt: skip
    amplification(args.amp_s)
    backlog(args.quiet_s, args.storm_s, args.storm_rate, args.device, args.precision, args.fps)


if __name__ == "__main__":
    main()
