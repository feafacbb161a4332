"""Render farm speed-up: one show rendered by one process vs `--farm ray` on a local cluster.

Both are `latent-walk render SHOW --out DIR/` in their own process (what a user runs): once as
the single-process render (torch on all CPUs), once with `--farm ray --chunk-frames N` (a local
Ray cluster with one task per CPU, torch on one thread each; the cluster's start is counted).
It checks that the two sets of PNGs are byte-identical and prints wall time, frames per second
and the speed-up. The default show is the demo show; on a GPU machine the farm gives one chunk
per GPU, so run it where the GPUs are.

    python benchmarks/farm.py                          # the demo show, 240 frames, chunks of 60
    python benchmarks/farm.py --frames 480 --chunk-frames 60 --show shows/demo.yaml
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_description

ROOT = Path(__file__).resolve().parent.parent


def render(show: Path, out: Path, frames: int, extra: list[str], env: dict[str, str]) -> float:
    """One `latent-walk render` in its own process; its wall time in seconds."""
    command = [sys.executable, "-m", "installation", "render", str(show), "--out", f"{out}/",
               "--frames", str(frames), *extra]  # fmt: skip
    started_s = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"render failed ({result.returncode}): {result.stderr[-2000:]}")
    return time.perf_counter() - started_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=Path, default=ROOT / "shows" / "demo.yaml")
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--chunk-frames", type=int, default=60)
    parser.add_argument("--size", default=None, help="WxH (default: the show's)")
    args = parser.parse_args()
    print(cpu_description())
    extra = ["--size", args.size] if args.size else []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory(prefix="farm-bench-") as tmp:
        single_dir, farm_dir = Path(tmp) / "single", Path(tmp) / "farm"
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")  # both start without perceptual tables
        single_s = render(args.show, single_dir, args.frames, extra, env)
        farm_s = render(args.show, farm_dir, args.frames,
                        [*extra, "--farm", "ray", "--chunk-frames", str(args.chunk_frames)],
                        env)  # fmt: skip
        names = sorted(p.name for p in single_dir.glob("frame_*.png"))
        same = names == sorted(p.name for p in farm_dir.glob("frame_*.png")) and all(
            (single_dir / n).read_bytes() == (farm_dir / n).read_bytes() for n in names
        )
        resume_s = render(args.show, farm_dir, args.frames,
                          [*extra, "--farm", "ray", "--chunk-frames", str(args.chunk_frames)],
                          env)  # fmt: skip
    chunks = -(-args.frames // args.chunk_frames)
    print(f"{args.show.name}: {args.frames} frames, about {chunks} chunks of {args.chunk_frames}")
    print(f"one process        {single_s:7.1f} s  {args.frames / single_s:6.2f} frames/s")
    print(f"--farm ray (local) {farm_s:7.1f} s  {args.frames / farm_s:6.2f} frames/s  "
          f"speed-up {single_s / farm_s:.2f}x (cluster start included)")  # fmt: skip
    print(f"re-run, all chunks complete {resume_s:.1f} s")
    print(f"frames byte-identical: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
