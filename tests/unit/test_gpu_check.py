"""scripts/gpu_check.sh's preparation half: the wheelhouse it makes installs offline.

The download goes to the package index pip is configured with (as `scripts/setup.sh` does); only
two small packages are fetched (moderngl with its glcontext, python-osc: under 1 MB), the rest
named as already on the target.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"
FETCHED = {"moderngl", "python-osc"}  # glcontext comes as moderngl's own requirement


def gpu_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """scripts/gpu_check.py with these arguments (this Python)."""
    command = [sys.executable, str(ROOT / "scripts" / "gpu_check.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_requirements_leave_out_torch_and_ffmpeg() -> None:
    proc = gpu_check("requirements")
    names = {line.split(">")[0].split(";")[0].strip() for line in proc.stdout.splitlines()}
    assert proc.returncode == 0
    assert "torch" not in names and "imageio-ffmpeg" not in names
    assert {"pygame", "moderngl", "python-osc", "numpy", "pytest", "cuda-bindings"} <= names


def test_usage_without_a_half_is_one_line() -> None:
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("usage: bash scripts/gpu_check.sh")


def test_prepared_wheelhouse_installs_offline_and_verify_names_gaps(tmp_path: Path) -> None:
    names = gpu_check("requirements").stdout.splitlines()
    have = {line.split(">")[0].split(";")[0].strip() for line in names} - FETCHED
    python = f"{sys.version_info.major}.{sys.version_info.minor}"  # installable here
    wheels = tmp_path / "wheels"
    env = {**os.environ, "GPU_CHECK_WHEELS": str(wheels)}
    prepare = subprocess.run(
        ["bash", str(SCRIPT), "prepare", "--python", python, "--have", ",".join(sorted(have))],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert prepare.returncode == 0, prepare.stderr[-2000:]
    assert f"complete for an offline install on Python {python}" in prepare.stdout
    fetched = sorted(w.name.split("-")[0].lower() for w in wheels.glob("*.whl"))
    assert fetched == ["glcontext", "moderngl", "python_osc"]  # the closure, nothing else
    assert (wheels / "manifest.json").is_file()

    site = tmp_path / "site"  # an offline install from the folder alone
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
         str(wheels), "--target", str(site), "moderngl", "python-osc"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    probe = "import moderngl, pythonosc; print(moderngl.__file__)"
    imported = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(site)})  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(str(site))

    next(wheels.glob("glcontext-*.whl")).unlink()  # a gap: verify names it
    verify = gpu_check("verify", "--dir", str(wheels), "--python", python,
                       "--have", ",".join(sorted(have)))  # fmt: skip
    assert verify.returncode == 1
    assert "lacks glcontext" in verify.stderr
