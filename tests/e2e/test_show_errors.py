"""A broken show named on the command line: run_show.py and `latent-walk validate` print every
problem, one per line, and exit 1 (real processes, nothing opens a window)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BROKEN = """\
show:
  background: #102030
models:
  m: {path: m.pkl}
sections:
  - {name: a, model: nope, duration_s: -1, walk: {path: noise_loop}}
  - name: b
    model: m
    duration_s: 1
    walk: {path: linear, keyframes: [{seed: 4294967296}, {seed: 1}]}
"""


def test_run_show_and_validate_print_each_problem_on_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "m.pkl").write_bytes(b"")
    show = tmp_path / "broken.yaml"
    show.write_text(BROKEN, encoding="utf-8")
    expected = [
        f"{show}:2: show.background: must be a quoted hex colour like \"#000000\", got null; an "
        'unquoted # starts a YAML comment, so quote the colour: "#102030"',
        f"{show}:6: sections[0].duration_s: must be a number > 0, got -1",
        f"{show}:6: sections[0].model: 'nope' is not one of the models: m",
        f"{show}:10: sections[1].walk.keyframes[0].seed: must be at most 4294967295, got "
        "4294967296",
    ]
    run = subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), str(show), "--headless", "--frames", "1"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 1
    said = [line for line in run.stderr.splitlines() if line.startswith("run_show: ")]
    assert said == [f"run_show: {line}" for line in expected]  # (log lines aside)
    validate = subprocess.run(
        [sys.executable, "-m", "installation", "validate", str(show)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert validate.returncode == 1
    assert validate.stderr.splitlines() == expected
