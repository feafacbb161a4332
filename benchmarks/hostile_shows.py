"""Worst cases for `latent-walk validate`: seconds and peak memory per hostile show file.

Each case is written to a temporary folder and checked in a fresh process (`validate_text` via
`load_show`), so its peak RSS is its own; the baseline is a process that only imports the loader.
The bar (issue 13): every case ends within 10 s and 1 GB, with one ShowError or a valid show.

    .venv/bin/python benchmarks/hostile_shows.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from machine import cpu_description  # benchmarks/machine.py

REPO = Path(__file__).resolve().parents[1]
HEAD = "models:\n  m: {path: m.pkl}\nsections:\n"
WALK = "walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}"
CHILD = """
import sys, time
from installation.errors import ShowError
from installation.show.load import load_show
if sys.argv[1] != "-":
    started = time.perf_counter()
    try:
        load_show(sys.argv[1]); result = "valid"
    except ShowError as err:
        lines = str(err).splitlines(); result = f"{len(lines)} error(s): {lines[0][-90:]}"
    print(f"{time.perf_counter() - started:.3f}\\t{result}")
"""


def npy_header(shape: tuple[int, ...]) -> bytes:
    """A .npy v1.0 header announcing `shape` of float32."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def bomb() -> str:
    """Billion laughs: 9 levels of 10 aliases."""
    lines = ["l0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def keyframe_show(kind: str, file: str) -> str:
    """A show whose first keyframe is `kind: file`."""
    return HEAD + f"  - {{name: a, model: m, duration_s: 1, walk: {{path: linear, keyframes: " \
                  f"[{{{kind}: {file}}}, {{seed: 1}}]}}}}\n"  # fmt: skip


def zip_bomb(folder: Path) -> str:
    """A .npz whose 'w' is 200 MiB of zeros (a few hundred KB on disk)."""
    with zipfile.ZipFile(folder / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("w.npy", "w", force_zip64=True) as member:
            member.write(npy_header((200 * 2**20 // 4,)))
            for _ in range(200):
                member.write(bytes(2**20))
    return keyframe_show("projected", "bomb.npz")


def many_directions(folder: Path) -> str:
    """4 000 directions naming one .npz with 4 096 entries (headers read once per file)."""
    import numpy as np

    np.savez(folder / "dirs.npz", directions=np.zeros((4096, 8), np.float32),
             names=np.array([f"d{i}" for i in range(4096)]), std=np.ones(4096))  # fmt: skip
    items = ", ".join(f"{{file: dirs.npz, name: d{i}}}" for i in range(4000))
    return HEAD + f"  - {{name: a, model: m, duration_s: 1, {WALK}, directions: [{items}]}}\n"


def distinct_npz(folder: Path, count: int, name_chars: int) -> str:
    """`count` directions, each naming its own .npz of 256 names of `name_chars` characters."""
    import numpy as np

    names = np.array([f"{i:0{name_chars}d}" for i in range(256)])  # 1024 chars: 1 MiB
    first = folder / f"n{name_chars}_0.npz"
    np.savez_compressed(first, directions=np.zeros((256, 8), np.float32), names=names)
    for i in range(1, count):
        os.link(first, folder / f"n{name_chars}_{i}.npz")
    items = ", ".join(f"{{file: n{name_chars}_{i}.npz, index: 0}}" for i in range(count))
    return HEAD + f"  - {{name: a, model: m, duration_s: 1, {WALK}, directions: [{items}]}}\n"


CASES: dict[str, Callable[[Path], str | bytes]] = {
    "alias bomb (9 x 10)": lambda f: bomb(),
    "alias loop": lambda f: "models: &a {m: *a}\n",
    "flow nesting 1 MiB": lambda f: "x: " + "[" * (2**20 - 8),
    "block nesting 200": lambda f: "x:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(200)),
    "100k-item list": lambda f: "x: [" + ",".join(["1"] * 100_000) + "]\n",
    "1 MiB scalar": lambda f: "x: " + "a" * (2**20 - 8) + "\n",
    "1 MiB comment": lambda f: "#" + "x" * (2**20 - 4) + "\n",
    "file of 2 MiB": lambda f: "#" + "x" * (2 << 20),
    "5000-digit int": lambda f: HEAD + f"  - {{name: a, model: m, duration_s: {'9' * 5000}}}\n",
    "sexagesimal 1 MiB": lambda f: "x: 1" + ":11" * 340_000 + "\n",
    "3000 sections of errors": lambda f: HEAD + "".join(
        f"  - {{name: s{i}, model: m, bad{i}: 1}}\n" for i in range(3000)),
    "16 x 1000 keyframes (valid)": lambda f: HEAD + "".join(
        f"  - {{name: s{j}, model: m, duration_s: 1, walk: {{path: linear, keyframes: ["
        + ", ".join(f"{{seed: {i}}}" for i in range(1000)) + "]}}\n" for j in range(16)),
    "4000 directions (valid)": many_directions,
    "2000 .npz files, 1 MiB names": lambda f: distinct_npz(f, 2000, 1024),
    "8000 .npz files": lambda f: distinct_npz(f, 8000, 4),
    ".npy announcing 4 TiB": lambda f: (f / "huge.npy").write_bytes(npy_header((1 << 40,)))
    and keyframe_show("w", "huge.npy"),
    ".npz zip bomb 200 MiB": zip_bomb,
}  # fmt: skip


def run_case(path: str) -> tuple[float, float, str]:
    """(seconds inside the child, its peak RSS in MB, its one-line result)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE,
                             text=True, env=env, cwd=REPO)  # fmt: skip
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds, _, result = out.strip().partition("\t")
    return float(seconds or "nan"), usage.ru_maxrss / 1024, result or f"exit {child.returncode}"


def main() -> None:
    """Print one line per case: median seconds, peak RSS (and above the baseline), result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median)")
    args = parser.parse_args()
    print(f"# {cpu_description()}; python {platform.python_version()}")
    base_mb = statistics.median(run_case("-")[1] for _ in range(args.repeat))
    print(f"# baseline (imports only): peak RSS {base_mb:.0f} MB; bar: <= 10 s and <= 1 GB")
    print(f"{'case':30s} {'median s':>9s} {'max s':>7s} {'peak MB':>8s} {'+MB':>6s}  result")
    worst_s, worst_mb = 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "m.pkl").write_bytes(b"")
        for index, (name, make) in enumerate(CASES.items()):
            content = make(folder)
            path = folder / f"case{index}.yaml"
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            runs = [run_case(str(path)) for _ in range(args.repeat)]
            seconds = [r[0] for r in runs]
            peak_mb = max(r[1] for r in runs)
            worst_s, worst_mb = max(worst_s, max(seconds)), max(worst_mb, peak_mb)
            print(f"{name:30s} {statistics.median(seconds):9.3f} {max(seconds):7.3f} "
                  f"{peak_mb:8.0f} {peak_mb - base_mb:6.0f}  {runs[0][2]}", flush=True)  # fmt: skip
    print(
        f"# worst: {worst_s:.2f} s, peak RSS {worst_mb:.0f} MB "
        f"({'within' if worst_s <= 10 and worst_mb <= 1024 else 'OVER'} the bar)"
    )


if __name__ == "__main__":
    main()
