"""Float32 3x3 convs: Winograd F(4x4, 3x3) (kernels/winograd.py) beside oneDNN's direct conv.

One process, the player's thread policy, StyleGAN3-T-256's and StyleGAN2-256's layer shapes
(batch 1, channels-last), each run alternately; prints the median ms of each, the ratio, and
the largest relative difference of each from a float64 conv. `--bands` also times other band
sizes (kernels.winograd.BAND_FLOATS, in floats).

    python benchmarks/winograd.py
    python benchmarks/winograd.py --bands 1048576,4194304,67108864
"""

from __future__ import annotations

import argparse
import statistics
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

from kernels import winograd  # noqa: E402

# (in channels, input size, out channels, padding): SG3-T-256 (full convs, padding 2), SG2-256
SHAPES = [
    (362, 148, 256, 2), (512, 84, 512, 2), (512, 84, 362, 2), (512, 52, 512, 2),
    (512, 36, 512, 2), (256, 148, 181, 2), (128, 276, 91, 2), (181, 148, 128, 2),
    (91, 276, 64, 2), (64, 276, 64, 2),
    (512, 32, 512, 1), (256, 64, 256, 1), (128, 128, 128, 1),
]  # fmt: skip


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bands", default=str(winograd.BAND_FLOATS))
    args = parser.parse_args()
    bands = [int(b) for b in args.bands.split(",")]
    print(cpu_description())
    print(f"threads={torch.get_num_threads()} torch={torch.__version__}")
    totals = {"direct": 0.0, **{b: 0.0 for b in bands}}
    with torch.inference_mode():
        for in_ch, size, out_ch, padding in SHAPES:
            gen = torch.Generator().manual_seed(in_ch + size)
            x = torch.randn(1, in_ch, size, size, generator=gen)
            x = x.contiguous(memory_format=torch.channels_last)
            weight = torch.randn(out_ch, in_ch, 3, 3, generator=gen) / (9 * in_ch) ** 0.5
            weight = weight.contiguous(memory_format=torch.channels_last)
            u = winograd.transform_weight(weight)
            exact = F.conv2d(x.double(), weight.double(), padding=padding)
            scale = float(exact.abs().max())
            conv = lambda x=x, w=weight, p=padding: F.conv2d(x, w, padding=p)  # noqa: E731
            direct = median_ms(conv, args.repeats)
            row = f"{in_ch:>4} -> {out_ch:<4} {size:>3} px pad {padding}: direct {direct:6.1f} ms"
            totals["direct"] += direct
            for band in bands:
                winograd.BAND_FLOATS = band
                ms = median_ms(lambda x=x, u=u, p=padding: winograd.conv3x3(x, u, p), args.repeats)
                totals[band] += ms
                row += f"  winograd[{band}] {ms:6.1f} ms x{direct / ms:4.2f}"
            err_w = float((winograd.conv3x3(x, u, padding).double() - exact).abs().max()) / scale
            err_d = float((F.conv2d(x, weight, padding=padding).double() - exact).abs().max())
            row += f"  rel err winograd {err_w:.1e} direct {err_d / scale:.1e}"
            print(row, flush=True)
    summary = "  ".join(
        f"{name if name == 'direct' else f'winograd[{name}]'} {ms:.1f} ms"
        for name, ms in totals.items()
    )
    print(f"sum: {summary}")


if __name__ == "__main__":
    main()
