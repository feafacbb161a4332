"""OffscreenPresenter: a standalone EGL context and framebuffer, no window (--headless, tests).

It draws with the same shader as the window and keeps the last presented frame readable with
read_back(). Needs Mesa's EGL (Debian: libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import moderngl
import numpy as np

from installation.render.frame import Frame

from .presenter import GL_VERSION_REQUIRED, DisplayError, Fit, QuadDrawer, check_fit

log = logging.getLogger(__name__)

MESA_PACKAGES = "libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri"


class OffscreenPresenter:
    """Presents into an RGB framebuffer of `size_px`, or of each frame's own size when None."""

    refresh_hz: float | None = None  # no monitor: the app uses its default fps cap

    def __init__(self, size_px: tuple[int, int] | None = None, fit: Fit = "letterbox") -> None:
        check_fit(fit)  # before the context, so a bad value leaks nothing
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
        self.framebuffer: moderngl.Framebuffer | None = None
        self.frame_count = 0
        log.info(
            "offscreen context ready renderer=%r gl=%r size=%s fit=%s",
            self.ctx.info["GL_RENDERER"], self.ctx.info["GL_VERSION"],
            "x".join(map(str, size_px)) if size_px else "per-frame", fit,
        )  # fmt: skip

    def _target(self, size_px: tuple[int, int]) -> moderngl.Framebuffer:
        """The framebuffer of `size_px`, (re)created when the size changes."""
        if self.framebuffer is None or self.framebuffer.size != size_px:
            if self.framebuffer is not None:
                for attachment in self.framebuffer.color_attachments:
                    attachment.release()
                self.framebuffer.release()
            color = self.ctx.renderbuffer(size_px, components=3)
            self.framebuffer = self.ctx.framebuffer(color_attachments=[color])
        return self.framebuffer

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
        size_px = self.fixed_size_px or frame.size_px
        self.drawer.draw(self._target(size_px), size_px)

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

    def read_back(self) -> np.ndarray:
        """The framebuffer as [H, W, 3] uint8, row 0 at the top (as presented)."""
        if self.framebuffer is None:
            raise RuntimeError("read_back() before any present()")
        width, height = self.framebuffer.size
        data = self.framebuffer.read(components=3, alignment=1)  # rows bottom-up, unpadded
        rows_bottom_up = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
        return np.ascontiguousarray(rows_bottom_up[::-1])

    def close(self) -> None:
        """Release the GL objects and the context; safe to call twice."""
        if self.ctx is None:
            return
        self.drawer.release()
        if self.framebuffer is not None:
            for attachment in self.framebuffer.color_attachments:
                attachment.release()
            self.framebuffer.release()
            self.framebuffer = None
        self.ctx.release()
        self.ctx = None
