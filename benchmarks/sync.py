"""Several PCs in lockstep, on one machine: a --sync leader and followers, their show-time offset.

Starts one `run_show.py --headless --sync leader` and --followers `--sync follow 127.0.0.1:PORT`
processes (a tiny random model by default, or --show FILE, e.g. shows/demo.yaml), each with an
OSC server on 127.0.0.1 that answers /status. In --sync mode /status carries `sync_clock_s`:
the machine's monotonic clock reading that its `sync_show_s` (show time, to the microsecond)
holds for, so two replies compare
exactly however late they arrive: offset = leader show time carried to the follower's reading
minus the follower's show time.

1. Locked: after --settle-s (5 s) from the followers' lock, --seconds of samples (every 0.5 s,
   the OSC status budget per sender): the offset's median and p99 per follower.
2. The leader killed (SIGKILL): for --gap-s the followers must keep playing (show time advancing
   at the leader's rate).
3. The leader restarted as --supervise would (--start at its show time carried on, with
   --epoch-of-start): for --relock-s the followers' largest step away from the leader's rate (a
   jump would show as far more than the slew limit) and the time until they are within a frame.

The bar (docs/operators.md): median <= 1 frame (33 ms at 30 fps), p99 <= 2 frames; the followers
keep playing alone; re-locking steps stay within the slew limit (5 %).

    python benchmarks/sync.py                      # tiny model, 2 followers, 60 s locked
    python benchmarks/sync.py --seconds 20 --followers 1
    python benchmarks/sync.py --link               # Ableton Link peers, in their own namespace
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "benchmarks"))  # last: benchmarks/kernels.py is not the kernels

from machine import cpu_description  # noqa: E402
from pythonosc.osc_message import OscMessage  # noqa: E402
from pythonosc.osc_message_builder import build_msg  # noqa: E402

from installation.walk.follow import MAX_CORRECTION  # noqa: E402

FPS = 30.0
FRAME_S = 1.0 / FPS
SAMPLE_S = 0.5  # /status replies: 2 a second per sender host (control/access.py)
START_WAIT_S = 180.0  # a process's start on a busy machine (torch import, the model)
TINY_SHOW = """\
models:
  tiny:
    path: tiny.safetensors
sections:
  - name: loop
    model: tiny
    duration_s: 100000
    walk:
      space: w
      path: cubic
      closed: true
      seconds_per_keyframe: 2
      keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]
"""


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    """One show process with its OSC port and a socket that asks it for /status."""

    def __init__(self, name: str, show: Path, args: list[str], log_dir: Path) -> None:
        self.name, self.show, self.args = name, show, args
        self.osc_port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.process: subprocess.Popen | None = None

    def start(self, extra: list[str] | None = None) -> None:
        command = [sys.executable, str(ROOT / "run_show.py"), str(self.show), "--headless",
                   "--size", "64x64", "--fps", str(FPS), "--batch", "1", "--threads", "1",
                   "--no-watch", "--osc-host", "127.0.0.1", "--osc-port", str(self.osc_port),
                   "--osc-allow", "loopback", "--log-file", str(self.log_path),
                   *self.args, *(extra or [])]  # fmt: skip
        env = dict(os.environ, LATENT_WALK_KERNELS="reference")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=env,
                                        cwd=ROOT)  # fmt: skip

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def status(self, timeout_s: float = 0.4) -> dict[str, object] | None:
        """One /status answer as a dict (None: no full answer in time)."""
        while True:  # drop late replies of earlier asks
            self.sock.setblocking(False)
            try:
                self.sock.recv(65535)
            except BlockingIOError:
                break
        self.sock.setblocking(True)
        self.sock.sendto(build_msg("/status", []).dgram, ("127.0.0.1", self.osc_port))
        found: dict[str, object] = {}
        deadline_s = time.monotonic() + timeout_s
        while (left_s := deadline_s - time.monotonic()) > 0:
            self.sock.settimeout(left_s)
            try:
                data = self.sock.recv(65535)
            except (TimeoutError, OSError):
                return None
            try:
                message = OscMessage(data)
            except Exception:  # a bundle or other reply: not what we asked for
                continue
            if message.address == "/status/end":
                return found
            if message.address.startswith("/status/") and message.params:
                found[message.address[len("/status/"):]] = message.params[0]
        return None


def clock_sample(status: dict[str, object] | None) -> tuple[float, float, float] | None:
    """(monotonic clock, show time, speed) of a status answer in --sync mode, or None."""
    if status is None or "sync_clock_s" not in status or "sync_show_s" not in status:
        return None
    return (float(status["sync_clock_s"]), float(status["sync_show_s"]),  # type: ignore[arg-type]
            float(status.get("speed", 1.0)))  # type: ignore[arg-type]  # fmt: skip


def offset_s(leader: tuple[float, float, float], follower: tuple[float, float, float]) -> float:
    """Leader's show time at the follower's reading minus the follower's show time."""
    clock_l, show_l, speed_l = leader
    clock_f, show_f, _ = follower
    return show_l + (clock_f - clock_l) * speed_l - show_f


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def wait_until(what: str, check, timeout_s: float) -> None:
    deadline_s = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline_s:
            raise SystemExit(f"sync benchmark: {what} did not happen within {timeout_s:.0f} s")
        time.sleep(SAMPLE_S)


