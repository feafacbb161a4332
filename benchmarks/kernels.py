"""Benchmark filtered_lrelu: `_reference` against `_fast` ("torch" backend) on SG3-256 layer shapes.

Usage: python benchmarks/kernels.py [--config T R] [--batch 1] [--repeats 10] [--fast-only]
Prints a table of median milliseconds per call and the speedup, measured side by side in one run.
Layer shapes follow spec 3.6 (T-256 and R-256 tables; padding from the per-axis formula there).
"""

from __future__ import annotations

import argparse
import importlib
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
flrelu = importlib.import_module("kernels.filtered_lrelu")

# spec 3.6: output sizes and channels of L0..L14 at 256 px
SIZES_256 = [36, 36, 36, 52, 52, 84, 84, 148, 148, 148, 276, 276, 276, 256, 256]
CHANNELS = {
    "T": [512, 512, 512, 512, 512, 512, 512, 362, 256, 181, 128, 91, 64, 64, 3],
    "R": [1024, 1024, 1024, 1024, 1024, 1024, 1024, 724, 512, 362, 256, 181, 128, 128, 3],
}
NUM_CRITICAL = 2


@dataclass(frozen=True)
class Layer:
    """One filtered_lrelu call of a synthesis layer."""

    name: str
    channels: int
    in_size: int
    up: int
    down: int
    fu_taps: int
    fd_shape: tuple[int, ...]
    padding: tuple[int, int, int, int]
    is_torgb: bool


def sg3_layers(config: str) -> list[Layer]:
    """The 15 filtered_lrelu calls of SG3-T/R-256 (spec 3.6 padding rule)."""
    k = 3 if config == "T" else 1
    layers = []
    for i, (out_size, channels) in enumerate(zip(SIZES_256, CHANNELS[config], strict=True)):
        in_size = SIZES_256[max(i - 1, 0)]
        is_torgb = i == len(SIZES_256) - 1
        kk = 1 if is_torgb else k
        up = 1 if is_torgb else (4 if out_size > in_size else 2)
        down = 1 if is_torgb else 2
        fu_taps = 6 * up if up > 1 else 1
        fd_taps = 6 * down if down > 1 else 1
        is_critical = i >= len(SIZES_256) - 1 - NUM_CRITICAL
        radial = config == "R" and not is_critical and not is_torgb
        total = (out_size - 1) * down + 1 - (in_size + kk - 1) * up + fu_taps + fd_taps - 2
        lo = (total + up) // 2
        pad = (lo, total - lo, lo, total - lo)
        fd_shape = (fd_taps, fd_taps) if radial else (fd_taps,)
        name = f"L{i}_{out_size}_{channels}"
        layers.append(
            Layer(name, channels, in_size + kk - 1, up, down, fu_taps, fd_shape, pad, is_torgb)
        )
    return layers


def median_ms(fn, repeats: int) -> float:
    """Median wall time of fn() in ms after three warm-up calls (allocator and oneDNN caches)."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def bench_layer(layer: Layer, batch: int, repeats: int, fast_only: bool) -> tuple[float, float]:
    """(reference ms, fast ms) for one layer; reference is nan with fast_only."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn([batch, layer.channels, layer.in_size, layer.in_size], generator=gen)
    b = torch.randn([layer.channels], generator=gen)
    fu = torch.rand([layer.fu_taps], generator=gen) if layer.fu_taps > 1 else None
    fd = torch.rand(layer.fd_shape, generator=gen) if layer.fd_shape[0] > 1 else None
    gain, slope = (1.0, 1.0) if layer.is_torgb else (math.sqrt(2), 0.2)
    args = (x, fu, fd, b, (layer.up,) * 2, (layer.down,) * 2, layer.padding, gain, slope, 256.0)
    fast = median_ms(lambda: flrelu._fast(*args, False), repeats)
    if fast_only:
        return math.nan, fast
    ref = median_ms(lambda: flrelu._reference(*args, False), repeats)
    return ref, fast


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", nargs="+", default=["T", "R"], choices=["T", "R"])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--fast-only", action="store_true")
    parser.add_argument("--layers", nargs="*", help="layer indices to run (default all)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, fp32")
    header = f"{'layer':<18}{'C':>5}{'in':>5}{'up/dn':>7}{'fd':>7}{'ref ms':>11}{'fast ms':>10}"
    print(header + f"{'x':>7}")
    with torch.inference_mode():
        for config in args.config:
            total_ref = total_fast = 0.0
            for i, layer in enumerate(sg3_layers(config)):
                if args.layers and str(i) not in args.layers:
                    continue
                ref, fast = bench_layer(layer, args.batch, args.repeats, args.fast_only)
                total_ref += ref
                total_fast += fast
                fd = "x".join(map(str, layer.fd_shape))
                print(
                    f"{config + '-256 ' + layer.name:<18}{layer.channels:>5}{layer.in_size:>5}"
                    f"{f'{layer.up}/{layer.down}':>7}{fd:>7}{ref:>11.1f}{fast:>10.1f}"
                    f"{ref / fast:>7.1f}",
                    flush=True,
                )
            print(
                f"{config + '-256 total':<18}{'':>24}{total_ref:>11.1f}{total_fast:>10.1f}"
                f"{total_ref / total_fast:>7.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
