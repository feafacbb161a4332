"""`latent-walk generate`: render seeds to PNG files (and a grid), NVIDIA's seeds and conventions.

Each seed becomes `seedNNNN.png` (with `--w-out` also its ws as `seedNNNN.npy`, a show keyframe);
`--grid` adds `grid.png`, every cell filled: the columns are a divisor of the image count.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from installation.errors import InstallationError
from installation.options import PRECISIONS
from installation.progress import Progress, plural
from installation.tools import common


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `generate` subcommand's arguments."""
    p = sub.add_parser("generate", help="render seeds to PNG files (and a grid)")
    p.add_argument("model", help=".pkl (NVIDIA torch or TF) or our .safetensors")
    p.add_argument("--seeds", type=common.parse_int_ranges, default=[0], help="e.g. 0,1,4-6")
    p.add_argument("--psi", type=float, default=common.DEFAULT_PSI, help=common.PSI_HELP)
    p.add_argument("--cutoff", type=int, default=None, help="truncate only the first N ws rows")
    p.add_argument("--noise", choices=["const", "random", "none"], default="const")
    p.add_argument("--class", dest="class_idx", type=int, default=None, help="class (cond. models)")
    p.add_argument("--translate", type=parse_pair, default=None, help="SG3 camera 'x,y'")
    p.add_argument("--rotate", type=float, default=None, help="SG3 camera rotation, degrees")
    p.add_argument("--mix-seed", type=int, default=None, help="style-mixing source seed")
    p.add_argument("--mix-layers", default="8-", help="ws rows from --mix-seed: '8-', '0-3', fine")
    p.add_argument("--grid", action="store_true", help="also write grid.png, every cell filled")
    p.add_argument(
        "--grid-columns", type=common.positive_int, default=None, metavar="N",
        help="columns of grid.png, a divisor of the seed count (default: the divisor nearest "
        "a square grid, at least as wide as high)",
    )  # fmt: skip
    p.add_argument("--w-out", action="store_true", help="save ws [num_ws, w_dim] as seedNNNN.npy")
    p.add_argument("--out", default="out", help="output directory (default out)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--precision", choices=PRECISIONS, default="exact",
                   help="exact: float32 (default); fast: bf16/fp16 where it helps")  # fmt: skip
    p.set_defaults(func=run)


def parse_pair(text: str) -> tuple[float, float]:
    """'0.3,-0.2' -> (0.3, -0.2)."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers 'x,y', got {text!r}") from None
    return x, y


def grid_columns(count: int, columns: int | None = None) -> int:
    """Columns of a grid of `count` images with no empty cell.

    Default: the smallest divisor of `count` that is at least its square root (12 -> 4 x 3,
    8 -> 4 x 2, a prime -> one row). A given `columns` must divide `count`.

    Raises:
        InstallationError: `columns` would leave cells empty; the message lists the divisors.
    """
    divisors = [d for d in range(1, count + 1) if count % d == 0]
    if columns is None:
        return min(d for d in divisors if d * d >= count)
    if count % columns:
        empty = math.ceil(count / columns) * columns - count
        raise InstallationError(
            f"--grid-columns {columns}: {plural(count, 'image')} in rows of {columns} leave "
            f"{plural(empty, 'cell')} empty; use one of {', '.join(map(str, divisors))}"
        )
    return columns


def make_grid(images: np.ndarray, columns: int) -> np.ndarray:
    """[N, H, W, C] -> one [rows*H, columns*W, C] image, row by row (N a multiple of columns)."""
    n, h, w, c = images.shape
    rows = n // columns
    return (
        images.reshape(rows, columns, h, w, c)
        .transpose(0, 2, 1, 3, 4)
        .reshape(rows * h, columns * w, c)
    )


def run(args: argparse.Namespace) -> int:
    """Render each seed to seedNNNN.png (and .npy, grid.png); print what was written."""
    import torch  # here, not at the top: `latent-walk --help` starts without torch

    from installation.models.latents import map_z, seed_z, to_uint8
    from installation.models.stylegan3 import camera_transform

    columns = grid_columns(len(args.seeds), args.grid_columns) if args.grid else 0
    G = common.load_model(args.model, device=args.device, precision=args.precision)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    class_index = common.checked_class(G, args.class_idx)
    synthesis_kwargs: dict[str, Any] = {"noise_mode": args.noise}
    if args.translate is not None or args.rotate is not None:
        if not G.is_stylegan3:
            raise InstallationError("--translate/--rotate need a StyleGAN3 model (it has a camera)")
        transform = camera_transform(args.translate or (0.0, 0.0), args.rotate or 0.0)
        synthesis_kwargs["transform"] = transform.to(args.device)
    mix_rows = (
        common.parse_layer_range(args.mix_layers, G.num_ws) if args.mix_seed is not None else []
    )
    images = []  # kept for the grid only: a long seed range must not pile up in memory
    count = 0
    started_s = time.perf_counter()
    with torch.inference_mode(), Progress(len(args.seeds), "generate", unit="image") as progress:
        for seed in args.seeds:
            z = seed_z(seed, G.z_dim).to(args.device)  # [1, z_dim]
            ws = map_z(G, z, class_index, args.psi, args.cutoff)
            if mix_rows:
                z_mix = seed_z(args.mix_seed, G.z_dim).to(args.device)
                ws_mix = map_z(G, z_mix, class_index, args.psi, args.cutoff)
                ws[:, mix_rows] = ws_mix[:, mix_rows]
            img = to_uint8(G.synthesis(ws, **synthesis_kwargs))[0]
            if args.grid:
                images.append(img)
            count += 1
            common.write_png(out_dir / f"seed{seed:04d}.png", img)
            if args.w_out:
                np.save(out_dir / f"seed{seed:04d}.npy", ws[0].cpu().numpy())
            progress.update()
    written = [plural(count, "image")]
    if args.w_out:
        written.append(plural(count, "ws file"))
    if args.grid:
        rows = len(images) // columns
        common.write_png(out_dir / "grid.png", make_grid(np.stack(images), columns))
        written.append(f"grid.png ({columns} x {rows})")
    elapsed_s = time.perf_counter() - started_s
    listed = ", ".join(written[:-1]) + " and " + written[-1] if len(written) > 1 else written[0]
    print(f"wrote {listed} to {out_dir} in {elapsed_s:.1f} s")
    return 0
