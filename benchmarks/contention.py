"""A busy PC: the demo show headless while 0, 1 and 2 other processes burn the CPU.

For each number of burners (pure-Python busy loops, one core each) the demo show plays headless
(`run_show.py --headless --duration S`, its own process) once with the app's thread policy (the
default: OpenMP's idle threads sleep, installation/threads.py) and once with torch's own policy
(`LATENT_WALK_THREAD_POLICY=torch`, the behaviour before it: idle threads spin). From each run's
--stats-json it prints generated frames/s, shown frames/s and the longest wait for a new frame,
all rows from one run of this script, the two policies interleaved so drift in the machine's
load hits both alike.

Where the burners run matters on Linux, whose scheduler shares the CPU between sessions (CFS
autogroup, on by default on desktops: /proc/sys/kernel/sched_autogroup_enabled) and between
systemd cgroups before it shares it between threads. `--burner-session own` (the default) runs
the burners as one other program in its own session, as an update, a virus scan or a second
program is; `--burner-session shared` runs them as children of this script, in the show's own
session, where they compete thread by thread with the show's threads (the harder case).

Bar (issue 14): with 2 burners, the default policy keeps generated frames/s >= 50 % of its
quiet figure and the longest frame gap <= 0.5 s. Other load on the machine (not ours) makes the
"quiet" rows less quiet; the load average before each run is printed beside it.

    python benchmarks/contention.py                  # 30 s per run, 6 runs: about 5 minutes
    python benchmarks/contention.py --seconds 15 --burners 0,2 --repeats 3
    python benchmarks/contention.py --policies "default,1 thread,torch (old)"
    python benchmarks/contention.py --burner-session shared   # burners in the show's session
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import cpu_description  # noqa: E402 (benchmarks/machine.py, beside this script)

ROOT = Path(__file__).resolve().parent.parent
DEMO_SHOW = ROOT / "shows" / "demo.yaml"
BURNER_CODE = "while True:\n    pass\n"
# variables that would decide the policy for the child instead of the configuration under test
POLICY_VARIABLES = (
    "OMP_WAIT_POLICY", "KMP_BLOCKTIME", "GOMP_SPINCOUNT", "OMP_NUM_THREADS",
    "LATENT_WALK_THREADS", "LATENT_WALK_THREAD_POLICY",
)  # fmt: skip
POLICIES = {
    "default": {},  # what run_show.py chooses by itself
    "torch (old)": {"LATENT_WALK_THREAD_POLICY": "torch"},  # spinning OpenMP threads
    "1 thread": {"LATENT_WALK_THREADS": "1"},  # the default wait policy, one torch thread
}
DEFAULT_POLICIES = "default,torch (old)"
BAR_FPS_SHARE = 0.5
BAR_GAP_S = 0.5


BURNER_SESSIONS = ("own", "shared")
# one other program in a session of its own: it starts `count` busy processes and waits
PROGRAM_CODE = (
    "import subprocess, sys\n"
    "code = {burner!r}\n"
    "children = [subprocess.Popen([sys.executable, '-c', code]) for _ in range({count})]\n"
    "for child in children:\n"
    "    child.wait()\n"
)


def start_burners(count: int, session: str = "own") -> list[subprocess.Popen]:
    """`count` processes that each keep one core busy until killed.

    session "own": one other program, in its own session (and so its own scheduler autogroup),
    running them; "shared": children of this script, in the show's session.
    """
    if count == 0:
        return []
    if session == "own":
        code = PROGRAM_CODE.format(burner=BURNER_CODE, count=count)
        return [subprocess.Popen([sys.executable, "-c", code], start_new_session=True)]
    return [subprocess.Popen([sys.executable, "-c", BURNER_CODE]) for _ in range(count)]


def stop_burners(burners: list[subprocess.Popen]) -> None:
    """Kill the burner processes this script started (with their process group, if their own)."""
    for burner in burners:
        if os.getpgid(burner.pid) == burner.pid:  # a session leader: its busy children too
            os.killpg(burner.pid, signal.SIGKILL)
        else:
            burner.kill()
    for burner in burners:
        burner.wait()


def play(policy_env: dict[str, str], seconds: float, size: str, workdir: Path) -> dict:
    """One headless run of the demo show; its --stats-json plus the exit status."""
    stats_path = workdir / "stats.json"
    stats_path.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in POLICY_VARIABLES} | policy_env
    command = [
        sys.executable, str(ROOT / "run_show.py"), str(DEMO_SHOW), "--headless", "--size", size,
        "--duration", str(seconds), "--no-watch", "--stats-json", str(stats_path),
        "--log-level", "WARNING",
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True,
                            timeout=seconds * 4 + 300)  # fmt: skip
    if result.returncode != 0 or not stats_path.exists():
        lines = result.stderr.strip().splitlines() or ["no output"]
        # the table shows the last line; --json keeps a few more for the cause
        return {"failed": f"exit {result.returncode}: {lines[-1]}", "stderr_tail": lines[-8:]}
    return json.loads(stats_path.read_text())


def measure(
    burner_counts: list[int], policies: list[str], seconds: float, size: str, repeats: int,
    session: str = "own",
) -> list[dict]:
    """Every (burners, policy) run, policies interleaved within each burner count.

    A short unrecorded run first fills the caches a first start pays for (shaders, kernels), so
    the first row is not penalised. With repeats, each row is the run with the median
    generated frames/s, and its longest gap the longest of all its runs.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        play(POLICIES["default"], 2.0, size, Path(tmp))  # warm-up
        for count in burner_counts:
            burners = start_burners(count, session)
            try:
                runs: dict[str, list[dict]] = {policy: [] for policy in policies}
                for _ in range(repeats):
                    for policy in policies:
                        load = os.getloadavg()[0]
                        stats = play(POLICIES[policy], seconds, size, Path(tmp))
                        runs[policy].append({"load_before": load, **stats})
                        print(f"measured {count} burner(s), {policy}", file=sys.stderr)
                rows += [{"burners": count, "policy": policy, **summary(runs[policy])}
                         for policy in policies]  # fmt: skip
            finally:
                stop_burners(burners)
    return rows


