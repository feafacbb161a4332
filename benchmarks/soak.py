"""Soak test: the demo show headless for N minutes under a steady OSC load and periodic faults.

Starts `run_show.py --headless` on shows/demo.yaml as a child process with --status-file,
--stats-json, --osc-port and --inject-faults (every --fault-every seconds, alternating a burst of
exceptions in the generator and a hang longer than --hang-timeout), sends --osc-rate messages a
second (documented addresses steering the demo's live parameters, /psi, /camera/rotate,
/param/translate_x, and /status) from one UDP socket and counts the server's acknowledgements
(each accepted datagram is answered with /status/... /status/end), and samples the child's RSS
(/proc/PID/status VmRSS, from its first frame on) and status file every --sample-s seconds.
The child runs with --max-recoveries 1000000 (the soak is about memory and steady state, not the
exit after 10 recoveries in 10 minutes). At the end: a table of RSS start / max / end and slope,
frames shown / generated / late / dropped, the longest gap between newly shown frames, the
recoveries and degrade steps, and OSC sent / acked; --json writes the same as JSON.

    python benchmarks/soak.py --minutes 2                  # a check (about 2.5 minutes)
    python benchmarks/soak.py --minutes 30 --json soak.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

ROOT = Path(__file__).resolve().parent.parent
DEMO_SHOW = ROOT / "shows" / "demo.yaml"
RAISE_BURST_PASSES = 3  # a raise fault fails this many passes in a row (FAILED_PASSES_LIMIT)
STARTUP_GRACE_S = 90.0  # the child may take this long to start before frames are expected
STOP_GRACE_S = 60.0  # after --minutes, wait this long for the child's own end before SIGINT
WARMUP_S = 60.0  # RSS slope: samples before this are left out (allocator warm-up)


def osc_messages() -> list[tuple[str, list[Any]]]:
    """The load's mix: the demo show's live parameters (psi in `seeds`, the camera in `orbit`;
    elsewhere they are dropped with a once-a-minute warning) and status requests. No speed,
    pause or seek: --duration stays wall time and the frame counts stay comparable."""
    return [
        ("/psi", [round(random.uniform(0.4, 1.1), 3)]),
        ("/camera/rotate", [round(random.uniform(-30, 30), 2)]),
        ("/param/translate_x", [round(random.uniform(-0.3, 0.3), 3)]),
        ("/status", [1]),
    ]


class OscLoad:
    """Sends messages at a steady rate from one socket; counts acknowledgements and status."""

    def __init__(self, port: int, rate_hz: float) -> None:
        self.target = ("127.0.0.1", port)
        self.rate_hz = rate_hz
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.sent = 0
        self.status_ends = 0
        self.heartbeats = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._receive, daemon=True)]  # fmt: skip

    @property
    def acked(self) -> int:
        """Status replies to our messages (heartbeats end with /status/end too)."""
        return self.status_ends - self.heartbeats

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(2.0)
        self.sock.close()

    def _send(self) -> None:
        period_s = 1.0 / self.rate_hz
        next_s = time.monotonic()
        while not self.stopping.is_set():
            address, args = random.choice(osc_messages())
            builder = OscMessageBuilder(address)
            for arg in args:
                builder.add_arg(arg)
            try:
                self.sock.sendto(builder.build().dgram, self.target)
                self.sent += 1
            except OSError:
                pass  # the child is not listening yet (or any more)
            next_s += period_s
            self.stopping.wait(max(0.0, next_s - time.monotonic()))

    def _receive(self) -> None:
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, OSError):
                continue
            try:
                address = OscMessage(data).address
            except Exception:  # not ours to judge here
                continue
            if address == "/status/end":
                self.status_ends += 1
            elif address == "/heartbeat":
                self.heartbeats += 1


def fault_spec(minutes: float, every_s: float, hang_s: float) -> str | None:
    """Faults every `every_s` seconds of the run, alternating a raise burst and a hang."""
    if every_s <= 0:
        return None
    parts = []
    for k in range(1, int(minutes * 60 // every_s) + 1):
        at_s = k * every_s
        is_raise = k % 2 == 1
        parts.append(f"raise@{at_s:g}*{RAISE_BURST_PASSES}" if is_raise
                     else f"hang@{at_s:g}:{hang_s:g}")  # fmt: skip
    return ",".join(parts) or None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def vm_rss_mb(pid: int) -> float | None:
    """The process's resident memory (VmRSS) in MiB, or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MiB) after the warm-up, in MiB per hour."""
    warmup_s = min(WARMUP_S, samples[-1][0] / 4) if samples else 0.0
    points = [(t, m) for t, m in samples if t >= warmup_s]
    if len(points) < 3:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_m = sum(m for _, m in points) / len(points)
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    if var_t == 0:
        return None
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var_t * 3600


