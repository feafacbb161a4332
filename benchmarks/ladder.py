"""The CPU optimisation ladder (issue 19): each fast-path step beside the one before, in one run.

Step 0 is the code before this work (a git revision, loaded into this process from
`git archive`), then today's code with its fast-path switches turned on one at a time. Every
step renders the same weights and latents; the steps run round-robin (A B C A B C ...) so
that load from other programs falls on all of them alike; times are medians. Each row prints
ms per frame, the gain over the step before and over step 0, and the largest difference from
step 0's image (exact mode: float32 rounding; fast: bf16).

    python benchmarks/ladder.py                                  # SG2-256 and SG3-T-256, b1
    python benchmarks/ladder.py --models sg2-256 --batches 1,8 --precisions exact,fast
    python benchmarks/ladder.py --models demo --batches 8 --from-step 4   # before, steps 4 on

Each row also gives the load average (other programs on the machine) when its runs ended.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from installation.threads import choose_policy  # noqa: E402

choose_policy()  # as the player runs: idle OpenMP threads sleep (before torch loads)

import torch  # noqa: E402
from generator import build  # noqa: E402
from machine import cpu_description  # noqa: E402

import kernels  # noqa: E402, F401 (loads the modules whose switches the steps set)
import kernels.winograd  # noqa: E402, F401
from installation.models import save_generator  # noqa: E402

BASE_REV = "8ee5db4"  # the last commit before the issue-19 CPU work
PACKAGES = ("installation", "kernels")

# (label, switches as "module.NAME": value) after step 0; each adds one change to the row above
UFD, FLR = "kernels.upfirdn2d", "kernels.filtered_lrelu"
_OFF = {f"{UFD}.SEPARABLE_2D": False, f"{UFD}.TRANSPOSED_UP": False,
        f"{UFD}.ONE_TAP_SCALES": False, f"{FLR}.WHOLE_BATCH_STRIP": False,
        f"{FLR}.FUSED_ACTIVATION": False, f"{UFD}.CONV_LRELU": False,
        f"{UFD}.CHANNEL_ROWS": False, f"{UFD}.CONV_PADDING": False,
        "installation.models.stylegan2.IN_PLACE_EPILOGUE": False,
        "installation.models.stylegan2.IN_PLACE_STYLES": False,
        "kernels.winograd.ENABLED": False, f"{UFD}.HEIGHT_GEMM": False,
        f"{FLR}.CLAMP_BOUND": False,
        "installation.models.stylegan2.PER_SAMPLE_WEIGHTS": False}  # fmt: skip
_STEP4 = {**_OFF, f"{UFD}.SEPARABLE_2D": True, f"{UFD}.TRANSPOSED_UP": True,
          f"{UFD}.ONE_TAP_SCALES": True, f"{FLR}.WHOLE_BATCH_STRIP": True}  # fmt: skip
_STEP5 = {**_STEP4, f"{FLR}.FUSED_ACTIVATION": True, f"{UFD}.CONV_LRELU": True}
_STEP6 = {**_STEP5, f"{UFD}.CHANNEL_ROWS": True}
_STEP7 = {**_STEP6, f"{UFD}.CONV_PADDING": True}
_STEP8 = {**_STEP7, "installation.models.stylegan2.IN_PLACE_EPILOGUE": True}
_ALL = {name: True for name in _OFF}
_STEP12 = {**_ALL, "installation.models.stylegan2.PER_SAMPLE_WEIGHTS": False}
_STEP11 = {**_STEP12, f"{FLR}.CLAMP_BOUND": False}
_STEP10 = {**_STEP11, f"{UFD}.HEIGHT_GEMM": False}
STEPS: list[tuple[str, dict[str, bool]]] = [
    (
        "CPU modulated conv: shared prepared weight, SG2 up-conv as 4 phase convs, one epilogue",
        _OFF,
    ),
    ("+ rank-1 2D FIR filters as two 1D passes", {**_OFF, f"{UFD}.SEPARABLE_2D": True}),
    (
        "+ float32 width up-passes as one transposed conv",
        {**_OFF, f"{UFD}.SEPARABLE_2D": True, f"{UFD}.TRANSPOSED_UP": True},
    ),
    ("+ one-tap filters only pad and scale; small layers one pass per batch", _STEP4),
    (
        "+ filtered_lrelu's nonlinearity on its up pass: lrelu as the depthwise conv's oneDNN "
        "post-op, clamp in the height interleave",
        _STEP5,
    ),
    ("+ per-channel scales and biases as channels-last rows (long inner loops)", _STEP6),
    ("+ the FIR passes' zero padding inside the depthwise convs (no padded copies)", _STEP7),
    ("+ the first pass after a conv in place in its output (no fresh pages)", _STEP8),
    (
        "+ the style scale in place where the layer's input is scratch",
        {**_STEP8, "installation.models.stylegan2.IN_PLACE_STYLES": True},
    ),
    (
        "+ float32 3x3 convs by Winograd F(4x4, 3x3) (exact mode)",
        _STEP10,
    ),
    (
        "+ FIR passes along the height as one GEMM of image rows (no phase convs, no interleave)",
        _STEP11,
    ),
    (
        "+ filtered_lrelu's clamp left out where the input's peak shows it can't bite",
        _STEP12,
    ),
    ("+ a batch's ToRGB layers by per-sample weights (no pass scaling x)", _ALL),
]


def extract_base(rev: str, workdir: Path) -> Path:
    """Write the packages of git revision rev under workdir; returns workdir."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, *PACKAGES], capture_output=True, check=True
    ).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(workdir, filter="data")
    return workdir


