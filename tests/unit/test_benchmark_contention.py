"""benchmarks/contention.py's arithmetic: the median row, the bar's verdict, failed runs kept."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import contention  # noqa: E402


def row(burners: int, fps: float, gap: float, policy: str = "default") -> dict:
    return {"burners": burners, "policy": policy, "load_before": 0.5, "generated_fps": fps,
            "shown_fps": fps, "longest_frame_gap_s": gap, "gen_ms_median": 40.0,
            "gen_ms_p95": 60.0}  # fmt: skip


def test_summary_takes_the_median_run_and_the_longest_gap() -> None:
    runs = [row(2, 9.0, 0.2), row(2, 3.0, 0.9), row(2, 12.0, 0.1)]
    best = contention.summary(runs)
    assert best["generated_fps"] == 9.0 and best["longest_frame_gap_s"] == 0.9
    assert best["runs"] == 3


def test_summary_of_failures_keeps_the_reason() -> None:
    assert contention.summary([{"failed": "exit 1: boom"}]) == {"failed": "exit 1: boom"}


def test_verdict_holds_at_half_the_quiet_rate_and_half_a_second() -> None:
    assert "holds" in contention.verdict([row(0, 20.0, 0.1), row(2, 10.0, 0.5)])
    assert "FAILS" in contention.verdict([row(0, 20.0, 0.1), row(2, 9.9, 0.1)])
    assert "FAILS" in contention.verdict([row(0, 20.0, 0.1), row(2, 15.0, 0.51)])
    old = [row(0, 20.0, 0.1), row(2, 1.0, 5.0, policy="torch (old)"), row(2, 12.0, 0.3)]
    assert "holds" in contention.verdict(old)  # the bar is the default policy's


def test_verdict_needs_a_quiet_run() -> None:
    assert "not measured" in contention.verdict([row(2, 10.0, 0.1)])


def test_table_prints_every_row(capsys) -> None:  # noqa: ANN001
    rows = [row(0, 20.0, 0.1), row(0, 19.0, 0.2, "torch (old)"), {"burners": 2,
            "policy": "default", "load_before": 1.0, "failed": "exit 1: no EGL"}]  # fmt: skip
    contention.print_table(rows, 30.0, "1280x720")
    out = capsys.readouterr().out
    assert "| 0 | default | 0.50 | 20.0 | 100% |" in out
    assert "exit 1: no EGL" in out and "logical CPUs" in out
