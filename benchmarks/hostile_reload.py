"""Does a hostile save freeze the picture? The demo show headless, quiet vs. hostile saves.

Plays a copy of shows/demo.yaml with `run_show.py --headless` twice for --seconds each: once
untouched, once while a writer saves a hostile file over it every --every seconds (an alias
bomb, 1 MiB of flat values, deep nesting, a 2 MiB file, a junk model, a .npy announcing 4 TiB,
a valid show that the reload must build and swap in). Prints, side by side from the runs'
--stats-json: frames shown, generated frames/s, the longest gap between newly shown frames, and
how many reloads were rejected and taken (from the log).

    .venv/bin/python benchmarks/hostile_reload.py --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_SHOW = ROOT / "shows" / "demo.yaml"
DEMO_MODEL = "../assets/demo/demo-sg3.safetensors"


def npy_header(shape: tuple[int, ...]) -> bytes:
    """A .npy v1.0 header announcing `shape` of float32 (no data follows)."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def hostile_files(folder: Path, good: str) -> list[bytes]:
    """The saves, in order; the last one is a valid show (built and swapped in)."""
    (folder / "junk.safetensors").write_bytes(b"\xff" * 64)
    (folder / "huge.npy").write_bytes(npy_header((1 << 40,)))
    lol = ["l0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
    lol += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    return [
        "\n".join(lol).encode(),
        b"x: [" + b",".join([b"1"] * 49_000) + b"]\n",
        b"x: " + b"[" * 100_000,
        b"# " + b"x" * (2 << 20),
        good.replace(DEMO_MODEL, "junk.safetensors").encode(),
        good.replace("seed: 11\n", "w: huge.npy\n", 1).encode(),
        good.replace("name: ", "name: re_", 1).encode(),
    ]


def play(root: Path, seconds: float, every_s: float | None) -> dict:
    """One headless run; with `every_s`, the hostile saves. Its stats and log counts."""
    folder = root / "shows"  # a copy of shows/ (its latents and directions) beside ../assets
    if not folder.exists():
        shutil.copytree(DEMO_SHOW.parent, folder)
        (root / "assets").symlink_to(ROOT / "assets")
    show = folder / "bench.yaml"
    good = DEMO_SHOW.read_text()
    show.write_text(good)
    stats = root / f"stats-{every_s}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "run_show.py"), str(show), "--headless", "--duration",
         str(seconds), "--stats-json", str(stats)],
        stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(child.stderr or []), daemon=True)
    reader.start()
    if every_s is not None:
        while not any("show started" in line for line in log) and child.poll() is None:
            time.sleep(0.1)
        for data in hostile_files(folder, good):
            time.sleep(every_s)
            if child.poll() is not None:
                break
            show.write_bytes(data)
    child.wait()
    reader.join(5.0)
    result = json.loads(stats.read_text()) if stats.exists() else {}
    result["rejected"] = sum("show reload failed" in line for line in log)
    result["taken"] = sum("show reloaded" in line for line in log)
    result["exit"] = child.returncode
    return result


def main() -> None:
    """Print the two runs side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="show time of each run")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between saves")
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    print(f"# {cpu}; {os.cpu_count()} CPUs; demo show headless, {args.seconds:g} s per run, "
          f"a save every {args.every:g} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "quiet": play(Path(tmp), args.seconds, None),
            "hostile saves": play(Path(tmp), args.seconds, args.every),
        }
    keys = [("frames_shown", "frames shown"), ("generated_fps", "generated fps"),
            ("longest_frame_gap_s", "longest gap s"), ("rejected", "reloads rejected"),
            ("taken", "reloads taken"), ("exit", "exit status")]  # fmt: skip
    print(f"{'':18s}" + "".join(f"{name:>16s}" for name in runs))
    for key, label in keys:
        cells = [run.get(key, "-") for run in runs.values()]
        text = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in cells]
        print(f"{label:18s}" + "".join(f"{t:>16s}" for t in text))


if __name__ == "__main__":
    main()
