"""Hostile model files against the bar of issue 13: each file up to 10 MB is loaded or refused
within 5 s, with a peak RSS within 2 x its bytes + 200 MB.

Builds the corpus of tests/hostile_models.py (plus real files of the same sizes), loads each in
its own forked process, and prints wall and CPU seconds and the peak RSS above the process's
start, slowest first, then the worst figures against the bar.

    .venv/bin/python benchmarks/hostile_models.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hostile_models as hm  # noqa: E402
from machine import cpu_description  # noqa: E402 (benchmarks/machine.py, beside this script)

import golden_pickles as gp  # noqa: E402

BAR_SECONDS = 5.0


def main() -> None:
    """Build, probe, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the per-file figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = hm.build_corpus(d)
        files["real_sg3t_snapshot"] = gp.build_torch_pickle("sg3t_32", d / "real_sg3t.pkl")
        files["real_tf_tuple"] = gp.build_tf_pickle(d / "real_tf.pkl")
        files["real_checkpoint"] = ROOT / "assets" / "demo" / "demo-sg3.safetensors"
        results = hm.probe(list(files.values()))
    print(f"hostile model files: {len(files) - 3} hostile + 3 real, one forked process each")
    print(f"machine: {cpu_description()}")
    print(hm.format_table(results))
    real = {str(files[name]) for name in files if name.startswith("real_")}
    hostile = [r for r in results if r["path"] not in real]
    bad = [r for r in hostile if r["outcome"] != "refused"]
    worst_wall = max(results, key=lambda r: r["seconds"])
    worst_cpu = max(results, key=lambda r: r["cpu_seconds"])
    worst_rss = max(results, key=lambda r: r["peak_rss_mb"] / hm.bar_mb(r["bytes"]))
    print(
        f"\nworst wall time: {worst_wall['seconds']:.2f} s ({Path(worst_wall['path']).name}); "
        f"worst CPU time: {worst_cpu['cpu_seconds']:.2f} s ({Path(worst_cpu['path']).name}); "
        f"bar {BAR_SECONDS:.0f} s"
    )
    print(
        f"worst peak RSS against its bar: {worst_rss['peak_rss_mb']:.1f} MB of "
        f"{hm.bar_mb(worst_rss['bytes']):.0f} MB ({Path(worst_rss['path']).name})"
    )
    print(f"hostile files not refused: {len(bad)}" + "".join(f"\n  {r}" for r in bad))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
