"""Presenter protocol, display errors, and the GL quad that both GL presenters draw with.

A presenter lives on the main thread and owns its GL context and textures (STYLE.md §8).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import moderngl

from installation.errors import InstallationError
from installation.render.frame import Frame

log = logging.getLogger(__name__)

SHADER_DIR = Path(__file__).resolve().parent / "shaders"
GL_VERSION_REQUIRED = 330  # the shaders are `#version 330 core`
QUIT = "quit"  # the UI event that ends the show (window closed, Esc, q)
RELOAD = "reload"  # the UI event that reloads the show file (key r)


class DisplayError(InstallationError):
    """The screen or offscreen target could not be opened; the message says which and why."""

    exit_code = 1


class NoDisplayError(DisplayError):
    """No display is reachable and --headless was not given."""

    exit_code = 2


class Presenter(Protocol):
    """Shows frames; polled once per tick on the main thread."""

    def present(self, frame: Frame) -> None:
        """Put `frame` on the screen (letterboxed to keep its aspect)."""
        ...

    def poll(self) -> list[str]:
        """UI events since the last call, e.g. ["quit"]."""
        ...

    def close(self) -> None:
        """Release the window / context; safe to call twice."""
        ...


def load_shader(name: str) -> str:
    """Source of installation/display/shaders/<name>."""
    return (SHADER_DIR / name).read_text(encoding="utf-8")


def fit_viewport(
    image_size_px: tuple[int, int], target_size_px: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Largest centred (x, y, width, height) inside the target with the image's aspect ratio."""
    image_w, image_h = image_size_px
    target_w, target_h = target_size_px
    scale = min(target_w / image_w, target_h / image_h)
    width = max(1, min(target_w, round(image_w * scale)))
    height = max(1, min(target_h, round(image_h * scale)))
    return (target_w - width) // 2, (target_h - height) // 2, width, height


class QuadDrawer:
    """Uploads a Frame into a texture and draws it letterboxed with the fullscreen triangle."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.program = ctx.program(
            vertex_shader=load_shader("quad.vert"), fragment_shader=load_shader("quad.frag")
        )
        self.vao = ctx.vertex_array(self.program, [])  # attribute-less: positions from gl_VertexID
        self.texture: moderngl.Texture | None = None
        self.frame_index: int | None = None  # index of the frame in the texture

    def upload(self, frame: Frame) -> None:
        """Write the frame's pixels into the texture (recreated when the size changes)."""
        if self.texture is None or self.texture.size != frame.size_px:
            if self.texture is not None:
                self.texture.release()
            self.texture = self.ctx.texture(frame.size_px, 3)  # alignment=1: odd widths are fine
            self.texture.repeat_x = self.texture.repeat_y = False
        pixels = frame.pixels
        if not pixels.flags.c_contiguous:  # Frame promises C order; a copy keeps GL correct anyway
            pixels = pixels.copy(order="C")
        self.texture.write(pixels)
        self.frame_index = frame.index

    def draw(self, framebuffer: moderngl.Framebuffer, target_size_px: tuple[int, int]) -> None:
        """Clear the target to black and draw the texture letterboxed into it."""
        framebuffer.use()
        self.ctx.viewport = (0, 0, *target_size_px)
        framebuffer.clear(0.0, 0.0, 0.0, 1.0)
        if self.texture is None:
            return
        viewport = fit_viewport(self.texture.size, target_size_px)
        # 1:1 copies sample texel centres exactly with NEAREST; scaled ones need LINEAR
        is_one_to_one = viewport[2:] == self.texture.size
        filter_mode = moderngl.NEAREST if is_one_to_one else moderngl.LINEAR
        self.texture.filter = (filter_mode, filter_mode)
        self.ctx.viewport = viewport
        self.texture.use(0)
        self.program["u_image"] = 0
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        """Free the GL objects."""
        for obj in (self.texture, self.vao, self.program):
            if obj is not None:
                obj.release()
        self.texture = None
