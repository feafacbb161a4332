"""Make the README's animated clip of the demo show (docs/demo.webp) at the model's own size.

A curator sees the motion before installing anything. The clip is a continuous stretch of
`shows/demo.yaml` (by default the seconds around the first section change, so a crossfade is in
it), rendered through the player's own timeline and renderer (fast precision, what the player
shows), at the demo network's own size, and saved as an animated WebP (or GIF by the suffix).
The WebP quality is lowered step by step until the file fits --max-kb.

Run: python scripts/make_demo_clip.py [--out docs/demo.webp] [--start S] [--seconds 8]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout

from installation.settings import DEFAULT_SHOW_PATH, AppSettings  # noqa: E402

log = logging.getLogger("make_demo_clip")

DEFAULT_OUT = ROOT / "docs" / "demo.webp"
# 15 frames/s: smooth enough for a slow latent walk, half the bytes of the show's 30.
DEFAULT_FPS = 15.0
DEFAULT_SECONDS = 8.0
DEFAULT_MAX_KB = 600  # "a few hundred KB": loads fast on a repository page
WEBP_QUALITIES = (80, 70, 60, 50, 40, 30)  # tried in turn until the file fits
WEBP_METHOD = 6  # libwebp's slowest, smallest encoding


def clip_start_s(show_path: Path, seconds: float) -> float:
    """The start that centres the clip on the end of the first section (its transition)."""
    from installation.show.load import load_show

    show = load_show(show_path)
    if len(show.sections) < 2:
        return 0.0
    first_end_s = show.sections[0].length_s(show.settings.speed)
    return max(0.0, first_end_s - seconds / 2)


def render_frames(show_path: Path, start_s: float, seconds: float, fps: float) -> list[np.ndarray]:
    """The show's frames [H, W, 3] uint8 from start_s for `seconds`, at the model's own size."""
    from installation.progress import Progress
    from installation.run.startup import build_renderer, load_startup

    settings = AppSettings(show_path=show_path, precision="fast", device="cpu", is_watching=False)
    renderer, _, _ = build_renderer(settings, load_startup(settings))
    count = max(1, round(seconds * fps))
    frames: list[np.ndarray] = []
    with Progress(count, "clip", unit="frame") as progress:
        for first in range(0, count, 8):
            slots = [(i, start_s + i / fps) for i in range(first, min(first + 8, count))]
            frames += [frame.rgb8() for frame in renderer.render_batch(slots)]
            progress.update(len(slots))
    return frames


def save_clip(frames: list[np.ndarray], out: Path, fps: float, max_kb: float) -> int:
    """Write the animation (WebP: the best quality that fits max_kb; GIF: one pass); its bytes."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    duration_ms = round(1000 / fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".gif":
        images[0].save(out, save_all=True, append_images=images[1:], duration=duration_ms,
                       loop=0, optimize=True)  # fmt: skip
        return out.stat().st_size
    for quality in WEBP_QUALITIES:
        images[0].save(out, save_all=True, append_images=images[1:], duration=duration_ms,
                       loop=0, quality=quality, method=WEBP_METHOD)  # fmt: skip
        size = out.stat().st_size
        log.info("webp quality=%d size_kb=%.0f", quality, size / 1024)
        if size <= max_kb * 1024:
            break
    return out.stat().st_size


def main() -> int:
    """Render the clip and write it; print its size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=Path, default=DEFAULT_SHOW_PATH, help="default: demo.yaml")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="a .webp or .gif")
    parser.add_argument("--start", type=float, default=None, metavar="S",
                        help="show time of the first frame (default: around the first section "
                        "change)")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS)
    parser.add_argument("--max-kb", type=float, default=DEFAULT_MAX_KB,
                        help=f"largest WebP wanted (default {DEFAULT_MAX_KB})")  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    start_s = clip_start_s(args.show, args.seconds) if args.start is None else args.start
    frames = render_frames(args.show, start_s, args.seconds, args.fps)
    size = save_clip(frames, args.out, args.fps, args.max_kb)
    height, width = frames[0].shape[:2]
    print(f"wrote {args.out}: {len(frames)} frames {width}x{height} at {args.fps:g} frames/s "
          f"from {start_s:g} s, {size / 1024:.0f} KB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
