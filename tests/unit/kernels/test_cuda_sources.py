"""CUDA sources in kernels/csrc compile with nvcc for sm_80 and sm_90 and export the README's ABI.

No GPU is needed: this only compiles. The kernels run (and are checked against `_reference`) in
tests/gpu/. The entry-point names come from kernels/csrc/README.md (the launch ABI), so the test
and the ABI can't drift: every documented name must be an unmangled `.entry` in the PTX, and no
undocumented entry point may exist. Skips when nvcc is not on PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CSRC = Path(__file__).resolve().parents[3] / "kernels" / "csrc"
ARCHS = ("sm_80", "sm_90")
# NVRTC builds with --std=c++17 (kernels/_compile.py OPTIONS); every nvcc warning is an error.
NVCC_FLAGS = ("--std=c++17", "-Werror", "all-warnings")
PTXAS_FLAGS = ("-Xptxas", "-Werror")

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(
    NVCC is None, reason="nvcc not on PATH: CUDA sources not compiled (install the CUDA toolkit)"
)


def _sources() -> list[Path]:
    return sorted(CSRC.glob("*.cu"))


def readme_entry_points() -> dict[str, set[str]]:
    """{file name: entry-point names} from the `### file.cu` sections of kernels/csrc/README.md."""
    result: dict[str, set[str]] = {}
    current: str | None = None
    for line in (CSRC / "README.md").read_text().splitlines():
        heading = re.match(r"#+\s+(\S+\.cu)\s*$", line)
        if heading:
            current = heading.group(1)
            result[current] = set()
        elif line.startswith("#"):
            current = None
        elif current is not None:
            entry = re.match(r" {4}(\w+)\(", line)
            if entry:
                result[current].add(entry.group(1))
    return result


def _nvcc(args: list[str], cwd: Path) -> None:
    proc = subprocess.run(
        [NVCC, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"nvcc {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"


def test_readme_documents_every_source():
    documented = readme_entry_points()
    present = {p.name for p in _sources()}
    assert documented, "kernels/csrc/README.md names no `### *.cu` sections"
    assert present == set(documented), f"README documents {sorted(documented)}, csrc has {present}"
    for name, entries in documented.items():
        assert entries, f"README section {name} lists no entry points"


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS)
def test_sources_compile(arch, tmp_path):
    sources = _sources()
    assert sources, f"no .cu files in {CSRC}"
    # all files in one nvcc call: one driver start per arch
    args = ["-c", f"-arch={arch}", *NVCC_FLAGS, *PTXAS_FLAGS, "-odir", str(tmp_path)]
    _nvcc([*args, *(str(p) for p in sources)], tmp_path)
    for p in sources:
        obj = tmp_path / f"{p.stem}.o"
        assert obj.is_file() and obj.stat().st_size > 0, f"nvcc wrote no object for {p.name}"


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS)
def test_entry_points_are_unmangled(arch, tmp_path):
    documented = readme_entry_points()
    sources = _sources()
    _nvcc(
        ["--ptx", f"-arch={arch}", *NVCC_FLAGS, "-odir", str(tmp_path)] + [str(p) for p in sources],
        tmp_path,
    )
    for p in sources:
        ptx = (tmp_path / f"{p.stem}.ptx").read_text()
        entries = set(re.findall(r"\.visible\s+\.entry\s+(\w+)\s*\(", ptx))
        expected = documented.get(p.name, set())
        missing = expected - entries
        extra = entries - expected
        assert not missing, f"{p.name} ({arch}): README entry points missing or mangled: {missing}"
        assert not extra, f"{p.name} ({arch}): entry points not in README's ABI: {extra}"
