"""`latent-walk render SHOW --out FILE`: the show rendered offline to an MP4 or PNG frames.

The documented way to render (`run_show.py --out` does the same through
installation/run/offline.py).
It prints the plan, then an estimate of the whole render measured on the first frames, with the
quicker `--preview` (fast precision, the model's own size or smaller) as the alternative.
"""

from __future__ import annotations

import argparse
import sys

from installation.settings import DEFAULT_MAX_BATCH, AppSettings, add_option
from installation.tools import common


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `render` subcommand's arguments (those run_show.py has too: settings.add_option)."""
    p = sub.add_parser(
        "render", help="render a show offline to an MP4 or PNG frames (with an estimate first)"
    )
    add_option(p, "show", "show file (default shows/demo.yaml)")
    add_option(p, "--out", "H.264 video (.mp4 .mov .mkv .m4v) or a folder of PNG frames",
               required=True)  # fmt: skip
    p.add_argument(
        "--preview",
        action="store_true",
        help="a quick look: fast precision, the model's own size (or the show's size if "
        "smaller), a faster encoder; --precision and --size still win",
    )
    add_option(p, "--audio", "render to this sound file (WAV, FLAC, MP3, ...): it drives the "
               "show's audio.* sensors frame by frame and is muxed into the video (AAC), in "
               "sync; the render lasts the song unless --frames or --duration")  # fmt: skip
    add_option(p, "--start", "first frame at show time S seconds (default 0)")
    add_option(p, "--frames", "render N frames (default: one pass of the show)")
    add_option(p, "--duration", "render S seconds of show time (default: one pass of the show)")
    add_option(p, "--fps", "frames per second of the video (default: the show's output.fps, "
               "else 30)")  # fmt: skip
    add_option(p, "--size", "video size (default: the show's output.size_px, else the model's)")
    add_option(p, "--fit", "frame vs video aspect: black bars (default), crop, or stretch")
    add_option(p, "--precision", "exact: float32 (default); fast: bf16/fp16 (default with "
               "--preview)")  # fmt: skip
    add_option(p, "--device")
    add_option(p, "--kernels")
    p.add_argument(
        "--batch",
        type=common.positive_int,
        default=DEFAULT_MAX_BATCH,
        metavar="N",
        help=f"frames per generator pass (default {DEFAULT_MAX_BATCH})",
    )
    add_option(p, "--stats-json", "write the render's statistics (frames, timings, memory) here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the show; the plan, the estimate, the progress and the result go to stderr."""
    from installation.run.offline import render_offline  # torch comes in here

    settings = AppSettings(
        show_path=args.show,
        out_path=args.out,
        audio_path=args.audio,
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
