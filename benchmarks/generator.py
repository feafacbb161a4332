"""Generator speed: ms per frame, GFLOP/s, peak memory and fast-vs-exact PSNR, printed as a table.

Also measured in the same run: this CPU's convolution peak (a bare 3x3 conv of a representative
StyleGAN layer, 512 -> 512 channels at 32x32, batch 8, channels-last, in float32 and bf16), and
each row's fraction of it (exact rows against the float32 peak, fast rows against bf16); the
header names the CPU model and its ISA flags (AVX-512, bf16, AMX). The benchmark runs with the
player's thread policy (installation/threads.py: idle OpenMP threads sleep).

Models (random weights, deterministic): StyleGAN2 config-f channels at 256 px, StyleGAN3-T and -R
at 256 px (the published 256 configs), and the embedded demo model. Each configuration runs in
its own subprocess so its peak memory is its own. Times are medians of --repeats runs after
warm-up, all measured in one run of this script.

    python benchmarks/generator.py                 # everything (takes a few minutes)
    python benchmarks/generator.py --models sg2-256,demo --batches 1
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installation.threads import choose_policy  # noqa: E402

choose_policy()  # as the player runs (before torch loads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from machine import cpu_description  # noqa: E402 (benchmarks/machine.py, beside this script)

from installation.models import Generator, load_generator  # noqa: E402
from kernels import winograd  # noqa: E402

upfirdn2d = importlib.import_module("kernels.upfirdn2d")  # the module (kernels exports the op)
from installation.models.random_init import initialize_random  # noqa: E402
from installation.models.spec import MappingSpec, NetworkSpec, SG2Spec  # noqa: E402
from installation.models.stylegan3 import design_synthesis  # noqa: E402

DEMO_PATH = ROOT / "assets" / "demo" / "demo-sg3.safetensors"
MODELS = ["sg2-256", "sg3t-256", "sg3r-256", "demo"]
# issue 19's bars on an AMX CPU, as seconds per frame (batch 8 for the fast rows)
GOALS_S = {
    ("sg2-256", "fast", 8): 1 / 10,
    ("sg3t-256", "fast", 8): 1 / 2,
    ("demo", "fast", 8): 1 / 60,
}
PEAK_SHAPE = (8, 512, 32, 32)  # [N, C, H, W] of the peak conv: a StyleGAN 32 px 512-channel layer


def conv_peak_gflops(dtype: torch.dtype, repeats: int = 5) -> float:
    """GFLOP/s of a bare channels-last 3x3 conv of PEAK_SHAPE in dtype (median of repeats)."""
    n, c, h, w = PEAK_SHAPE
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(PEAK_SHAPE, generator=gen).to(dtype)
    x = x.contiguous(memory_format=torch.channels_last)
    weight = torch.randn(c, c, 3, 3, generator=gen).to(dtype)
    weight = weight.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        F.conv2d(x, weight, padding=1)
        for _ in range(repeats):
            started = time.perf_counter()
            F.conv2d(x, weight, padding=1)
            times.append(time.perf_counter() - started)
    return 2 * n * c * c * 9 * h * w / statistics.median(times) / 1e9


def build(name: str) -> Generator:
    """A benchmark model by name (random weights, seed 0), or the demo checkpoint."""
    if name == "demo":
        if DEMO_PATH.is_file():
            return load_generator(DEMO_PATH)
        sys.path.insert(0, str(ROOT / "scripts"))
        from make_demo_model import make_demo_generator

        return make_demo_generator()
    if name == "sg2-256":  # config-f channels: base 32768, max 512, 8 mapping layers
        res = 256
        resolutions = [2**i for i in range(2, 9)]
        synthesis = SG2Spec(
            img_resolution=res, img_channels=3, w_dim=512, num_ws=14, architecture="skip",
            channels=tuple(min(32768 // r, 512) for r in resolutions),
            fp16_resolutions=tuple(r for r in resolutions if r >= 32), conv_clamp=256,
        )  # fmt: skip
        mapping = MappingSpec(z_dim=512, c_dim=0, w_dim=512, num_ws=14, num_layers=8,
                              embed_features=0, layer_features=512)  # fmt: skip
        arch = "stylegan2"
    else:  # published SG3 256 configs (spec §3.8): T 16384/512, R 32768/1024 k=1 radial
        radial = name == "sg3r-256"
        synthesis = design_synthesis(
            w_dim=512, img_resolution=256,
            channel_base=32768 if radial else 16384, channel_max=1024 if radial else 512,
            conv_kernel=1 if radial else 3, use_radial_filters=radial,
        )  # fmt: skip
        mapping = MappingSpec(z_dim=512, c_dim=0, w_dim=512, num_ws=16, num_layers=2,
                              embed_features=0, layer_features=512)  # fmt: skip
        arch = "stylegan3-r" if radial else "stylegan3-t"
    G = Generator(NetworkSpec(architecture=arch, mapping=mapping, synthesis=synthesis))
    return initialize_random(G, seed=0)


def count_flops(G: Generator, ws: torch.Tensor) -> float:
    """FLOPs of one synthesis call (convolutions and matmuls), from torch's counter.

    Counted with direct convolutions and per-phase FIR convs (Winograd and the height passes'
    row GEMMs off): the work of the network itself, so exact rows that run Winograd's 4x fewer
    products show its effective rate, and the row GEMMs' multiplications by zero don't count.
    """
    from torch.utils.flop_counter import FlopCounterMode

    saved = winograd.ENABLED, upfirdn2d.HEIGHT_GEMM
    winograd.ENABLED, upfirdn2d.HEIGHT_GEMM = False, False
    try:
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            G.synthesis(ws)
    finally:
        winograd.ENABLED, upfirdn2d.HEIGHT_GEMM = saved
    return float(counter.get_total_flops())


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB for images in [-1, 1] (peak-to-peak 2), after clamping both to that range."""
    mse = float((a.clamp(-1, 1) - b.clamp(-1, 1)).double().square().mean())
    return math.inf if mse == 0 else 10 * math.log10(4 / mse)


