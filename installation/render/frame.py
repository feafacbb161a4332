"""Frame: one rendered image on its way from the render thread to a presenter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One rendered image; once put on the frames queue it belongs to the receiver.

    Attributes:
        pixels: [H, W, 3] uint8, C-contiguous, row 0 at the top (numpy image order).
        index: frame number since the show started (0, 1, ...).
        show_time_s: show time the image was rendered for.
        gen_ms: milliseconds spent rendering it (w -> pixels).
    """

    pixels: np.ndarray
    index: int
    show_time_s: float
    gen_ms: float

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])
