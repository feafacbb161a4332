"""Several outputs of one PC: which part of the frame each shows, and the edge blend between them.

A frame is rendered once (the canvas); each output shows a rectangle of it (its region), fitted
to its own screen. Side-by-side projectors overlap a little and fade out over the shared strip
(a soft-edge ramp): in linear light the two ramps add up to 1, so the seam disappears. The
projector turns a signal s into light s**gamma, so the signal is multiplied by
ramp**(1 / gamma) (the quad shader does this per pixel; `blend_factor` is the numpy rule the
tests hold it to).

Pure data and numpy: no GL here (the presenters draw with it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .fit import FITS, Fit

DEFAULT_BLEND_GAMMA = 2.2  # a typical projector's gamma
BLEND_GAMMA_RANGE = (1.0, 4.0)
MAX_OUTPUTS = 16
MAX_OVERLAP_FRACTION = 0.5  # of an output's width: more would let three outputs share a strip
OVERLAP_PX = re.compile(r"(\d{1,5})px")


@dataclass(frozen=True)
class Overlap:
    """The edge-blend strip between neighbouring outputs: a fraction of an output's width, or
    pixels of the output (`is_px`), which become a fraction once the output's width is known.
    """

    value: float = 0.0
    is_px: bool = False

    def fraction(self, output_width_px: int) -> float:
        """The strip as a fraction of one output's width (MAX_OVERLAP_FRACTION at most)."""
        fraction = self.value / max(1, output_width_px) if self.is_px else self.value
        return min(max(fraction, 0.0), MAX_OVERLAP_FRACTION)

    def __str__(self) -> str:
        return f"{self.value:g}px" if self.is_px else f"{self.value:g}"


def parse_overlap(text: str) -> Overlap:
    """'0.15' (a fraction of an output's width, 0 to 0.5) or '192px'; ValueError otherwise."""
    text = text.strip()
    match = OVERLAP_PX.fullmatch(text)
    if match:
        return Overlap(float(match[1]), is_px=True)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= MAX_OVERLAP_FRACTION:  # NaN fails too
        raise ValueError(
            f"overlap: {text!r} must be a fraction of an output's width from 0 to "
            f"{MAX_OVERLAP_FRACTION:g} (e.g. 0.15) or pixels like 192px"
        )
    return Overlap(value)


@dataclass(frozen=True)
class Screen:
    """One output as the operator names it: the monitor (display index) and its fit."""

    display: int
    fit: Fit | None = None  # None: the show's --fit


@dataclass(frozen=True)
class OutputsLayout:
    """Screens side by side, left to right, that one frame spans, with an edge blend between."""

    screens: tuple[Screen, ...]
    overlap: Overlap = Overlap()
    gamma: float = DEFAULT_BLEND_GAMMA

    def __post_init__(self) -> None:
        if not 1 <= len(self.screens) <= MAX_OUTPUTS:
            raise ValueError(f"outputs: 1 to {MAX_OUTPUTS} screens, got {len(self.screens)}")
        low, high = BLEND_GAMMA_RANGE
        if not low <= self.gamma <= high:  # NaN fails too
            raise ValueError(f"outputs: blend gamma must be from {low:g} to {high:g}, "
                             f"got {self.gamma!r}")  # fmt: skip
        for screen in self.screens:
            if screen.display < 0:
                raise ValueError(f"outputs: display {screen.display} must be >= 0")
            if screen.fit is not None and screen.fit not in FITS:
                raise ValueError(f"outputs: fit {screen.fit!r} is not one of {', '.join(FITS)}")

    def resolve(self, output_width_px: int, default_fit: Fit) -> tuple[OutputPart, ...]:
        """Each screen's part of the canvas, for outputs `output_width_px` wide."""
        fits = [screen.fit or default_fit for screen in self.screens]
        fraction = self.overlap.fraction(output_width_px) if len(self.screens) > 1 else 0.0
        return span(len(self.screens), fraction, self.gamma, fits)