def run_child(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run the show for --minutes with the load; the samples and the child's own statistics."""
    port = free_udp_port()
    status_path, stats_path = workdir / "status.json", workdir / "stats.json"
    log_path = workdir / "show.log"
    command = [sys.executable, str(ROOT / "run_show.py"), str(args.show), "--headless",
               "--duration", f"{args.minutes * 60:g}", "--osc-port", str(port),
               "--status-file", str(status_path), "--stats-json", str(stats_path),
               "--log-file", str(log_path), "--device", args.device,
               "--hang-timeout", f"{args.hang_timeout:g}",
               "--max-recoveries", "1000000"]  # fmt: skip
    spec = fault_spec(args.minutes, args.fault_every, 2 * args.hang_timeout)
    if spec:
        command += ["--inject-faults", spec]
    if args.size:
        command += ["--size", args.size]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"soak: {args.minutes:g} min, OSC {args.osc_rate:g} msg/s on port {port}, faults "
          f"every {args.fault_every:g} s; log {log_path} (kept with --json)",
          flush=True)  # fmt: skip
    started_s = time.monotonic()
    stderr_path = workdir / "stderr.txt"  # a file, not a pipe: nobody drains a pipe meanwhile
    with stderr_path.open("w") as stderr_file:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=stderr_file)  # fmt: skip
    load = OscLoad(port, args.osc_rate)
    load.start()
    rss: list[tuple[float, float]] = []  # (seconds since the show's first frame, MiB)
    ages: list[float] = []
    shown_at_s: float | None = None  # monotonic time the status file first counted a frame
    timeline: list[tuple[float, float, Any, Any]] = []  # (s, RSS MiB, frames shown, recoveries)
    deadline_s = started_s + args.minutes * 60 + STARTUP_GRACE_S + STOP_GRACE_S
    try:
        while child.poll() is None:
            now_s = time.monotonic()
            if now_s > deadline_s:
                child.send_signal(signal.SIGINT)
                child.wait(30)
                break
            status = read_json(status_path)
            if shown_at_s is None and status.get("frames_shown"):
                shown_at_s = now_s  # RSS from here on: the show runs (models loaded)
            mb = vm_rss_mb(child.pid)
            if mb is not None and shown_at_s is not None:
                rss.append((now_s - shown_at_s, mb))
                timeline.append((round(now_s - shown_at_s, 1), round(mb, 1),
                                 status.get("frames_shown"), status.get("recoveries")))
            age = status.get("last_frame_age_s")
            if isinstance(age, int | float):
                ages.append(float(age))
            if args.progress and len(rss) % max(1, int(60 / args.sample_s)) == 1:
                print(f"  t={now_s - started_s:6.0f} s rss={mb or 0:7.1f} MB shown="
                      f"{status.get('frames_shown')} recoveries={status.get('recoveries')}",
                      flush=True)  # fmt: skip
            time.sleep(args.sample_s)
    finally:
        load.stop()
        if child.poll() is None:
            child.kill()
            child.wait()
        stderr = stderr_path.read_text(errors="replace")
    return {"exit": child.returncode, "rss": rss, "timeline": timeline, "ages": ages,
            "stats": read_json(stats_path),
            "status": read_json(status_path), "osc_sent": load.sent, "osc_acked": load.acked,
            "wall_s": time.monotonic() - started_s, "stderr": stderr[-2000:],
            "faults": spec, "log": str(log_path)}  # fmt: skip


