"""`latent-walk storyboard SHOW --every 10 --out sheet.png`: the show at a glance, in one process.

A contact sheet of the show every N seconds of show time, each tile labelled with the section
playing and the time ("drift  1:20"). The frames are those the player shows at those times:
the same timeline and renderer, with crossfades, automation and the camera, rendered in
batches by one loaded model (no process start per still).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from installation.errors import InstallationError
from installation.progress import Progress, format_duration, plural
from installation.settings import AppSettings, add_option
from installation.tools import common

# Tiles are the frames' own size up to this; larger frames are scaled down (a 1024 px show
# would make a sheet of 30 tiles 6000 px wide).
MAX_DEFAULT_TILE_PX = 256


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `storyboard` subcommand's arguments."""
    p = sub.add_parser(
        "storyboard", help="a labelled contact sheet of a show every N seconds (section, time)"
    )
    add_option(p, "show", "show file (default shows/demo.yaml)")
    p.add_argument(
        "--every", type=common.positive_float, default=10.0, metavar="S",
        help="one tile every S seconds of show time (default 10)",
    )  # fmt: skip
    add_option(p, "--start", "first tile at show time S (default 0)")
    p.add_argument(
        "--end", type=common.positive_float, default=None, metavar="S",
        help="tiles before show time S (default: the end of one pass of the show)",
    )  # fmt: skip
    p.add_argument("--out", default="storyboard.png", help="the sheet PNG (default storyboard.png)")
    p.add_argument("--columns", type=common.positive_int, default=None, help="tiles per row")
    p.add_argument(
        "--tile-px", type=common.positive_int, default=None,
        help=f"tile size (default: the frames' size, at most {MAX_DEFAULT_TILE_PX})",
    )  # fmt: skip
    add_option(p, "--precision", "fast (default: what the player shows) or exact (float32)",
               default="fast")  # fmt: skip
    add_option(p, "--device")
    add_option(p, "--kernels")
    p.add_argument("--batch", type=common.positive_int, default=8, help="frames rendered at once")
    p.set_defaults(func=run)


def tile_times(start_s: float, every_s: float, end_s: float) -> list[float]:
    """start, start + every, ... before end (at least the start itself)."""
    count = max(1, math.ceil((end_s - start_s) / every_s - 1e-9))
    return [start_s + i * every_s for i in range(count)]


def format_time(seconds: float) -> str:
    """Show time for a label: '1:20', or '0:02.5' when not a whole second."""
    if abs(seconds - round(seconds)) < 1e-6:
        return format_duration(seconds)
    whole = math.floor(seconds)
    return f"{format_duration(whole)}.{round((seconds - whole) * 10) % 10}"


def tile_label(section: str, seconds: float) -> str:
    """'drift  1:20': the section playing and the show time."""
    return f"{section}  {format_time(seconds)}"


def run(args: argparse.Namespace) -> int:
    """Render the show at each tile time and write the labelled sheet; print what was written."""
    from installation.run.startup import build_renderer, load_startup  # torch comes in here

    settings = AppSettings(
        show_path=args.show, precision=args.precision, device=args.device,
        kernels=args.kernels, is_watching=False,
    )  # fmt: skip
    show = load_startup(settings)
    end_s = args.end if args.end is not None else show.total_s()
    if args.start >= end_s:
        raise InstallationError(
            f"--start {args.start:g}: the show ends at {format_time(end_s)} ({end_s:g} s)"
        )
    times = tile_times(args.start, args.every, end_s)
    started_s = time.perf_counter()
    renderer, _, _ = build_renderer(settings, show)
    frames = []
    with Progress(len(times), "storyboard", unit="tile") as progress:
        for first in range(0, len(times), args.batch):
            slots = list(enumerate(times))[first : first + args.batch]
            frames += renderer.render_batch(slots)
            progress.update(len(slots))
    images = [frame.rgb8() for frame in frames]
    tile_px = args.tile_px or min(
        max(max(image.shape[:2]) for image in images), MAX_DEFAULT_TILE_PX
    )
    labels = [tile_label(frame.section_name, t) for frame, t in zip(frames, times, strict=True)]
    sheet, _ = common.labelled_sheet(square_tiles(images, tile_px), labels, tile_px, args.columns)
    common.write_png(args.out, sheet)
    elapsed_s = time.perf_counter() - started_s
    print(f"wrote {plural(len(times), 'tile')} (every {args.every:g} s from "
          f"{format_time(args.start)} to {format_time(end_s)}) to {args.out} in "
          f"{elapsed_s:.1f} s")  # fmt: skip
    return 0


def square_tiles(images: list[np.ndarray], tile_px: int) -> np.ndarray:
    """Frames [H, W, 3] (any sizes) -> [N, tile_px, tile_px, 3], fitted (letterboxed) to squares."""
    from installation.display.video import fit_image

    return np.stack([fit_image(image, (tile_px, tile_px), "letterbox") for image in images])
