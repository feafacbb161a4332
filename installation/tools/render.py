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

DEFAULT_CHUNK_FRAMES = 240  # run/farm.py's (that module loads torch; this one must not)


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
    add_option(p, "--frames", "render N frames (default: one pass of the show); A-B: only "
               "frames A..B (from 0) of that render, exactly as the whole render makes them, "
               "into FILE's segment folder or DIR/frame_A.png.. (a render manager's task; "
               "docs/operators.md, Render farm)", type=frames_or_range,
               metavar="N|A-B")  # fmt: skip
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
    farm = p.add_argument_group("render farm (docs/operators.md, Render farm)")
    farm.add_argument(
        "--farm",
        choices=["ray"],
        default=None,
        help="split the render into chunks rendered as Ray tasks (one GPU, else one CPU each), "
        "joined without re-encoding; re-running renders only missing or corrupt chunks "
        "(pip install 'latent-walk[farm]')",
    )
    farm.add_argument(
        "--address",
        default=None,
        metavar="ray://HOST:10001|auto",
        help="the Ray cluster to use (default: start one on this machine)",
    )
    farm.add_argument(
        "--chunk-frames",
        type=common.positive_int,
        default=DEFAULT_CHUNK_FRAMES,
        metavar="N",
        help=f"frames per chunk, about (default {DEFAULT_CHUNK_FRAMES}; boundaries fall on "
        "generator passes)",
    )
    p.set_defaults(func=run)


def frames_or_range(text: str) -> int | tuple[int, int]:
    """--frames: N (a count > 0) or A-B (frames A..B of the render, from 0)."""
    first, dash, last = text.partition("-")
    if not dash:
        return common.positive_int(text)
    try:
        span = (int(first), int(last))
    except ValueError:
        message = f"expected N or A-B (frame numbers), got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if span[0] < 0 or span[1] < span[0]:
        raise argparse.ArgumentTypeError(f"expected A-B with 0 <= A <= B, got {text!r}")
    return span


def run(args: argparse.Namespace) -> int:
    """Render the show; the plan, the estimate, the progress and the result go to stderr."""
    from installation.run.offline import render_offline  # torch comes in here

    frame_range = args.frames if isinstance(args.frames, tuple) else None
    settings = AppSettings(
        show_path=args.show,
        out_path=args.out,
        audio_path=args.audio,
        start_s=args.start,
        max_frames=None if frame_range else args.frames,
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
    if args.farm is not None or frame_range is not None:
        from installation.run import farm

        if frame_range is not None:
            if args.farm is not None:
                raise farm.FarmError("--frames A-B renders one chunk here; leave out --farm")
            return farm.render_range(settings, *frame_range, args.preview, sys.stderr)
        return farm.render_farm(settings, args.preview, args.chunk_frames, args.address,
                                sys.stderr)  # fmt: skip
    return render_offline(settings, is_preview=args.preview, stream=sys.stderr)