@contextlib.contextmanager
def base_modules(workdir: Path) -> Iterator[object]:
    """Within: the extracted revision's `installation.models`, imported beside today's.

    Its modules are its own objects (they keep their own `kernels`), so a generator built
    inside keeps running the old code after the block; today's modules are restored at exit.
    """
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in PACKAGES}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module("installation.models")
    finally:
        sys.path.remove(str(workdir))
        for name in [k for k in sys.modules if k.split(".")[0] in PACKAGES]:
            del sys.modules[name]
        sys.modules.update(saved)


@contextlib.contextmanager
def switches(values: dict[str, bool]) -> Iterator[None]:
    """Set the kernels' fast-path switches ("module.NAME") for one measurement."""
    targets = {key: key.rpartition(".") for key in values}
    saved = {key: getattr(sys.modules[mod], name) for key, (mod, _, name) in targets.items()}
    for key, (mod, _, name) in targets.items():
        setattr(sys.modules[mod], name, values[key])
    try:
        yield
    finally:
        for key, (mod, _, name) in targets.items():
            setattr(sys.modules[mod], name, saved[key])


def timed(fn: Callable[[], torch.Tensor]) -> tuple[float, torch.Tensor]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def ladder(
    model: str, precision: str, batch: int, repeats: int, base_dir: Path, from_step: int = 1
) -> list[dict]:
    """Measure step 0 and steps from_step on for one configuration; returns one dict per step."""
    G = build(model)
    with tempfile.TemporaryDirectory() as tmp, base_modules(base_dir) as base_models:
        path = save_generator(G, Path(tmp) / "model.safetensors")
        G_base = base_models.load_generator(path)
    z = torch.randn(batch, G.z_dim, generator=torch.Generator().manual_seed(1))
    G.set_precision(precision)
    G_base.set_precision(precision)
    runs: list[tuple[str, Callable[[], torch.Tensor]]] = []
    with torch.inference_mode():
        ws = G.mapping(z)
        runs.append((f"before ({BASE_REV})", lambda: G_base.synthesis(ws)))
        for label, values in STEPS[from_step - 1 :]:

            def run(values=values) -> torch.Tensor:
                with switches(values):
                    return G.synthesis(ws)

            runs.append((label, run))
        outputs = [fn() for _, fn in runs]  # warm-up (oneDNN primitives, prepared weights)
        times: list[list[float]] = [[] for _ in runs]
        for _ in range(repeats):
            for i, (_, fn) in enumerate(runs):
                times[i].append(timed(fn)[0])
    load = os.getloadavg()[0]  # other programs' load on this machine, at the end of the runs
    rows = []
    for i, (label, _) in enumerate(runs):
        ms = statistics.median(times[i]) / batch * 1e3
        rows.append({
            "model": model, "precision": precision, "batch": batch, "step": label,
            "ms_per_frame": ms,
            "gain_vs_previous": rows[-1]["ms_per_frame"] / ms if rows else 1.0,
            "gain_vs_before": rows[0]["ms_per_frame"] / ms if rows else 1.0,
            "max_abs_diff_vs_before": float((outputs[i] - outputs[0]).abs().max()),
            "load_average": load,
        })  # fmt: skip
    return rows


def print_row(row: dict) -> None:
    print(
        f"{row['model']:<9} {row['precision']:<6} b{row['batch']:<2} "
        f"{row['ms_per_frame']:>9.1f} ms  x{row['gain_vs_previous']:>5.2f} prev  "
        f"x{row['gain_vs_before']:>5.2f} before  maxdiff {row['max_abs_diff_vs_before']:.1e}  "
        f"load {row['load_average']:.1f}  {row['step']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sg2-256,sg3t-256")
    parser.add_argument("--precisions", default="exact,fast")
    parser.add_argument("--batches", default="1")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", default=BASE_REV, help="git revision of step 0")
    parser.add_argument("--from-step", type=int, default=1, help="skip the steps before this")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(cpu_description(), flush=True)
    print(f"threads={torch.get_num_threads()} torch={torch.__version__} repeats={args.repeats}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = extract_base(args.base, Path(tmp))
        for model in args.models.split(","):
            for batch in [int(b) for b in args.batches.split(",")]:
                for precision in args.precisions.split(","):
                    rows = ladder(model, precision, batch, args.repeats, base_dir, args.from_step)
                    results.extend(rows)
                    for row in rows:
                        print_row(row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
