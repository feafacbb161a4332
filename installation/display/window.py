"""WindowPresenter: a pygame OPENGL|DOUBLEBUF window drawn with moderngl (fullscreen by default).

Without a screen, SDL_VIDEODRIVER=offscreen runs this same code path on Mesa's EGL
(shared/notes/stack.md §1c).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping

# Before pygame is imported: no banner on stdout, and a fullscreen kiosk window must not iconify
# when another window takes focus.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_VIDEO_MINIMIZE_ON_FOCUS_LOSS", "0")

import moderngl  # noqa: E402
import pygame  # noqa: E402

from installation.render.frame import Frame  # noqa: E402

from .presenter import (  # noqa: E402
    GL_VERSION_REQUIRED,
    QUIT,
    RELOAD,
    DisplayError,
    NoDisplayError,
    QuadDrawer,
)

log = logging.getLogger(__name__)

WINDOW_TITLE = "latent-walk"
QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)
NO_DISPLAY_HINT = (
    "use --headless to render offscreen, or SDL_VIDEODRIVER=offscreen to run the window code "
    "without a screen"
)


def has_display(environ: Mapping[str, str] | None = None) -> bool:
    """True when SDL can probably open a window: an X or Wayland display, or a chosen driver.

    Any SDL_VIDEODRIVER other than 'dummy' (which has no OpenGL) counts as the operator's
    choice, e.g. 'offscreen' for CI or 'kmsdrm' on a machine without a desktop.
    """
    environ = os.environ if environ is None else environ
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return True
    driver = environ.get("SDL_VIDEODRIVER", "").strip().lower()
    return bool(driver) and driver != "dummy"


def require_display(environ: Mapping[str, str] | None = None) -> None:
    """Raise NoDisplayError (exit code 2) with the --headless hint when has_display() is False."""
    environ = os.environ if environ is None else environ
    if not has_display(environ):
        driver = environ.get("SDL_VIDEODRIVER")
        why = f"SDL_VIDEODRIVER={driver} has no OpenGL" if driver else "SDL_VIDEODRIVER is not set"
        raise NoDisplayError(f"no display: DISPLAY and WAYLAND_DISPLAY are unset and {why}; "
                             f"{NO_DISPLAY_HINT}")  # fmt: skip


class WindowPresenter:
    """Fullscreen on `display_index` (default) or a `size_px` window; hidden cursor; Esc/q quit."""

    def __init__(
        self,
        display_index: int = 0,
        is_windowed: bool = False,
        size_px: tuple[int, int] = (1280, 720),
    ) -> None:
        pygame.display.init()  # not pygame.init(): no mixer/audio noise on headless boxes
        try:
            self._open(display_index, is_windowed, size_px)
        except pygame.error as err:
            pygame.display.quit()
            raise DisplayError(f"window: cannot open on display {display_index}: {err}") from None
        except DisplayError:
            pygame.display.quit()
            raise
        self.drawer = QuadDrawer(self.ctx)
        self.last_frame: Frame | None = None
        self.is_closed = False

    def _open(self, display_index: int, is_windowed: bool, size_px: tuple[int, int]) -> None:
        """Check the display index, create the GL window and the moderngl context."""
        num_displays = pygame.display.get_num_displays()
        if not 0 <= display_index < num_displays:
            raise DisplayError(
                f"--display {display_index}: no such display; found {num_displays} "
                f"(valid: 0..{num_displays - 1}), driver={pygame.display.get_driver()}"
            )
        set_attribute = pygame.display.gl_set_attribute
        set_attribute(pygame.GL_CONTEXT_MAJOR_VERSION, 3)
        set_attribute(pygame.GL_CONTEXT_MINOR_VERSION, 3)
        set_attribute(pygame.GL_CONTEXT_PROFILE_MASK, pygame.GL_CONTEXT_PROFILE_CORE)
        flags = pygame.OPENGL | pygame.DOUBLEBUF
        if not is_windowed:
            flags |= pygame.FULLSCREEN
            size_px = pygame.display.get_desktop_sizes()[display_index]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pygame.display.set_mode(size_px, flags, display=display_index, vsync=1)
        for warning in caught:  # e.g. "regular vsync for OpenGL not available" (Xvfb, offscreen)
            log.info("vsync unavailable (%s); pacing by the fps cap only", warning.message)
        pygame.display.set_caption(WINDOW_TITLE)
        pygame.mouse.set_visible(False)
        try:  # wraps the context pygame made current (glcontext detects it through libGL)
            self.ctx = moderngl.create_context(require=GL_VERSION_REQUIRED)
        except Exception as err:  # glcontext raises plain Exception
            raise DisplayError(
                f"window: no usable OpenGL {GL_VERSION_REQUIRED} context: {err}"
            ) from None
        self.size_px = pygame.display.get_surface().get_size()
        log.info(
            "window open driver=%s display=%d size=%dx%d fullscreen=%s renderer=%r",
            pygame.display.get_driver(), display_index, *self.size_px, not is_windowed,
            self.ctx.info["GL_RENDERER"],
        )  # fmt: skip

    def present(self, frame: Frame) -> None:
        """Upload the frame if it is new, draw it letterboxed, flip."""
        if self.drawer.frame_index != frame.index or self.drawer.texture is None:
            self.drawer.upload(frame)
        self.last_frame = frame
        self._draw_and_flip()

    def _draw_and_flip(self) -> None:
        """Draw the current texture to the window's back buffer and show it."""
        self.drawer.draw(self.ctx.screen, self.size_px)
        pygame.display.flip()

    def poll(self) -> list[str]:
        """Handle pygame events (call every tick): "quit" on close, Esc or q; "reload" on r."""
        events: list[str] = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                events.append(QUIT)
            elif event.type == pygame.KEYDOWN and event.key in QUIT_KEYS:
                events.append(QUIT)
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_r:
                events.append(RELOAD)
            elif event.type == pygame.WINDOWEXPOSED and self.last_frame is not None:
                self._draw_and_flip()  # the back buffer is undefined after a flip: redraw
        return events

    def close(self) -> None:
        """Release GL objects and close the window; safe to call twice."""
        if self.is_closed:
            return
        self.is_closed = True
        self.drawer.release()
        self.ctx.release()  # without this a later window in the same process fails detection
        pygame.display.quit()
