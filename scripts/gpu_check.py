"""The GPU check's steps (scripts/gpu_check.sh runs them): the wheelhouse, then the checks.

`requirements`: the project's requirements without torch (the GPU machine has its own), one a
line. `download`: fetch wheels for another machine's Python into a folder, following each
wheel's own requirements, leaving out what that machine already has. `verify`: the folder plus
that list covers every requirement (an offline install cannot stop on a missing wheel).
`run`: on the GPU machine, tests/gpu, benchmarks/kernels.py --device cuda and 20 s headless CUDA
runs of the demo and of 256 px StyleGAN2 / StyleGAN3-T networks (random weights, built with
benchmarks/generator.py), into one JSON.

    python scripts/gpu_check.py download --python 3.12 --dir .gpu_wheels
    python scripts/gpu_check.py verify --dir .gpu_wheels
    python scripts/gpu_check.py run --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from email.parser import Parser
from pathlib import Path

import tomllib  # Python 3.11+ (the GPU machine has 3.12)

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
except ImportError:  # pip always carries a copy
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import (  # type: ignore[no-redef]
        canonicalize_name,
        parse_wheel_filename,
    )

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner in the install report
MANIFEST = "manifest.json"
WHEELS = Path(os.environ.get("GPU_CHECK_WHEELS", ROOT / ".gpu_wheels"))
# Packages the GPU machines lent to this project already hold (their image's package list,
# November 2026): not downloaded, so the wheelhouse stays under the 64 MiB a call may carry.
GPU_IMAGE_HAS = (
    "numpy", "pillow", "pyyaml", "safetensors", "imageio", "scipy", "pytest", "iniconfig",
    "packaging", "pluggy", "pygments", "cuda-bindings", "cuda-pathfinder", "nvidia-cuda-nvrtc",
    "setuptools", "typing-extensions",
)  # fmt: skip
# Never downloaded: the GPU machine's own CUDA build of torch (and what comes with it), and
# imageio-ffmpeg (ffmpeg for --out video, which the check does not write; its 30-70 MB wheel
# would not fit in what a call carries).
LEFT_OUT = ("torch", "imageio-ffmpeg")
PLATFORMS = (
    "manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
    "manylinux2014_x86_64", "manylinux_2_12_x86_64", "manylinux2010_x86_64",
    "manylinux1_x86_64", "linux_x86_64",
)  # fmt: skip
RUN_MODELS = ("demo", "sg2-256", "sg3t-256")
SHOW_TEMPLATE = """\
models:
  net: {{path: {path}, psi: 0.7}}
sections:
  - name: walk
    model: net
    loops: 1
    walk:
      space: z
      path: slerp
      closed: true
      seconds_per_keyframe: 4
      keyframes: [{{seed: 1}}, {{seed: 2}}, {{seed: 3}}, {{seed: 4}}]
"""


# -- the wheelhouse (here, with a package index) -------------------------------------------------


def project_requirements() -> list[str]:
    """pyproject's dependencies, the gpu extra and pytest (for tests/gpu), less LEFT_OUT."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pytest_req = [r for r in extras["dev"] if canonicalize_name(Requirement(r).name) == "pytest"]
    every = [*project["dependencies"], *extras["gpu"], *pytest_req]
    return [r for r in every if canonicalize_name(Requirement(r).name) not in LEFT_OUT]


def target_environment(python: str) -> dict[str, str]:
    """Marker values of a CPython `python` (e.g. '3.12') on x86-64 Linux."""
    return {
        "python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
        "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "extra": "",
    }  # fmt: skip


def applies(requirement: Requirement, python: str) -> bool:
    """The requirement is needed on the target (its marker, extras' lines left out)."""
    if requirement.marker is None:
        return True
    return Marker(str(requirement.marker)).evaluate(target_environment(python))


def wheel_requirements(wheel: Path) -> list[Requirement]:
    """A wheel's Requires-Dist lines (from its METADATA)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode("utf-8"))
    return [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]


def wheels_by_name(folder: Path) -> dict[str, Path]:
    """The folder's wheels by canonical project name."""
    return {canonicalize_name(parse_wheel_filename(w.name)[0]): w for w in folder.glob("*.whl")}


def missing_requirements(folder: Path, python: str, have: set[str]) -> list[str]:
    """Requirements (the project's and each wheel's own) neither in the folder nor in `have`."""
    wheels = wheels_by_name(folder)
    needed = [Requirement(r) for r in project_requirements()]
    for wheel in wheels.values():
        needed += wheel_requirements(wheel)
    missing = []
    for requirement in needed:
        name = canonicalize_name(requirement.name)
        if not applies(requirement, python) or name in have or name in LEFT_OUT:
            continue
        if name not in wheels:
            missing.append(str(requirement))
            continue
        version = parse_wheel_filename(wheels[name].name)[1]
        if requirement.specifier and version not in requirement.specifier:
            missing.append(f"{requirement} (the folder has {version})")
    return sorted(set(missing))


