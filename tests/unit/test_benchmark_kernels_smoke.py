"""benchmarks/kernels.py runs end to end on CPU in quick mode and writes the tables it promises.

The GPU modes can't run here; this runs the same code paths (op-call recording and replay per
backend, generator rows, the results file) on tiny networks, in about 7 s on 2 cores.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "kernels.py"


def _rows(text: str, first_cell: str) -> list[list[str]]:
    """Markdown table rows whose first cell starts with first_cell, as lists of cells."""
    rows = []
    for line in text.splitlines():
        if line.startswith(f"| {first_cell}"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_quick_cpu_run_prints_and_appends_the_expected_tables(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# existing header\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--append-results",
         "--results-file", str(results)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    ops, generators = proc.stdout.split("### generators")

    # ops summary: one row per (net, precision, op), torch and reference timed, no cuda column
    summary = [r for r in _rows(ops, "sg") if len(r) == 7]
    keys = {(r[0], r[1], r[2]) for r in summary}
    expected = {("sg2-32", p, op) for p in ("exact", "fast") for op in ("bias_act", "upfirdn2d")}
    expected |= {
        (f"{n}-16", p, "filtered_lrelu") for n in ("sg3t", "sg3r") for p in ("exact", "fast")
    }
    assert keys == expected
    for r in summary:
        assert int(r[3]) > 0 and float(r[4]) > 0 and float(r[5]) > 0, r
    assert "cuda ms" not in ops  # no cuda backend column on a CPU run
    # SG3 has one filtered_lrelu call per layer (15 at any resolution)
    assert all(int(r[3]) == 15 for r in summary if r[2] == "filtered_lrelu")

    # generators: 3 nets x batch 1, 2 x exact, fast x graphs no, yes
    gens = _rows(generators, "sg")
    assert len(gens) == 24
    for row in gens:
        batch, graph, backend, ms, fps, note = row[2], *row[4:]
        assert backend == "torch"
        if graph == "no":
            # ms is printed to 3 decimals (error <= 0.0005 ms), fps to 2: allow both roundings
            expected_fps = int(batch) / float(ms) * 1e3
            assert float(ms) > 0
            assert abs(float(fps) - expected_fps) <= expected_fps * 0.0005 / float(ms) + 0.006
        else:
            assert ms == "n/a" and note == "no CUDA graphs on CPU"

    appended = results.read_text()
    assert appended.startswith("# existing header\n")
    assert re.search(r"^## \d{4}-\d\d-\d\d \d\d:\d\d UTC · .* · torch ", appended, re.M)
    assert "### ops" in appended and "### generators" in appended
    assert "`python benchmarks/kernels.py --device cpu --quick" in appended


def _load(monkeypatch):
    """benchmarks/kernels.py as a module."""
    spec = importlib.util.spec_from_file_location("bench_kernels", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_kernels", bench)  # dataclasses look the module up
    spec.loader.exec_module(bench)
    return bench


def test_frame_totals_propagate_an_unavailable_backend(monkeypatch):
    bench = _load(monkeypatch)
    meta = bench.TensorMeta((1, 4, 8, 8), None, False)
    call = bench.OpCall("sg2-256", "exact", "bias_act", (("x", meta),), {}, count=3)
    ok = bench.OpResult(call, {"cuda": 1.0, "torch": 2.0}, 1e-7)
    failed = bench.OpResult(call, {"cuda": None, "torch": 4.0}, None, "cuda: RuntimeError")
    totals = bench._frame_totals([ok], ["cuda", "torch"])
    assert totals[("sg2-256", "exact", "bias_act")] == (3, {"cuda": 3.0, "torch": 6.0})
    totals = bench._frame_totals([ok, failed], ["cuda", "torch"])
    assert totals[("sg2-256", "exact", "bias_act")] == (6, {"cuda": None, "torch": 18.0})
    table = bench.ops_tables([ok], ["cuda", "torch"])
    assert "| sg2-256 | exact | bias_act | 3 | 3.000 | 6.000 | 2.00x |" in table


def test_a_network_in_its_own_subprocess_returns_its_rows(monkeypatch):
    """The CUDA path runs each network in a subprocess; the same code on CPU, one tiny net."""
    bench = _load(monkeypatch)
    args = bench.parse_args(["--device", "cpu", "--quick", "--batches", "1"])
    rows = bench.generator_rows_isolated("sg3t", 16, args)
    assert [(r["precision"], r["graphs"]) for r in rows] == [
        ("exact", False), ("exact", True), ("fast", False), ("fast", True)
    ]  # fmt: skip
    assert all(r["net"] == "sg3t" and r["res"] == 16 and r["batch"] == 1 for r in rows)
    assert rows[0]["ms"] > 0 and rows[1]["note"] == "no CUDA graphs on CPU"

    args = bench.parse_args(["--device", "cpu", "--quick", "--batches", "1", "--budget-s", "0"])
    rows = bench.run_generators(args)
    assert [r["note"] for r in rows] == ["skipped: past --budget-s 0"] * 3
