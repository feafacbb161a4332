"""The packages the app imports, and the one-line set-up hint when one is missing.

A fresh clone run with the system Python (`python run_show.py` before `scripts/setup.sh`, or
outside the venv) must say how to set up, not end in a ModuleNotFoundError traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# import names of pyproject's dependencies (and the gpu extra's) -> what pip calls them
DEPENDENCIES = {
    "torch": "torch",
    "numpy": "numpy",
    "pygame": "pygame",
    "moderngl": "moderngl",
    "pythonosc": "python-osc",
    "yaml": "pyyaml",
    "imageio": "imageio",
    "imageio_ffmpeg": "imageio-ffmpeg",
    "safetensors": "safetensors",
    "PIL": "pillow",
    "cuda": "cuda-bindings",
}


def missing_dependency(err: ModuleNotFoundError) -> str | None:
    """The pip name of the dependency `err` is about, or None for any other missing module."""
    top = (err.name or "").partition(".")[0]
    return DEPENDENCIES.get(top)


def setup_hint(err: ModuleNotFoundError, command: str) -> str:
    """One line: which package is missing for which Python, and the venv `command` to use."""
    package = missing_dependency(err) or err.name
    venv_python = ROOT / ".venv" / "bin" / "python"
    where = f"{package} is not installed for {sys.executable}"
    if venv_python.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        return f"{where}: use the project's venv: {command} (in {ROOT})"
    setup = f"set up first with `bash scripts/setup.sh` (in {ROOT})"
    return f"{where}: {setup}, then {command}"