def pip_download(requirements: list[str], folder: Path, python: str) -> None:
    """`pip download --no-deps` of binary wheels for CPython `python` on x86-64 Linux."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--python-version", python, "--implementation", "cp", *platforms, "--dest", str(folder),
        *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True)


def download(folder: Path, python: str, have: set[str]) -> list[str]:
    """Wheels for the project's requirements and theirs, less `have`; returns the wheel names."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [r for r in project_requirements()
              if canonicalize_name(Requirement(r).name) not in have]  # fmt: skip
    tried: list[str] = []
    while wanted and wanted != tried:  # each round: what the wheels so far still require
        print(f"gpu_check: downloading {', '.join(wanted)}", file=sys.stderr, flush=True)
        pip_download(wanted, folder, python)
        missing = missing_requirements(folder, python, have)
        tried, wanted = wanted, [r.split(" (")[0] for r in missing]
    names = sorted(w.name for w in folder.glob("*.whl"))
    manifest = {"python": python, "have": sorted(have), "wheels": names,
                "requirements": project_requirements()}  # fmt: skip
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return names


# -- the checks (there, on the GPU machine) ------------------------------------------------------


def run_step(command: list[str], timeout_s: float, log_path: Path | None = None) -> dict:
    """Run one step: exit code, seconds, the output's last lines (all of it to log_path)."""
    started = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              cwd=ROOT)  # fmt: skip
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as err:
        code = "timeout"
        output = (err.stdout or b"").decode(errors="replace") + (err.stderr or b"").decode(
            errors="replace"
        )
    if log_path is not None:
        log_path.write_text(output)
    tail = output.strip().splitlines()[-15:]
    return {"exit": code, "seconds": round(time.monotonic() - started, 1), "tail": tail}


def machine_info() -> dict:
    """GPU, driver, torch and Python versions."""
    try:
        import torch
    except ImportError as err:  # the report says so; the steps after it fail with their reasons
        return {"python": platform.python_version(), "torch": f"not importable: {err}"}
    info: dict = {
        "python": platform.python_version(), "torch": torch.__version__,
        "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
    }  # fmt: skip
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info |= {"gpu": props.name, "gpu_memory_gib": round(props.total_memory / 2**30, 1),
                 "capability": f"{props.major}.{props.minor}"}  # fmt: skip
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)  # fmt: skip
        info["driver"] = smi.stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        info["driver"] = f"nvidia-smi failed: {err}"
    return info


def junit_counts(path: Path) -> dict:
    """passed/failed/errors/skipped from a pytest junit XML, and the failing tests' names."""
    import xml.etree.ElementTree as ElementTree

    if not path.exists():
        return {}
    root = ElementTree.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return {}
    total = int(suite.get("tests", 0))
    failed, errors, skipped = (int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
    failing = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
               if case.find("failure") is not None or case.find("error") is not None]  # fmt: skip
    return {"passed": total - failed - errors - skipped, "failed": failed, "errors": errors,
            "skipped": skipped, "failing": failing}  # fmt: skip


def show_for(model: str, workdir: Path) -> Path:
    """The demo show, or a one-section walk over a random-weight network saved in workdir."""
    if model == "demo":
        return ROOT / "shows" / "demo.yaml"
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    from generator import build

    from installation.models import save_generator

    weights = workdir / f"{model}.safetensors"
    save_generator(build(model), weights)
    show = workdir / f"{model}.yaml"
    show.write_text(SHOW_TEMPLATE.format(path=weights.name), encoding="utf-8")
    return show


def headless_run(model: str, seconds: float, workdir: Path, out_dir: Path) -> dict:
    """`run_show.py --headless --device cuda` for `seconds`: its statistics, or why not."""
    stats_path = workdir / f"{model}-stats.json"
    try:
        show = show_for(model, workdir)
    except Exception as err:  # a network that cannot be built is this row's result
        return {"model": model, "error": f"{type(err).__name__}: {err}"}
    command = [sys.executable, "run_show.py", str(show), "--headless", "--device", "cuda",
               "--duration", str(seconds), "--no-watch", "--stats-json", str(stats_path),
               "--log-file", str(out_dir / "runs.log")]  # fmt: skip
    step = run_step(command, timeout_s=seconds * 2 + 90)
    row = {"model": model, **step}
    if stats_path.exists():
        stats = json.loads(stats_path.read_text())
        keys = ("generated_fps", "shown_fps", "display_fps", "gen_ms_median", "gen_ms_p95",
                "longest_frame_gap_s", "frames_failed", "batch_sizes", "device", "precision",
                "kernels", "cuda_peak_mb")  # fmt: skip
        row["stats"] = {k: stats.get(k) for k in keys}
    return row


