"""WindowPresenter: a pygame OPENGL|DOUBLEBUF window drawn with moderngl (fullscreen by default).

Without a screen, SDL_VIDEODRIVER=offscreen runs this same code path on Mesa's EGL
(shared/notes/stack.md §1c).

Several outputs (display/outputs.py): one borderless window spans their monitors, each output
drawn into its monitor's part of it, so all of them flip together; --windowed previews them side
by side in one window.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence

# Before pygame is imported: no banner on stdout, and a fullscreen kiosk window must not iconify
# when another window takes focus.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_VIDEO_MINIMIZE_ON_FOCUS_LOSS", "0")

import moderngl  # noqa: E402
import pygame  # noqa: E402

from installation.render.frame import Frame  # noqa: E402

from .outputs import WHOLE, OutputPart, OutputsLayout, Rect, side_by_side, spanning_window  # noqa: E402
from .presenter import (  # noqa: E402
    GL_VERSION_REQUIRED,
    NEXT_SECTION,
    PAUSE,
    PREV_SECTION,
    QUIT,
    RELOAD,
    TOGGLE_OVERLAY,
    DisplayError,
    Fit,
    NoDisplayError,
    QuadDrawer,
    check_fit,
)

log = logging.getLogger(__name__)

WINDOW_TITLE = "latent-walk"
WINDOW_POS_VARIABLE = "SDL_VIDEO_WINDOW_POS"  # "x,y" of a window over several monitors
QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)  # quit, except in kiosk mode
KEY_EVENTS = {  # keys that work in every mode
    pygame.K_SPACE: PAUSE,
    pygame.K_RIGHT: NEXT_SECTION,
    pygame.K_PAGEDOWN: NEXT_SECTION,
    pygame.K_LEFT: PREV_SECTION,
    pygame.K_PAGEUP: PREV_SECTION,
    pygame.K_f: TOGGLE_OVERLAY,
    pygame.K_r: RELOAD,
}
# Ctrl+Shift+Q (either Ctrl, either Shift) quits in every mode, and is the kiosk's only quit
KIOSK_QUIT_MODS = (pygame.KMOD_CTRL, pygame.KMOD_SHIFT)
# The SDL2 that pygame loaded: the system libSDL2-2.0.so.0 or pygame.libs/libSDL2-2-<hash>...
SDL_LIBRARY_PATTERN = re.compile(r"/libSDL2-2[.-][^/]*\.so[^/]*$")
NO_DISPLAY_HINT = (
    "use --headless to render offscreen, or SDL_VIDEODRIVER=offscreen to run the window code "
    "without a screen"
)


class SdlDisplayMode(ctypes.Structure):
    """SDL2's SDL_DisplayMode (SDL_video.h)."""

    _fields_ = [
        ("format", ctypes.c_uint32),
        ("w", ctypes.c_int),
        ("h", ctypes.c_int),
        ("refresh_rate", ctypes.c_int),  # Hz, 0 when unspecified
        ("driverdata", ctypes.c_void_p),
    ]


def loaded_sdl_library_path(maps_path: str = "/proc/self/maps") -> str | None:
    """Path of the SDL2 library mapped into this process (pygame's own copy), None if not found."""
    try:
        with open(maps_path, encoding="utf-8") as maps:
            for line in maps:
                match = SDL_LIBRARY_PATTERN.search(line.rstrip("\n"))
                if match:
                    return line.split(maxsplit=5)[-1].strip()
    except OSError as err:
        log.debug("refresh rate: cannot read %s: %s", maps_path, err)
    return None


def read_refresh_hz(display_index: int) -> float | None:
    """The display's current refresh rate from SDL_GetCurrentDisplayMode; None when unknown.

    pygame 2.6 has no API for it, so this calls the SDL2 that pygame loaded, through ctypes.
    Needs pygame.display.init(). Any failure, or SDL's "unspecified" rate 0, gives None.
    """
    library_path = loaded_sdl_library_path()
    if library_path is None:
        log.debug("refresh rate: no libSDL2 in /proc/self/maps")
        return None
    try:
        sdl = ctypes.CDLL(library_path)
        get_mode = sdl.SDL_GetCurrentDisplayMode
        get_mode.argtypes = [ctypes.c_int, ctypes.POINTER(SdlDisplayMode)]
        get_mode.restype = ctypes.c_int
        mode = SdlDisplayMode()
        status = get_mode(display_index, ctypes.byref(mode))
    except (OSError, AttributeError) as err:  # library not loadable / symbol missing
        log.debug("refresh rate: SDL call failed library=%s: %s", library_path, err)
        return None
    if status != 0 or mode.refresh_rate <= 0:
        log.debug(
            "refresh rate: unknown display=%d status=%d refresh_rate=%d",
            display_index, status, mode.refresh_rate,
        )  # fmt: skip
        return None
    return float(mode.refresh_rate)