def summarize(run: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The figures the issue asks for, from the samples and the child's statistics."""
    rss = [mb for _, mb in run["rss"]]
    stats, status = run["stats"], run["status"]
    slope = slope_mb_per_hour(run["rss"])
    return {
        "minutes": args.minutes,
        "wall_s": round(run["wall_s"], 1),
        "exit_code": run["exit"],
        "rss_start_mb": round(rss[0], 1) if rss else None,
        "rss_max_mb": round(max(rss), 1) if rss else None,
        "rss_end_mb": round(rss[-1], 1) if rss else None,
        "rss_slope_mb_per_hour": None if slope is None else round(slope, 1),
        "rss_samples": len(rss),
        "frames_shown": stats.get("frames_shown"),
        "frames_generated": stats.get("frames_generated"),
        "frames_late": stats.get("frames_late"),
        "frames_dropped": stats.get("frames_dropped"),
        "frames_failed": stats.get("frames_failed"),
        "shown_fps": None if "shown_fps" not in stats else round(stats["shown_fps"], 2),
        "longest_frame_gap_s": None if stats.get("longest_frame_gap_s") is None
        else round(stats["longest_frame_gap_s"], 2),
        "max_sampled_frame_age_s": round(max(run["ages"]), 2) if run["ages"] else None,
        "recoveries": stats.get("recoveries", status.get("recoveries")),
        "degrade_level": stats.get("degrade_level"),
        "degrade_steps": stats.get("degrade_steps"),
        "osc_rate_hz": args.osc_rate,
        "osc_sent": run["osc_sent"],
        "osc_acked": run["osc_acked"],
        "fault_every_s": args.fault_every,
        "faults": run["faults"],
        "log": run["log"],
    }  # fmt: skip


def print_table(summary: dict[str, Any]) -> None:
    """The summary as aligned rows."""
    def show(value: Any) -> str:
        if isinstance(value, float):
            return "-" if math.isnan(value) else f"{value:g}"
        return "-" if value is None else str(value)

    rows = [
        ("run", f"{summary['minutes']:g} min (wall {summary['wall_s']:g} s), exit "
                f"{show(summary['exit_code'])}"),
        ("RSS MB start / max / end", " / ".join(
            show(summary[key]) for key in ("rss_start_mb", "rss_max_mb", "rss_end_mb"))),
        ("RSS slope MB/hour", show(summary["rss_slope_mb_per_hour"])),
        ("frames shown / generated", f"{show(summary['frames_shown'])} / "
                                     f"{show(summary['frames_generated'])}"),
        ("frames late / dropped / failed", f"{show(summary['frames_late'])} / "
         f"{show(summary['frames_dropped'])} / {show(summary['frames_failed'])}"),
        ("shown fps", show(summary["shown_fps"])),
        ("longest gap between frames s", f"{show(summary['longest_frame_gap_s'])} (max "
         f"sampled last-frame age {show(summary['max_sampled_frame_age_s'])})"),
        ("recoveries", show(summary["recoveries"])),
        ("degrade", f"level {show(summary['degrade_level'])}: "
                    f"{show(summary['degrade_steps'] or None)}"),
        ("OSC sent / acked", f"{summary['osc_sent']} / {summary['osc_acked']} "
                             f"({summary['osc_rate_hz']:g} msg/s)"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    """Run the soak; 0 when the child ended on its own (exit 0), else 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="show time to run (default 30)")
    parser.add_argument("--fault-every", type=float, default=120.0, metavar="S",
                        help="a fault every S s, alternating raise and hang; 0: none (default "
                        "120)")  # fmt: skip
    parser.add_argument("--osc-rate", type=float, default=20.0, metavar="HZ",
                        help="OSC messages a second (default 20)")  # fmt: skip
    parser.add_argument("--hang-timeout", type=float, default=10.0, metavar="S",
                        help="the child's --hang-timeout; injected hangs last twice this "
                        "(default 10)")  # fmt: skip
    parser.add_argument("--sample-s", type=float, default=2.0, help="RSS sampling period")
    parser.add_argument("--show", type=Path, default=DEMO_SHOW)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", default=None, metavar="WxH", help="offscreen size")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the summary and the samples (time, RSS, frames shown, "
                        "recoveries) here; the show's log, status and stats files are kept "
                        "next to it in soak-run/")  # fmt: skip
    parser.add_argument("--progress", action="store_true", help="a line every minute")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.osc_rate <= 0 or args.sample_s <= 0 or args.fault_every < 0:
        parser.error("--minutes, --osc-rate and --sample-s must be > 0, --fault-every >= 0")
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = Path(tmp) if args.json is None else args.json.parent / "soak-run"
        workdir.mkdir(parents=True, exist_ok=True)
        run = run_child(args, workdir)
        summary = summarize(run, args)
        print_table(summary)
        if run["exit"] != 0:
            print(f"soak: the show exited with {run['exit']}:\n{run['stderr']}", file=sys.stderr)
        if args.json is not None:
            record = {**summary, "samples_s_rss_mb_shown_recoveries": run["timeline"]}
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            print(f"soak: written {args.json}")
    return 0 if run["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
