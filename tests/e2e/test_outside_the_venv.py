"""Run with a Python that lacks the app's packages, the entry points say how to set up.

`python -S` (no site-packages: numpy, torch, yaml ... missing) stands for the system Python of a
fresh clone, before `scripts/setup.sh` or outside the venv.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("command", "prefix", "venv_command"),
    [
        (["run_show.py", "--headless"], "run_show: ", ".venv/bin/python run_show.py"),
        (["-m", "installation", "schema"], "error: ", ".venv/bin/latent-walk"),
    ],
)
def test_missing_packages_give_one_line_naming_the_venv_command(
    command: list[str], prefix: str, venv_command: str
) -> None:
    proc = subprocess.run([sys.executable, "-S", *command], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # one line, no traceback
    assert lines[0].startswith(prefix) and "is not installed for" in lines[0]
    assert venv_command in lines[0]
