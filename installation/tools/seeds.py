"""`latent-walk seeds`: contact sheets of seeds, each tile labelled with its seed number.

An artist browses a model by seed number and picks keyframes from the sheets. With `--mix-with
SEED --layers 0-3` every tile is its seed with ws rows 0-3 taken from SEED (style mixing), the
label saying so ("123 x7 [0-3]"). More seeds than `--per-sheet` make several numbered sheets
(sheet_000.png, sheet_001.png, …) so no single PNG grows unwieldy.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from installation.options import PRECISIONS
from installation.progress import Progress, plural
from installation.tools import common

# Most tiles on one sheet; more seeds go on further sheets (16 x 16 tiles of 256 px ~ 4k px).
DEFAULT_PER_SHEET = 256


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `seeds` subcommand's arguments."""
    p = sub.add_parser("seeds", help="contact sheets of seeds, each labelled with its number")
    p.add_argument("model", help=".pkl (NVIDIA torch or TF) or our .safetensors")
    p.add_argument(
        "--from",
        dest="first",
        type=common.non_negative_int,
        default=0,
        help="first seed (default 0)",
    )
    p.add_argument(
        "--count", type=common.positive_int, default=64, help="how many seeds (default 64)"
    )
    p.add_argument("--psi", type=float, default=common.DEFAULT_PSI, help=common.PSI_HELP)
    p.add_argument("--cutoff", type=int, default=None, help="truncate only the first N ws rows")
    p.add_argument("--class", dest="class_idx", type=int, default=None, help="class (cond. models)")
    p.add_argument("--noise", choices=["const", "random", "none"], default="const")
    p.add_argument("--mix-with", type=int, default=None, metavar="SEED", help="style-mix source")
    p.add_argument("--layers", default="8-", help="ws rows from --mix-with: 0-3, 4-7, 8-, fine")
    p.add_argument("--columns", type=common.positive_int, default=None, help="tiles per row")
    p.add_argument(
        "--tile-px", type=common.positive_int, default=256, help="tile size (default 256)"
    )
    p.add_argument(
        "--per-sheet", type=common.positive_int, default=DEFAULT_PER_SHEET,
        help="tiles per sheet; more seeds make out_000.png, out_001.png, … "
        f"(default {DEFAULT_PER_SHEET})",
    )  # fmt: skip
    p.add_argument("--out", default="sheet.png", help="the sheet PNG (default sheet.png)")
    p.add_argument("--w-out", default=None, metavar="DIR", help="also save seedNNNN.npy ws here")
    p.add_argument("--batch", type=common.positive_int, default=8, help="images rendered at once")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", choices=PRECISIONS, default="exact")
    p.set_defaults(func=run)


def seed_label(seed: int, mix_with: int | None = None, rows: list[int] | None = None) -> str:
    """'123', or '123 x7 [0-3]' for seed 123 with rows 0-3 from seed 7."""
    if mix_with is None:
        return str(seed)
    return f"{seed} x{mix_with} [{common.format_rows(rows or [])}]"


def run(args: argparse.Namespace) -> int:
    """Render the seeds, write the sheet(s) and optionally the ws; print what was written."""
    G = common.load_model(args.model, device=args.device, precision=args.precision)
    rows = (
        common.parse_layer_range(args.layers, G.num_ws, "--layers")
        if args.mix_with is not None
        else []
    )
    class_index = common.checked_class(G, args.class_idx)
    seeds = list(range(args.first, args.first + args.count))
    started = time.perf_counter()
    paths = common.sheet_paths(args.out, len(seeds), args.per_sheet)
    if args.columns is None:  # every sheet of a run gets the first sheet's columns
        args.columns = math.ceil(math.sqrt(min(len(seeds), args.per_sheet)))
    with Progress(len(seeds), "seeds", unit="seed") as progress:
        for index, path in enumerate(paths):
            chunk = seeds[index * args.per_sheet : (index + 1) * args.per_sheet]
            write_sheet(G, chunk, args, rows, class_index, path, progress)
    elapsed_s = time.perf_counter() - started
    where = paths[0] if len(paths) == 1 else f"{len(paths)} sheets {paths[0]} … {paths[-1].name}"
    print(f"wrote {plural(len(seeds), 'seed')} to {where} in {elapsed_s:.1f} s")
    return 0


def write_sheet(
    G: object,
    seeds: list[int],
    args: argparse.Namespace,
    rows: list[int],
    class_index: int | None,
    path: Path,
    progress: Progress,
) -> None:
    """Render `seeds` (mixed when rows) and write one labelled sheet (and their ws)."""
    ws = common.seeds_ws(G, seeds, args.psi, args.cutoff, class_index)  # [N, num_ws, w_dim]
    if rows:
        ws_mix = common.seeds_ws(G, [args.mix_with], args.psi, args.cutoff, class_index)  # [1,...]
        ws = ws.clone()
        ws[:, rows] = ws_mix[:, rows]
    images = common.render_ws(G, ws, args.batch, args.noise, on_batch=progress.update)
    labels = [seed_label(s, args.mix_with if rows else None, rows) for s in seeds]
    sheet, _ = common.labelled_sheet(images, labels, args.tile_px, args.columns)
    common.write_png(path, sheet)
    if args.w_out:
        out_dir = Path(args.w_out)
        out_dir.mkdir(parents=True, exist_ok=True)
        for seed, seed_ws in zip(seeds, ws.cpu().numpy(), strict=True):
            np.save(out_dir / f"seed{seed:04d}.npy", seed_ws.astype(np.float32))