def install_report(pip_log: Path | None, wheels: Path) -> dict:
    """How the offline install went: the wheelhouse's Python, pip's last lines, what imports."""
    import importlib

    sys.path.insert(0, str(ROOT))
    from installation.packages import DEPENDENCIES

    manifest_path = wheels / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report: dict = {"wheelhouse_python": manifest.get("python"), "wheels": manifest.get("wheels")}
    if pip_log is not None and pip_log.exists():
        report["pip_tail"] = pip_log.read_text().strip().splitlines()[-5:]
    imports = {}
    for module in DEPENDENCIES:
        try:
            importlib.import_module(module)
            imports[module] = "ok"
        except Exception as err:  # a report, not a run: every failure is a finding
            imports[module] = f"{type(err).__name__}: {err}"
    report["imports"] = imports
    return report


def run_checks(
    out_path: Path, seconds: float, kernels_budget_s: float, quick: bool,
    pip_log: Path | None = None,
) -> dict:  # fmt: skip
    """Every check, in order; the results written to out_path as they come."""
    out_dir = out_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                     "machine": machine_info(),
                     "install": install_report(pip_log, WHEELS)}  # fmt: skip

    def save() -> None:
        out_path.write_text(json.dumps(results, indent=2))

    save()
    junit = out_dir / "gpu-tests.xml"
    command = [sys.executable, "-m", "pytest", "tests/gpu", "-q", "-p", "no:cacheprovider",
               f"--junitxml={junit}"]  # fmt: skip
    tests = run_step(command, timeout_s=240, log_path=out_dir / "gpu-tests.log")
    results["tests_gpu"] = {**tests, **junit_counts(junit)}
    save()
    kernels_md = out_dir / "kernels.md"
    kernels_md.unlink(missing_ok=True)
    command = [
        sys.executable, "benchmarks/kernels.py", "--device", "cuda", "--budget-s",
        str(kernels_budget_s), "--append-results", "--results-file", str(kernels_md),
    ]  # fmt: skip
    if quick:
        command.append("--quick")
    results["kernels_benchmark"] = run_step(command, timeout_s=kernels_budget_s + 120,
                                            log_path=out_dir / "kernels.log")  # fmt: skip
    save()
    results["headless_runs"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in RUN_MODELS:
            results["headless_runs"].append(headless_run(model, seconds, Path(tmp), out_dir))
            save()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    save()
    return results


def main() -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("requirements", help="print the requirements to carry, torch left out")
    for name in ("download", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--dir", type=Path, default=ROOT / ".gpu_wheels")
        p.add_argument("--python", default="3.12", help="the GPU machine's Python (X.Y)")
        p.add_argument("--have", default=",".join(GPU_IMAGE_HAS),
                       help="already on the GPU machine, comma-separated ('': none)")  # fmt: skip
    p = sub.add_parser("run")
    p.add_argument("--out", type=Path, required=True, help="the results JSON")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each headless run")
    p.add_argument("--kernels-budget-s", type=float, default=90.0,
                   help="kernels.py starts no generator run after this (its ops mode runs first)")
    p.add_argument("--quick", action="store_true", help="kernels.py --quick (tiny networks)")
    p.add_argument("--pip-log", type=Path, default=None, help="the offline install's log")
    args = parser.parse_args()
    if args.command == "requirements":
        print("\n".join(project_requirements()))
        return 0
    if args.command == "run":
        results = run_checks(args.out, args.seconds, args.kernels_budget_s, args.quick,
                             args.pip_log)  # fmt: skip
        tests = results.get("tests_gpu", {})
        print(f"gpu_check: tests/gpu {tests.get('passed', '?')} passed, {tests.get('failed', '?')} "
              f"failed, {tests.get('skipped', '?')} skipped; results in {args.out}")  # fmt: skip
        return 0
    have = {canonicalize_name(n) for n in re.split(r"[,\s]+", args.have) if n}
    if args.command == "download":
        try:
            names = download(args.dir, args.python, have)
        except subprocess.CalledProcessError as err:  # pip said why just above
            print(f"gpu_check: pip download failed (exit {err.returncode})", file=sys.stderr)
            return 1
        size_mb = sum((args.dir / n).stat().st_size for n in names) / 2**20
        print(f"gpu_check: {len(names)} wheels, {size_mb:.1f} MiB in {args.dir}")
    missing = missing_requirements(args.dir, args.python, have)
    if missing:
        print(f"gpu_check: {args.dir} lacks {'; '.join(missing)}", file=sys.stderr)
        return 1
    print(f"gpu_check: {args.dir} is complete for an offline install on Python {args.python}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
