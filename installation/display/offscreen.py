"""OffscreenPresenter: a standalone EGL context and framebuffer, no window (--headless, tests).

It draws with the same shader as the window and keeps the last presented frame readable with
read_back(). With `outputs` (several screens, display/outputs.py) it draws each output into a
framebuffer of its own, read back with read_back(output). Needs Mesa's EGL (Debian: libegl1
libegl-mesa0 libgl1 libgl1-mesa-dri).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import moderngl
import numpy as np

from installation.render.frame import Frame

from .outputs import OutputPart, OutputsLayout
from .presenter import GL_VERSION_REQUIRED, DisplayError, Fit, QuadDrawer, check_fit

log = logging.getLogger(__name__)

MESA_PACKAGES = "libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri"


class OffscreenPresenter:
    """Presents into an RGB framebuffer of `size_px`, or of each frame's own size when None.

    With `outputs`, one framebuffer per output, each `size_px` (None: its region's own size).
    """

    refresh_hz: float | None = None  # no monitor: the app uses its default fps cap

    def __init__(
        self,
        size_px: tuple[int, int] | None = None,
        fit: Fit = "letterbox",
        outputs: OutputsLayout | None = None,
    ) -> None:
        check_fit(fit)  # before the context, so a bad value leaks nothing
        self.fit = fit
        self.outputs = outputs
        self.framebuffers: list[moderngl.Framebuffer | None] = [
            None for _ in (outputs.screens if outputs else [0])
        ]
        try:
            self.ctx = moderngl.create_standalone_context(
                backend="egl", require=GL_VERSION_REQUIRED
            )
        except Exception as err:  # glcontext raises plain Exception ("eglInitialize failed" ...)
            raise DisplayError(
                f"offscreen: cannot create an EGL OpenGL {GL_VERSION_REQUIRED / 100:.1f} context: "
                f"{err} (Debian packages: {MESA_PACKAGES})"
            ) from None
        self.fixed_size_px = size_px
        self.drawer = QuadDrawer(self.ctx, fit)
        self.frame_count = 0
        log.info(
            "offscreen context ready renderer=%r gl=%r size=%s fit=%s",
            self.ctx.info["GL_RENDERER"], self.ctx.info["GL_VERSION"],
            "x".join(map(str, size_px)) if size_px else "per-frame", fit,
        )  # fmt: skip
        if outputs is not None:
            log.info("offscreen outputs=%d overlap=%s gamma=%g",
                     len(outputs.screens), outputs.overlap, outputs.gamma)  # fmt: skip

    @property
    def framebuffer(self) -> moderngl.Framebuffer | None:
        """The (first) output's framebuffer, None before the first present()."""
        return self.framebuffers[0]

    def _target(self, size_px: tuple[int, int], output: int = 0) -> moderngl.Framebuffer:
        """Output `output`'s framebuffer of `size_px`, (re)created when the size changes."""
        framebuffer = self.framebuffers[output]
        if framebuffer is None or framebuffer.size != size_px:
            if framebuffer is not None:
                release_framebuffer(framebuffer)
            color = self.ctx.renderbuffer(size_px, components=3)
            framebuffer = self.framebuffers[output] = self.ctx.framebuffer(
                color_attachments=[color]
            )
        return framebuffer

    def parts(self, frame_size_px: tuple[int, int]) -> tuple[OutputPart, ...]:
        """Each output's part of a frame of `frame_size_px` (outputs only)."""
        if self.outputs is None:
            raise RuntimeError("parts() without outputs")
        count = len(self.outputs.screens)
        width = self.fixed_size_px[0] if self.fixed_size_px else frame_size_px[0] // count
        return self.outputs.resolve(width, self.fit)

    def present(self, frame: Frame, blend_with: Frame | None = None, mix: float = 0.0) -> None:
        """Draw (1 - mix) * frame + mix * blend_with, fitted, into the framebuffer."""
        self.drawer.upload(frame, blend_with, mix)
        self._draw()
        self.frame_count += 1

    def _draw(self) -> None:
        """Draw the uploaded frame(s) and the overlay into the framebuffer."""
        frame = self.drawer.slots[0].frame
        if frame is None:
            return
        if self.outputs is None:
            size_px = self.fixed_size_px or frame.size_px
            self.drawer.draw(self._target(size_px), size_px)
            return
        for output, part in enumerate(self.parts(frame.size_px)):
            size_px = self.fixed_size_px or part.region_size_px(frame.size_px)
            self.drawer.draw_outputs(
                self._target(size_px, output), size_px, [(part, (0, 0, *size_px))],
                has_overlay=output == 0,
            )  # fmt: skip

    def poll(self) -> list[str]:
        """No UI here: always []."""
        return []

    def set_level(self, level: float) -> None:
        """Picture level from the next present() on: 1 as is, 0 black (fade to black)."""
        self.drawer.set_level(level)

    def set_overlay(self, lines: Sequence[str] | None) -> None:
        """Status text in the top-left corner; None or [] hides it.

        Unlike the window, which shows it at the next present(), the framebuffer is redrawn now
        so that read_back() always shows the current state.
        """
        self.drawer.set_overlay(lines)
        self._draw()

    def read_back(self, output: int = 0) -> np.ndarray:
        """The (output's) framebuffer as [H, W, 3] uint8, row 0 at the top (as presented)."""
        framebuffer = self.framebuffers[output]
        if framebuffer is None:
            raise RuntimeError("read_back() before any present()")
        width, height = framebuffer.size
        data = framebuffer.read(components=3, alignment=1)  # rows bottom-up, unpadded
        rows_bottom_up = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
        return np.ascontiguousarray(rows_bottom_up[::-1])

    def close(self) -> None:
        """Release the GL objects and the context; safe to call twice."""
        if self.ctx is None:
            return
        self.drawer.release()
        for framebuffer in self.framebuffers:
            if framebuffer is not None:
                release_framebuffer(framebuffer)
        self.framebuffers = [None] * len(self.framebuffers)
        self.ctx.release()
        self.ctx = None


def release_framebuffer(framebuffer: moderngl.Framebuffer) -> None:
    """Free a framebuffer and its colour attachments."""
    for attachment in framebuffer.color_attachments:
        attachment.release()
    framebuffer.release()