@dataclass(frozen=True)
class OutputPart:
    """What one output shows: a region of the canvas and the blend ramps at its edges.

    Canvas coordinates are fractions of the frame, x to the right and y down from the top-left.
    `blend` is (left, top, right, bottom): the width of each edge's ramp in canvas fractions,
    0 for a hard edge.
    """

    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # x0, y0, x1, y1
    blend: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    gamma: float = DEFAULT_BLEND_GAMMA
    fit: Fit = "letterbox"

    def region_size_px(self, canvas_size_px: tuple[int, int]) -> tuple[int, int]:
        """The region's size in canvas pixels (at least 1 x 1)."""
        x0, y0, x1, y1 = self.region
        width, height = canvas_size_px
        return max(1, round((x1 - x0) * width)), max(1, round((y1 - y0) * height))


WHOLE = OutputPart()  # one output showing the whole frame, no blend


def span(
    count: int, overlap_fraction: float, gamma: float, fits: list[Fit] | tuple[Fit, ...]
) -> tuple[OutputPart, ...]:
    """`count` equal outputs side by side across the canvas, neighbours sharing a strip of
    `overlap_fraction` of an output's width, with a ramp over each shared strip.

    The canvas is count - (count - 1) * overlap output widths wide; output i starts at
    i * (1 - overlap) of them.
    """
    total = count - (count - 1) * overlap_fraction
    step = (1.0 - overlap_fraction) / total
    width = 1.0 / total
    ramp = overlap_fraction / total
    parts = []
    for i in range(count):
        x0 = i * step
        x1 = 1.0 if i == count - 1 else x0 + width
        left = ramp if i > 0 else 0.0
        right = ramp if i < count - 1 else 0.0
        parts.append(OutputPart((x0, 0.0, x1, 1.0), (left, 0.0, right, 0.0), gamma, fits[i]))
    return tuple(parts)


def blend_factor(part: OutputPart, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The signal multiplier at canvas points (u, v): ramp ** (1 / gamma), the ramp being the
    product of each blended edge's linear 0 -> 1 over its width (the shader's rule, in float64).
    """
    x0, y0, x1, y1 = part.region
    left, top, right, bottom = part.blend
    weight = np.ones(np.broadcast(u, v).shape)
    for distance, width in ((u - x0, left), (v - y0, top), (x1 - u, right), (y1 - v, bottom)):
        if width > 0:
            weight = weight * np.clip(distance / width, 0.0, 1.0)
    return np.where(weight >= 1.0, 1.0, np.power(weight, 1.0 / part.gamma))


def reference_output(canvas: np.ndarray, part: OutputPart) -> np.ndarray:
    """What an output shows of an RGB8 canvas [H, W, 3] when its region is shown 1:1: the
    region's pixels times the blend factor at each pixel centre, rounded (uint8).
    """
    height, width = canvas.shape[:2]
    x0, y0, _, _ = part.region
    col0, row0 = round(x0 * width), round(y0 * height)
    region_w, region_h = part.region_size_px((width, height))
    pixels = canvas[row0 : row0 + region_h, col0 : col0 + region_w].astype(np.float64)
    u = (col0 + np.arange(region_w) + 0.5) / width
    v = (row0 + np.arange(region_h) + 0.5) / height
    factor = blend_factor(part, u[None, :], v[:, None])
    return np.clip(np.rint(pixels * factor[..., None]), 0, 255).astype(np.uint8)


Rect = tuple[int, int, int, int]  # x, y, width, height in pixels


def spanning_window(desktop_bounds: list[Rect] | tuple[Rect, ...]) -> tuple[Rect, tuple[Rect, ...]]:
    """One borderless window over several monitors: from each output's monitor bounds on the
    desktop (x, y, width, height; y down, as SDL gives them) the window's bounds (their union)
    and each output's rectangle inside the window as GL pixels (y up, from the bottom-left).
    """
    left = min(x for x, _, _, _ in desktop_bounds)
    top = min(y for _, y, _, _ in desktop_bounds)
    right = max(x + w for x, _, w, _ in desktop_bounds)
    bottom = max(y + h for _, y, _, h in desktop_bounds)
    window_h = bottom - top
    rects = tuple((x - left, window_h - (y - top) - h, w, h) for x, y, w, h in desktop_bounds)
    return (left, top, right - left, window_h), rects


def side_by_side(size_px: tuple[int, int], count: int) -> tuple[Rect, ...]:
    """`count` equal columns of a window (GL pixels): the outputs' preview in a --windowed run."""
    width, height = size_px
    edges = [round(i * width / count) for i in range(count + 1)]
    return tuple((edges[i], 0, max(1, edges[i + 1] - edges[i]), height) for i in range(count))