def in_fresh_namespace(is_claimed: bool) -> bool:
    """True inside a network namespace whose only interface is loopback (--in-namespace)."""
    if not is_claimed:
        return False
    names = [name for _index, name in socket.if_nameindex()]
    if names != ["lo"]:
        raise SystemExit(f"sync benchmark: --link must run where only lo exists, not {names}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="locked measurement")
    parser.add_argument("--settle-s", type=float, default=5.0)
    parser.add_argument("--gap-s", type=float, default=5.0, help="leader dead this long")
    parser.add_argument("--relock-s", type=float, default=30.0)
    parser.add_argument("--show", type=Path, default=None, help="default: a tiny random model")
    parser.add_argument("--link", action="store_true",
                        help="every instance --sync link (Ableton Link), in a network namespace "
                        "of their own with only loopback (unshare -rn): the first is the "
                        "'leader' that is killed and restarted")  # fmt: skip
    parser.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.link and not in_fresh_namespace(args.in_namespace):
        # Link multicasts on every interface: run everything where only loopback exists
        return subprocess.call(["unshare", "--user", "--map-root-user", "--net",
                                sys.executable, *sys.argv, "--in-namespace"])  # fmt: skip
    if args.link:
        from tests.e2e.test_oscquery_dns_sd import loopback_up_with_multicast

        loopback_up_with_multicast()
    print(cpu_description())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        show = args.show
        if show is None:
            from tests.tiny_models import save_generator, tiny_sg3

            save_generator(tiny_sg3(), root / "tiny.safetensors")
            show = root / "show.yaml"
            show.write_text(TINY_SHOW, encoding="utf-8")
        sync_port = free_port()
        lead_args = ["--sync", "link"] if args.link else [
            "--sync", "leader", "--sync-port", str(sync_port)]  # fmt: skip
        follow_args = ["--sync", "link"] if args.link else [
            "--sync", "follow", f"127.0.0.1:{sync_port}"]  # fmt: skip
        leader = Instance("leader", show, lead_args, root)
        followers = [Instance(f"follower{k}", show, follow_args, root)
                     for k in range(args.followers)]  # fmt: skip
        everyone = [leader, *followers]
        try:
            return measure(args, leader, followers, everyone)
        finally:
            for instance in everyone:
                instance.stop()
            print(f"logs were in {root} (removed)")


def measure(args, leader: Instance, followers: list[Instance], everyone: list[Instance]) -> int:
    for instance in everyone:
        instance.start()
    wait_until("every show playing", lambda: all(clock_sample(i.status()) is not None
                                                 for i in everyone), START_WAIT_S)  # fmt: skip
    wait_until("every follower locked", lambda: all(
        (s := f.status()) is not None and s.get("sync_locked") == 1 for f in followers),
        30.0)  # fmt: skip
    time.sleep(args.settle_s)

    # 1. locked
    offsets: dict[str, list[float]] = {f.name: [] for f in followers}
    end_s = time.monotonic() + args.seconds
    while time.monotonic() < end_s:
        started_s = time.monotonic()
        lead = clock_sample(leader.status())
        for follower in followers:
            sample = clock_sample(follower.status())
            if lead is not None and sample is not None:
                offsets[follower.name].append(offset_s(lead, sample))
        time.sleep(max(0.0, SAMPLE_S - (time.monotonic() - started_s)))
    everything = [abs(o) for values in offsets.values() for o in values]
    print(f"locked, {args.seconds:g} s after {args.settle_s:g} s settling, "
          f"{len(followers)} followers, {len(everything)} samples:")
    for name, values in offsets.items():
        absolute = [abs(o) for o in values]
        print(f"  {name}: offset median {statistics.median(absolute) * 1000:.2f} ms, "
              f"p99 {percentile(absolute, 0.99) * 1000:.2f} ms, "
              f"mean {statistics.fmean(values) * 1000:+.2f} ms (n={len(values)})")
    median_ms = statistics.median(everything) * 1000
    p99_ms = percentile(everything, 0.99) * 1000
    is_locked_ok = median_ms <= FRAME_S * 1000 and p99_ms <= 2 * FRAME_S * 1000
    print(f"  all: median {median_ms:.2f} ms (bar {FRAME_S * 1000:.1f}), p99 {p99_ms:.2f} ms "
          f"(bar {2 * FRAME_S * 1000:.1f}): {'PASS' if is_locked_ok else 'FAIL'}")

    # 2. the leader killed: the followers play on
    last_lead = clock_sample(leader.status())
    leader.kill()
    before = {f.name: clock_sample(f.status()) for f in followers}
    time.sleep(args.gap_s)
    after = {f.name: clock_sample(f.status()) for f in followers}
    is_alone_ok = True
    for follower in followers:
        one, two = before[follower.name], after[follower.name]
        if one is None or two is None:
            print(f"  {follower.name}: no status while the leader was gone")
            is_alone_ok = False
            continue
        rate = (two[1] - one[1]) / (two[0] - one[0])
        is_alone_ok &= abs(rate - 1.0) < 0.01
        print(f"leader killed: {follower.name} played on at {rate:.4f}x for "
              f"{two[0] - one[0]:.1f} s")
    print(f"  followers keep playing: {'PASS' if is_alone_ok else 'FAIL'}")

    # 3. the leader restarted where it would be (as --supervise does)
    assert last_lead is not None
    now_clock_s = time.perf_counter()  # the same monotonic clock as sync_clock_s
    start_s = last_lead[1] + (now_clock_s - last_lead[0]) * last_lead[2]
    leader.start(["--start", f"{start_s:.3f}", "--epoch-of-start", f"{time.time():.3f}"])
    restarted_s = time.monotonic()
    previous = {f.name: clock_sample(f.status()) for f in followers}
    worst_step = 0.0
    relocked_after: dict[str, float] = {}
    first_offsets: dict[str, float] = {}
    while time.monotonic() - restarted_s < args.relock_s + START_WAIT_S:
        time.sleep(SAMPLE_S)
        lead = clock_sample(leader.status())
        for follower in followers:
            sample = clock_sample(follower.status())
            one = previous[follower.name]
            if sample is not None and one is not None and sample[0] > one[0] + 0.1:
                step = (sample[1] - one[1]) / (sample[0] - one[0]) - 1.0
                worst_step = max(worst_step, abs(step))
            previous[follower.name] = sample or one
            if lead is None or sample is None:
                continue
            off = offset_s(lead, sample)
            first_offsets.setdefault(follower.name, off)
            if abs(off) <= FRAME_S and follower.name not in relocked_after:
                relocked_after[follower.name] = time.monotonic() - restarted_s
        if len(relocked_after) == len(followers) or (
            first_offsets and time.monotonic() - restarted_s > args.relock_s
            and len(first_offsets) == len(followers)
        ):  # fmt: skip
            break
    for follower in followers:
        print(f"leader restarted: {follower.name} first offset "
              f"{first_offsets.get(follower.name, math.nan) * 1000:+.1f} ms, within a frame "
              f"after {relocked_after.get(follower.name, math.nan):.1f} s of the restart "
              "(the leader's start included)")
    is_relock_ok = len(relocked_after) == len(followers) and worst_step <= MAX_CORRECTION + 0.01
    print(f"  largest step from 1x while re-locking: {worst_step * 100:.2f} % (slew limit "
          f"{MAX_CORRECTION * 100:g} %): {'PASS' if is_relock_ok else 'FAIL'}")
    return 0 if is_locked_ok and is_alone_ok and is_relock_ok else 1


if __name__ == "__main__":
    sys.exit(main())