def run_one(model: str, precision: str, batch: int, repeats: int, device: str) -> dict:
    """Measure one configuration in this process; returns a dict of results."""
    torch.manual_seed(0)
    G = build(model).to(device)
    z = torch.randn(batch, G.z_dim, generator=torch.Generator().manual_seed(1)).to(device)
    with torch.inference_mode():
        ws = G.mapping(z)
        flops = count_flops(G, ws[:1]) * batch
        G.set_precision(precision)
        out = G.synthesis(ws)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            out = G.synthesis(ws)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
        peak_mb = (
            torch.cuda.max_memory_allocated() / 2**20
            if device == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        # the exact reference after the timed calls: a float32 pass of a big batch just before
        # them left the allocator's heap slower for the next few bf16 calls (SG2-256 b8: 190
        # against 105 ms/frame for about five calls)
        exact = out if precision == "exact" else G.set_precision("exact").synthesis(ws)
    median = statistics.median(times)
    return {
        "model": model, "precision": precision, "batch": batch, "device": device,
        "ms_per_frame": median / batch * 1e3, "ms_per_call": median * 1e3,
        "frames_per_s": batch / median, "gflop_per_frame": flops / batch / 1e9,
        "gflop_per_s": flops / median / 1e9, "peak_mb": peak_mb,
        "psnr_vs_exact_db": psnr(out.float(), exact.float()), "repeats": repeats,
        "threads": torch.get_num_threads(),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--precisions", default="exact,fast")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        model, precision, batch = args.one.split(":")
        result = run_one(model, precision, int(batch), args.repeats, args.device)
        print(json.dumps(result))
        return
    print(cpu_description(), flush=True)
    peaks = {"exact": conv_peak_gflops(torch.float32), "fast": conv_peak_gflops(torch.bfloat16)}
    print(f"conv peak (3x3, {list(PEAK_SHAPE)} channels-last): float32 {peaks['exact']:.0f} "
          f"GFLOP/s, bf16 {peaks['fast']:.0f} GFLOP/s", flush=True)  # fmt: skip
    results = []
    for model in args.models.split(","):
        for batch in [int(b) for b in args.batches.split(",")]:
            for precision in args.precisions.split(","):
                cmd = [sys.executable, __file__, "--one", f"{model}:{precision}:{batch}",
                       "--repeats", str(args.repeats), "--device", args.device]  # fmt: skip
                proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
                if proc.returncode != 0:
                    print(f"{model} {precision} b{batch}: failed\n{proc.stderr[-2000:]}")
                    continue
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                result["peak_gflop_per_s"] = peaks.get(precision, math.nan)
                result["fraction_of_peak"] = result["gflop_per_s"] / result["peak_gflop_per_s"]
                results.append(result)
                print_row(results[-1], header=len(results) == 1)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def print_row(r: dict, header: bool) -> None:
    if header:
        print(f"device={r['device']} threads={r['threads']} torch={torch.__version__}")
        print(f"{'model':<9} {'precision':<9} {'batch':>5} {'ms/frame':>9} {'frames/s':>8} "
              f"{'GFLOP/fr':>8} {'GFLOP/s':>8} {'of peak':>7} {'peak MB':>8} "
              f"{'PSNR dB':>8}  goal")  # fmt: skip
    goal = GOALS_S.get((r["model"], r["precision"], r["batch"]))
    verdict = ""
    if goal is not None:
        ok = r["ms_per_frame"] / 1e3 <= goal
        verdict = f"{'met' if ok else 'MISSED'} (<= {goal * 1e3:.0f} ms)"
    print(
        f"{r['model']:<9} {r['precision']:<9} {r['batch']:>5} {r['ms_per_frame']:>9.1f} "
        f"{r['frames_per_s']:>8.2f} {r['gflop_per_frame']:>8.1f} {r['gflop_per_s']:>8.0f} "
        f"{r['fraction_of_peak']:>7.0%} {r['peak_mb']:>8.0f} {r['psnr_vs_exact_db']:>8.1f}  "
        f"{verdict}",
        flush=True,
    )


if __name__ == "__main__":
    main()
