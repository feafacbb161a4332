"""Fit: how a frame fills a target of another aspect; the names alone (no GL, no numpy).

The presenters, the video writer and the command line (`--fit`) all take these names.
"""

from __future__ import annotations

from typing import Literal, get_args

Fit = Literal["letterbox", "fill", "stretch"]  # black bars, crop to fill, or stretch
FITS: tuple[str, ...] = get_args(Fit)  # the values of Fit, for checks and --fit's choices