def summary(runs: list[dict]) -> dict:
    """The median run by generated frames/s, with the longest gap of all runs (or a failure)."""
    good = sorted((r for r in runs if "failed" not in r), key=lambda r: r["generated_fps"])
    if not good:
        return runs[0]
    median = dict(good[len(good) // 2])
    median["longest_frame_gap_s"] = max(r["longest_frame_gap_s"] for r in good)
    median["runs"] = len(good)
    return median


def verdict(rows: list[dict]) -> str:
    """The bar for the default policy: most burners vs none."""
    default = {r["burners"]: r for r in rows if r["policy"] == "default" and "failed" not in r}
    if 0 not in default or len(default) < 2:
        return "bar: not measured (needs runs with 0 and with burners)"
    most = max(default)
    quiet, busy = default[0], default[most]
    share = busy["generated_fps"] / max(quiet["generated_fps"], 1e-9)
    gap = busy["longest_frame_gap_s"]
    holds = share >= BAR_FPS_SHARE and gap <= BAR_GAP_S
    return (
        f"bar ({most} burners, default policy): generated fps {share:.0%} of quiet "
        f"(>= {BAR_FPS_SHARE:.0%}), longest gap {gap:.2f} s (<= {BAR_GAP_S:g} s): "
        f"{'holds' if holds else 'FAILS'}"
    )


def print_table(rows: list[dict], seconds: float, size: str, session: str = "own") -> None:
    """One markdown table, every row from this run, plus the bar's verdict."""
    quiet = {r["policy"]: r.get("generated_fps") for r in rows if r["burners"] == 0}
    print(f"\n{cpu_description()}; Python {platform.python_version()}")
    where = {"own": "one other program in its own session", "shared": "in the show's session"}
    print(f"demo show headless {size}, {seconds:g} s show time per run, fast precision; "
          f"burners: {where[session]}\n")  # fmt: skip
    print("| burners | policy | load avg before | generated fps | vs quiet | shown fps "
          "| longest gap s | gen ms median | gen ms p95 |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "failed" in r:
            print(f"| {r['burners']} | {r['policy']} | {r['load_before']:.2f} | {r['failed']} "
                  "| | | | | |")  # fmt: skip
            continue
        base = quiet.get(r["policy"])
        share = f"{r['generated_fps'] / base:.0%}" if base else "–"
        print(
            f"| {r['burners']} | {r['policy']} | {r['load_before']:.2f} | "
            f"{r['generated_fps']:.1f} | {share} | {r['shown_fps']:.1f} | "
            f"{r['longest_frame_gap_s']:.2f} | {r['gen_ms_median']:.0f} | {r['gen_ms_p95']:.0f} |"
        )
    print(f"\n{verdict(rows)}")


def main() -> None:
    """Measure and print the table (and optionally write the rows as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="show time per run")
    parser.add_argument("--burners", default="0,1,2", help="burner counts, e.g. 0,2")
    parser.add_argument("--size", default="1280x720", help="offscreen display target")
    parser.add_argument("--policies", default=DEFAULT_POLICIES,
                        help=f"comma-separated, of: {', '.join(POLICIES)}")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=1, help="runs per row (median)")
    parser.add_argument("--burner-session", choices=BURNER_SESSIONS, default="own",
                        help="own: the burners are one other program in its own session (an "
                        "update, a scan); shared: children of this script, in the show's "
                        "session (default: own)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    burner_counts = [int(v) for v in args.burners.split(",")]
    policies = [name.strip() for name in args.policies.split(",")]
    unknown = [name for name in policies if name not in POLICIES]
    if unknown:
        parser.error(f"--policies: unknown {', '.join(unknown)}; expected {', '.join(POLICIES)}")
    rows = measure(burner_counts, policies, args.seconds, args.size, max(1, args.repeats),
                   args.burner_session)  # fmt: skip
    print_table(rows, args.seconds, args.size, args.burner_session)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
