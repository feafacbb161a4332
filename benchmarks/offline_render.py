"""Offline render of the demo show: as the show asks vs `--preview`, and a storyboard.

Each render is `latent-walk render shows/demo.yaml --out FILE.mp4 --frames N` in its own
process (what a user runs), once as the show asks (exact precision, the show's output.size_px,
x264 medium) and once with --preview (fast precision, the model's own size, x264 veryfast),
interleaved over --repeats so drift in the machine's load hits both alike. From each run's
--stats-json it prints seconds per frame (median over the repeats), the estimate printed after
the first frames against the time taken, and what a whole pass of the show would take; then
one `latent-walk storyboard --every 10` of the whole show, timed, all from one run.

    python benchmarks/offline_render.py                 # 240 frames x 2 modes x 2 repeats
    python benchmarks/offline_render.py --frames 120 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_description

ROOT = Path(__file__).resolve().parent.parent
DEMO_SHOW = ROOT / "shows" / "demo.yaml"
MODES = {"as the show asks": [], "--preview": ["--preview"]}


def render(extra: list[str], frames: int, workdir: Path) -> dict:
    """One `latent-walk render` of the demo show in its own process; its --stats-json."""
    stats_path = workdir / "stats.json"
    stats_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "installation", "render", str(DEMO_SHOW), "--out",
               str(workdir / "render.mp4"), "--frames", str(frames), "--stats-json",
               str(stats_path), *extra]  # fmt: skip
    started_s = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"render failed ({result.returncode}): {result.stderr[-2000:]}")
    stats = json.loads(stats_path.read_text())
    stats["process_s"] = time.perf_counter() - started_s
    return stats


def show_pass_frames() -> float:
    """Frames in one pass of the demo show at its output fps."""
    from installation.show.load import load_show

    show = load_show(DEMO_SHOW)
    return show.total_s() * (show.settings.output.fps or 30.0)


def main() -> int:
    """Run the renders and the storyboard; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=240, help="frames per render (default 240)")
    parser.add_argument("--repeats", type=int, default=2, help="renders per mode (default 2)")
    args = parser.parse_args()
    pass_frames = show_pass_frames()
    print(f"machine: {cpu_description()}; load average before: {os.getloadavg()[0]:.1f}")
    print(f"demo show: {DEMO_SHOW.name}, one pass = {pass_frames:.0f} frames; {args.frames} "
          f"frames per render, {args.repeats} repeats, modes interleaved\n")  # fmt: skip
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for mode, extra in MODES.items():
                runs[mode].append(render(extra, args.frames, Path(tmp)))
        rows = []
        for mode, stats in runs.items():
            per_frame = statistics.median(s["elapsed_s"] / s["frames_written"] for s in stats)
            estimated = [s["estimated_s"] / s["elapsed_s"] for s in stats if s["estimated_s"]]
            size = "x".join(map(str, stats[0]["size"]))
            rows.append((mode, stats[0]["precision"], size, per_frame, estimated))
        print("| mode | precision | size | s/frame (median) | estimate / actual | one show pass |")
        print("|---|---|---|---:|---:|---:|")
        for mode, precision, size, per_frame, estimated in rows:
            ratio = ", ".join(f"{r:.2f}" for r in estimated) or "(no estimate: too short)"
            whole_min = per_frame * pass_frames / 60
            print(f"| {mode} | {precision} | {size} | {per_frame:.3f} | {ratio} | "
                  f"{whole_min:.1f} min |")  # fmt: skip
        print(f"\npreview is {rows[0][3] / rows[1][3]:.1f}x faster per frame")
        sheet = Path(tmp) / "storyboard.png"
        started_s = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "installation", "storyboard", str(DEMO_SHOW), "--every", "10",
             "--out", str(sheet)],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"storyboard failed: {result.stderr[-2000:]}")
        print(f"storyboard --every 10: {result.stdout.strip()}; "
              f"process {time.perf_counter() - started_s:.1f} s in all")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
