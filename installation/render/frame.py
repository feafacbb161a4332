"""Frame: one rendered image on its way from the render thread to a presenter or a video file."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One rendered image; once put on the frames queue it belongs to the receiver.

    Two pixel layouts, told apart by dtype:
      - packed: [H, W, 3] uint8, row 0 at the top (the GPU path converts on the device);
      - planes: [C, H, W] float16/float32 ~[-1, 1], C = 1 or 3 (the CPU path: the fragment
        shader scales, clamps and interleaves, which is cheaper than doing it on the CPU,
        shared/notes/stack.md §1). `rgb8()` converts either to packed uint8 the same way.

    Attributes:
        pixels: the image, C-contiguous, in one of the two layouts above.
        index: frame number since the show started (0, 1, ...).
        show_time_s: show time the image was rendered for.
        gen_ms: milliseconds spent rendering it (w -> pixels), per frame of its batch.
        section_name: the timeline section it belongs to ("" when unknown).
        model_name: the show's name of the model that drew it ("" when unknown).
        epoch: the show clock's epoch when it was scheduled; a seek or a section jump starts a
            new epoch, and presenters drop frames of older epochs.
    """

    pixels: np.ndarray
    index: int
    show_time_s: float
    gen_ms: float
    section_name: str = ""
    model_name: str = ""
    epoch: int = 0

    @property
    def is_planar(self) -> bool:
        """True for float planes [C, H, W], False for packed uint8 [H, W, 3]."""
        return self.pixels.dtype != np.uint8

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        if self.is_planar:
            return int(self.pixels.shape[2]), int(self.pixels.shape[1])
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])

    def rgb8(self) -> np.ndarray:
        """The image as [H, W, 3] uint8 (planes: NVIDIA's x*127.5+128, clamped, truncated)."""
        if not self.is_planar:
            return self.pixels
        # imported here: display/ imports this module, and installation.models imports torch
        from installation.models.latents import float_to_uint8

        x = float_to_uint8(self.pixels)  # [C, H, W]
        if x.shape[0] == 1:  # grayscale model
            x = np.repeat(x, 3, axis=0)
        return np.ascontiguousarray(x.transpose(1, 2, 0))
