"""`latent-walk render SHOW --out FILE`: the show rendered offline to an MP4 or PNG frames.

The documented way to render (`run_show.py --out` does the same through
installation/run/offline.py).
It prints the plan, then an estimate of the whole render measured on the first frames, with the
quicker `--preview` (fast precision, the model's own size or smaller) as the alternative.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from installation.settings import (
    DEFAULT_MAX_BATCH,
    DEFAULT_SHOW_PATH,
    ENV_KERNELS,
    AppSettings,
    _non_negative_float,
    parse_size,
)
from installation.tools import common


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `render` subcommand's arguments."""
    p = sub.add_parser(
        "render", help="render a show offline to an MP4 or PNG frames (with an estimate first)"
    )
    p.add_argument(
        "show",
        nargs="?",
        type=Path,
        default=DEFAULT_SHOW_PATH,
        help="show file (default shows/demo.yaml)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE.mp4|DIR/",
        help="H.264 video (.mp4 .mov .mkv .m4v) or a folder of PNG frames",
    )
    p.add_argument(
        "--preview",
        action="store_true",
        help="a quick look: fast precision, the model's own size (or the show's size if "
        "smaller), a faster encoder; --precision and --size still win",
    )
    p.add_argument(
        "--start",
        type=_non_negative_float,
        default=0.0,
        metavar="S",
        help="first frame at show time S seconds (default 0)",
    )
    p.add_argument(
        "--frames",
        type=common.positive_int,
        default=None,
        metavar="N",
        help="render N frames (default: one pass of the show)",
    )
    p.add_argument(
        "--duration",
        type=common.positive_float,
        default=None,
        metavar="S",
        help="render S seconds of show time (default: one pass of the show)",
    )
    p.add_argument(
        "--fps",
        type=common.positive_float,
        default=None,
        help="frames per second of the video (default: the show's output.fps, else 30)",
    )
    p.add_argument(
        "--size",
        type=parse_size,
        default=None,
        metavar="WxH",
        help="video size (default: the show's output.size_px, else the model's)",
    )
    p.add_argument(
        "--fit",
        choices=("letterbox", "fill", "stretch"),
        default="letterbox",
        help="frame vs video aspect: black bars (default), crop, or stretch",
    )
    p.add_argument(
        "--precision",
        choices=("exact", "fast"),
        default=None,
        help="exact: float32 (default); fast: bf16/fp16 (default with --preview)",
    )
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument(
        "--kernels",
        choices=("auto", "cuda", "torch", "reference"),
        default=os.environ.get(ENV_KERNELS, "auto"),
        help=f"resampling kernels (default auto, or ${ENV_KERNELS})",
    )
    p.add_argument(
        "--batch",
        type=common.positive_int,
        default=DEFAULT_MAX_BATCH,
        metavar="N",
        help=f"frames per generator pass (default {DEFAULT_MAX_BATCH})",
    )
    p.add_argument(
        "--stats-json",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the render's statistics (frames, timings, memory) here",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the show; the plan, the estimate, the progress and the result go to stderr."""
    from installation.run.offline import render_offline  # torch comes in here

    settings = AppSettings(
        show_path=args.show,
        out_path=args.out,
        start_s=args.start,
        max_frames=args.frames,
        max_duration_s=args.duration,
        fps=args.fps,
        window_size_px=args.size,
        fit=args.fit,
        precision=args.precision,
        device=args.device,
        kernels=args.kernels,
        max_batch=args.batch,
        stats_json=args.stats_json,
        is_watching=False,
    )
    return render_offline(settings, is_preview=args.preview, stream=sys.stderr)
