"""AppSettings: what an operator chooses when starting the show, parsed once from the command line.

Settings are immutable after start: a change means a restart (STYLE.md §8).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Precision = Literal["fast", "exact"]

# The default show ships with the project; resolved from the checkout so `python run_show.py`
# works from any working directory.
DEFAULT_SHOW_PATH = Path(__file__).resolve().parent.parent / "shows" / "demo.yaml"
DEFAULT_FPS = 30.0
# Window size when --windowed or --headless is given without --size (a common 16:9 screen).
DEFAULT_WINDOW_SIZE_PX = (1280, 720)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class AppSettings:
    """Operator settings for one run of the show (screen, pacing, stop conditions, model)."""

    show_path: Path = DEFAULT_SHOW_PATH
    display_index: int = 0
    is_windowed: bool = False
    window_size_px: tuple[int, int] | None = None  # (width, height); None: screen or default
    fps: float = DEFAULT_FPS  # display cap
    is_headless: bool = False  # offscreen EGL, no window
    max_frames: int | None = None  # stop after this many frames shown
    max_duration_s: float | None = None  # stop after this much show time
    precision: Precision = "fast"
    device: str = "cpu"
    log_file: Path | None = None
    log_level: str = "INFO"
    is_watching: bool = True  # reload the show when its file changes (--no-watch: off)

    @property
    def output_size_px(self) -> tuple[int, int]:
        """Size of a window or offscreen target when not fullscreen: --size or the default."""
        return self.window_size_px or DEFAULT_WINDOW_SIZE_PX


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    width, sep, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if not sep or min(size) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT in pixels, e.g. 1280x720, got {text!r}"
        )
    return size


def _positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected an integer > 0, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The run_show.py command line."""
    parser = argparse.ArgumentParser(
        prog="run_show.py",
        description="Play a latent-walk show fullscreen (or windowed, or headless).",
    )
    parser.add_argument(
        "show", nargs="?", type=Path, default=DEFAULT_SHOW_PATH,
        help="show file (YAML); default: shows/demo.yaml",
    )  # fmt: skip
    screen = parser.add_argument_group("screen")
    screen.add_argument("--display", type=_non_negative_int, default=0, metavar="N",
                        help="display index for fullscreen (default 0)")  # fmt: skip
    screen.add_argument("--windowed", action="store_true", help="a window instead of fullscreen")
    screen.add_argument("--size", type=parse_size, default=None, metavar="WxH",
                        help="window / offscreen size in pixels (default 1280x720)")  # fmt: skip
    screen.add_argument("--fps", type=_positive_float, default=DEFAULT_FPS,
                        help=f"frame rate cap (default {DEFAULT_FPS:g})")  # fmt: skip
    screen.add_argument("--headless", action="store_true",
                        help="render into an offscreen EGL framebuffer; no window")  # fmt: skip
    stop = parser.add_argument_group("stopping")
    stop.add_argument("--frames", type=_positive_int, default=None, metavar="N",
                      help="stop after N frames shown")  # fmt: skip
    stop.add_argument("--duration", type=_positive_float, default=None, metavar="S",
                      help="stop after S seconds of show time")  # fmt: skip
    model = parser.add_argument_group("model")
    model.add_argument("--precision", choices=("fast", "exact"), default="fast",
                       help="fast: bf16/fp16 where it helps; exact: float32")  # fmt: skip
    screen.add_argument("--no-watch", action="store_true",
                        help="no reload when the show file changes (r still reloads)")  # fmt: skip
    model.add_argument("--device", default="cpu", help="torch device (default cpu)")
    logs = parser.add_argument_group("logging")
    logs.add_argument("--log-file", type=Path, default=None, help="also append the log here")
    logs.add_argument("--log-level", choices=LOG_LEVELS, default="INFO")
    return parser


def settings_from_argv(argv: Sequence[str] | None = None) -> AppSettings:
    """Parse run_show.py arguments into AppSettings (argparse exits 2 on bad usage)."""
    args = build_parser().parse_args(argv)
    return AppSettings(
        show_path=args.show,
        display_index=args.display,
        is_windowed=args.windowed,
        window_size_px=args.size,
        fps=args.fps,
        is_headless=args.headless,
        max_frames=args.frames,
        max_duration_s=args.duration,
        precision=args.precision,
        device=args.device,
        log_file=args.log_file,
        log_level=args.log_level,
        is_watching=not args.no_watch,
    )
