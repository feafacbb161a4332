"""Option types: each checked command-line value of run_show.py and latent-walk, defined once.

A leaf module (no torch; of the app only netcheck.py, the port rule): settings.py, cli.py and
the tools take their argparse types and choices from here, and the layers below may import the
names they share (`Precision`). A bad value is one argparse error naming what was expected, e.g.
`expected a number > 0 and <= 1000 frames/s, got '0'`.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args

from installation.netcheck import PORT_TEXT, is_port

# The generator's arithmetic: fast (bf16/fp16 where it helps) or exact (float32).
Precision = Literal["fast", "exact"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
# The app's names of the kernel backends: kernels/backend.py's `Backend` (the kernels import
# nothing from the app, and the app reaches them only with torch; a unit test keeps the two equal).
KernelBackend = Literal["auto", "cuda", "torch", "reference"]
KERNEL_BACKENDS: tuple[str, ...] = get_args(KernelBackend)

# Bounds of the numeric options: beyond them no show plays (a 16k texture, a 1 kHz display, a
# show time of 30 years) and a typo would only fail later, deeper, with a traceback.
MAX_SIZE_PX = 16384  # GL_MAX_TEXTURE_SIZE of current GPUs
MAX_FPS = 1000.0
MAX_SHOW_TIME_S = 1e9  # --start, --duration: about 31 years
MAX_FRAMES = 2**31 - 1
MAX_TIMEOUT_S = 86_400.0  # --hang-timeout, --supervise-timeout: a day
MAX_EPOCH_S = 1e11  # --epoch-of-start: a wall-clock time in epoch s (the year 5138)


def checked_number(
    convert: Callable[[str], float], is_ok: Callable[[float], bool], expected: str
) -> Callable[[str], Any]:
    """An argparse type: `convert(text)` that must satisfy `is_ok`, else 'expected <expected>'."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not is_ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


def checked_range(
    convert: Callable[[str], float], low: float, high: float, unit: str = "",
    is_low_open: bool = False,
) -> Callable[[str], Any]:  # fmt: skip
    """An argparse type: a finite number (an integer with convert=int) in low..high.

    `is_low_open`: low itself is refused (> low, e.g. a rate or a duration > 0).
    """
    kind = "an integer" if convert is int else "a number"
    bounds = f"> {_plain(low)} and <= {_plain(high)}" if is_low_open else (
        f"in {_plain(low)}..{_plain(high)}"
    )  # fmt: skip
    expected = f"{kind} {bounds}{f' {unit}' if unit else ''}"

    def is_ok(value: float) -> bool:
        is_above = value > low if is_low_open else value >= low
        return math.isfinite(value) and is_above and value <= high

    return checked_number(convert, is_ok, expected)


def _plain(value: float) -> str:
    """1e9 -> '1000000000', 0.5 -> '0.5': bounds as a user types them."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def checked_above(
    convert: Callable[[str], float], low: float, high: float, unit: str = ""
) -> Callable[[str], Any]:
    """An argparse type: a finite number > low and <= high."""
    return checked_range(convert, low, high, unit, is_low_open=True)


positive_float = checked_above(float, 0, 1e9)
non_negative_float = checked_range(float, 0, 1e9)
positive_int = checked_range(int, 1, MAX_FRAMES)
non_negative_int = checked_range(int, 0, MAX_FRAMES)
port = checked_number(int, is_port, PORT_TEXT)  # the rule of a show's show.osc.port too
fps = checked_above(float, 0, MAX_FPS, "frames/s")
show_time = checked_range(float, 0, MAX_SHOW_TIME_S, "s")  # --start
duration = checked_above(float, 0, MAX_SHOW_TIME_S, "s")
timeout = checked_above(float, 0, MAX_TIMEOUT_S, "s")
epoch = checked_range(float, 0, MAX_EPOCH_S, "s")


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    width, sep, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if not sep or min(size) <= 0 or max(size) > MAX_SIZE_PX:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT in pixels (1..{MAX_SIZE_PX} each), e.g. 1280x720, got {text!r}"
        )
    return size


def host_port(text: str) -> tuple[str, int]:
    """argparse type: 'HOST:PORT' -> (host, port)."""
    host, sep, port_text = text.rpartition(":")
    try:
        port_number = int(port_text)
    except ValueError:
        port_number = 0
    if not sep or not host or not is_port(port_number):
        raise argparse.ArgumentTypeError(f"expected HOST:PORT like 192.168.1.20:9001, got {text!r}")
    return host, port_number


def clock_time(text: str) -> datetime.time:
    """argparse type: 'HH:MM' (24-hour local time) -> datetime.time."""
    hours, sep, minutes = text.partition(":")
    try:
        value = datetime.time(int(hours), int(minutes)) if sep and len(minutes) == 2 else None
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a time HH:MM like 04:30, got {text!r}")
    return value


def output_problem(path: Path, is_folder: bool) -> str | None:
    """Why `path` (a file, or a folder when `is_folder`) cannot be written; None when it can.

    The path itself is not created: a file it already is must be writable; otherwise its
    nearest existing ancestor must be a folder that takes a new file (tried with a temporary
    file, so a read-only file system or /proc is found out as well as permissions).
    """
    if path.exists():
        if path.is_dir() != is_folder:
            return "is a directory, not a file" if path.is_dir() else "is a file, not a directory"
        if not os.access(path, os.W_OK):
            return "not writable (permission denied or a read-only file system)"
        return None
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot create it: {ancestor} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as err:
        return f"cannot create files in {ancestor} ({err.strerror or err})"
    return None


def input_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a file (one accurate phrase), or None when it can.

    A folder or a device file (/dev/zero: endless bytes) is named as what it is, before
    anything reads it; "no such file" only when nothing is there.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as err:
        return f"cannot read it ({err.strerror or err})"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            return "is a device file, not a regular file"
        return "is a pipe or socket, not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot read it (permission denied)"
    return None