class SdlRect(ctypes.Structure):
    """SDL2's SDL_Rect (SDL_rect.h)."""

    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


def read_display_bounds(display_index: int) -> Rect | None:
    """The display's desktop bounds (x, y, width, height) from SDL_GetDisplayBounds; None when
    unknown. Needs pygame.display.init(); calls pygame's SDL2 through ctypes, like the refresh.
    """
    library_path = loaded_sdl_library_path()
    if library_path is None:
        return None
    try:
        get_bounds = ctypes.CDLL(library_path).SDL_GetDisplayBounds
        get_bounds.argtypes = [ctypes.c_int, ctypes.POINTER(SdlRect)]
        get_bounds.restype = ctypes.c_int
        rect = SdlRect()
        status = get_bounds(display_index, ctypes.byref(rect))
    except (OSError, AttributeError) as err:
        log.debug("display bounds: SDL call failed library=%s: %s", library_path, err)
        return None
    if status != 0 or rect.w <= 0 or rect.h <= 0:
        return None
    return rect.x, rect.y, rect.w, rect.h


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
    """Fullscreen on `display_index` (default) or a `size_px` window, hidden cursor, key events.

    Keys: Esc/q quit (kiosk: only Ctrl+Shift+Q), space pause, Right/PageDown next section,
    Left/PageUp previous section, f overlay, r reload. Closing the window quits (not in kiosk).
    """

    def __init__(
        self,
        display_index: int = 0,
        is_windowed: bool = False,
        size_px: tuple[int, int] = (1280, 720),
        fit: Fit = "letterbox",
        is_kiosk: bool = False,
        outputs: OutputsLayout | None = None,
    ) -> None:
        check_fit(fit)  # before the window, so a bad value leaks nothing
        self.fit = fit
        pygame.display.init()  # not pygame.init(): no mixer/audio noise on headless boxes
        if outputs is not None:
            display_index = outputs.screens[0].display  # its refresh rate paces the show
        try:
            self._open(display_index, is_windowed, size_px, outputs)
        except pygame.error as err:
            pygame.display.quit()
            raise DisplayError(f"window: cannot open on display {display_index}: {err}") from None
        except DisplayError:
            pygame.display.quit()
            raise
        self.drawer = QuadDrawer(self.ctx, fit)
        self.is_kiosk = is_kiosk
        self.has_logged_kiosk_quit = False  # the "quit keys disabled" line is logged once
        self.refresh_hz: float | None = read_refresh_hz(display_index)
        self.is_closed = False
        log.info(
            "window ready fit=%s kiosk=%s refresh_hz=%s",
            fit, is_kiosk, "unknown" if self.refresh_hz is None else f"{self.refresh_hz:g}",
        )  # fmt: skip

    def _open(
        self,
        display_index: int,
        is_windowed: bool,
        size_px: tuple[int, int],
        outputs: OutputsLayout | None = None,
    ) -> None:
        """Check the display index(es), create the GL window and the moderngl context."""
        num_displays = pygame.display.get_num_displays()
        indices = [screen.display for screen in outputs.screens] if outputs else [display_index]
        for index in indices:
            if not 0 <= index < num_displays:
                option = "outputs" if outputs else "--display"
                raise DisplayError(
                    f"{option}: display {index}: no such display; found {num_displays} "
                    f"(valid: 0..{num_displays - 1}), driver={pygame.display.get_driver()}"
                )
        set_attribute = pygame.display.gl_set_attribute
        set_attribute(pygame.GL_CONTEXT_MAJOR_VERSION, 3)
        set_attribute(pygame.GL_CONTEXT_MINOR_VERSION, 3)
        set_attribute(pygame.GL_CONTEXT_PROFILE_MASK, pygame.GL_CONTEXT_PROFILE_CORE)
        flags = pygame.OPENGL | pygame.DOUBLEBUF
        output_rects: tuple[Rect, ...] | None = None
        position = None  # SDL_VIDEO_WINDOW_POS while the window is made (pygame reads it then)
        if outputs is not None and not is_windowed:
            window_rect, output_rects = self._spanning_bounds(indices)
            position = f"{window_rect[0]},{window_rect[1]}"
            flags |= pygame.NOFRAME
            size_px = window_rect[2:]
        elif not is_windowed:
            flags |= pygame.FULLSCREEN
            size_px = pygame.display.get_desktop_sizes()[display_index]
        old_position = os.environ.get(WINDOW_POS_VARIABLE)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if position is not None:
                    os.environ[WINDOW_POS_VARIABLE] = position
                pygame.display.set_mode(size_px, flags, display=display_index, vsync=1)
            finally:
                if old_position is None:
                    os.environ.pop(WINDOW_POS_VARIABLE, None)
                else:
                    os.environ[WINDOW_POS_VARIABLE] = old_position
        self.is_vsynced = not caught  # flip() waits for the vertical blank
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
        self.outputs: list[tuple[OutputPart, Rect]] = [(WHOLE, (0, 0, *self.size_px))]
        if outputs is not None:
            rects = output_rects or side_by_side(self.size_px, len(outputs.screens))
            parts = outputs.resolve(rects[0][2], self.fit)
            self.outputs = list(zip(parts, rects, strict=True))
            log.info("window outputs=%s overlap=%s gamma=%g",
                     " ".join(f"{screen.display}:{w}x{h}+{x}+{y}" for screen, (x, y, w, h)
                              in zip(outputs.screens, rects, strict=True)),
                     outputs.overlap, outputs.gamma)  # fmt: skip
        log.info(
            "window open driver=%s display=%d size=%dx%d fullscreen=%s renderer=%r",
            pygame.display.get_driver(), display_index, *self.size_px, not is_windowed,
            self.ctx.info["GL_RENDERER"],
        )  # fmt: skip

    def present(self, frame: Frame, blend_with: Frame | None = None, mix: float = 0.0) -> None:
        """Upload what is new, draw (1 - mix) * frame + mix * blend_with fitted, flip."""
        self.drawer.upload(frame, blend_with, mix)
        self._draw_and_flip()

    def draw(self) -> None:
        """Draw the current textures (each output's part) and overlay to the back buffer."""
        self.drawer.draw_outputs(self.ctx.screen, self.size_px, self.outputs)

    def _draw_and_flip(self) -> None:
        """Draw the current textures and overlay to the window's back buffer and show it."""
        self.draw()
        pygame.display.flip()

    @staticmethod
    def _spanning_bounds(indices: list[int]) -> tuple[Rect, tuple[Rect, ...]]:
        """The window over the outputs' monitors and each output's rectangle in it."""
        bounds = []
        for index in indices:
            rect = read_display_bounds(index)
            if rect is None:
                raise DisplayError(f"outputs: cannot read the bounds of display {index}")
            bounds.append(rect)
        return spanning_window(bounds)

    def set_level(self, level: float) -> None:
        """Picture level from the next present() on: 1 as is, 0 black (fade to black)."""
        self.drawer.set_level(level)

    def set_overlay(self, lines: Sequence[str] | None) -> None:
        """Status text in the top-left corner from the next present() on; None or [] hides it."""
        self.drawer.set_overlay(lines)

    def poll(self) -> list[str]:
        """Handle pygame events (call every tick) and return the UI events they mean."""
        events: list[str] = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                if self._allows_plain_quit("window close"):
                    events.append(QUIT)
            elif event.type == pygame.KEYDOWN:
                ui_event = self._key_event(event.key, event.mod)
                if ui_event is not None:
                    events.append(ui_event)
            elif event.type == pygame.WINDOWEXPOSED and self.drawer.has_frame:
                self._draw_and_flip()  # the back buffer is undefined after a flip: redraw
        return events

    def _key_event(self, key: int, mod: int) -> str | None:
        """The UI event of a key press, or None."""
        if key == pygame.K_q and all(mod & kiosk_mod for kiosk_mod in KIOSK_QUIT_MODS):
            return QUIT  # Ctrl+Shift+Q quits in every mode
        if key in QUIT_KEYS:
            return QUIT if self._allows_plain_quit(pygame.key.name(key)) else None
        return KEY_EVENTS.get(key)

    def _allows_plain_quit(self, what: str) -> bool:
        """False in kiosk mode (logged once at INFO); Esc, q and window close quit otherwise."""
        if not self.is_kiosk:
            return True
        if not self.has_logged_kiosk_quit:
            self.has_logged_kiosk_quit = True
            log.info("kiosk: quit keys disabled (got %s); Ctrl+Shift+Q quits", what)
        return False

    def close(self) -> None:
        """Release GL objects and close the window; safe to call twice."""
        if self.is_closed:
            return
        self.is_closed = True
        self.drawer.release()
        self.ctx.release()  # without this a later window in the same process fails detection
        pygame.display.quit()
