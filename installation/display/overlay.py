"""Overlay: a few lines of status text in the top-left corner, drawn over the frame with GL.

The text is rendered with pygame.font (its default font needs no display) into an RGBA texture,
re-rendered only when the lines or the font size change, and drawn with alpha blending.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before pygame is imported: no banner

import moderngl  # noqa: E402
import pygame  # noqa: E402

log = logging.getLogger(__name__)

TEXT_COLOR = (255, 255, 255)  # white text ...
BOX_COLOR = (0, 0, 0, 160)  # ... on a dark box at about 63 % opacity, readable over any frame
MARGIN_FRACTION = 0.5  # the box's margin to the screen corner and the text's padding, in lines
MIN_FONT_SIZE_PX = 14  # the default font is unreadable below this
FONT_SIZE_PER_TARGET_HEIGHT = 1 / 40  # 27 px on a 1080-line screen: readable from a few metres


def font_size_for(target_height_px: int) -> int:
    """Font size in pixels for a target `target_height_px` tall."""
    return max(MIN_FONT_SIZE_PX, round(target_height_px * FONT_SIZE_PER_TARGET_HEIGHT))


def load_font(font_size_px: int) -> pygame.font.Font:
    """pygame's bundled default font at `font_size_px` (works without a display)."""
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, font_size_px)  # None: the default font


def render_text_rgba(lines: Sequence[str], font: pygame.font.Font) -> tuple[bytes, tuple[int, int]]:
    """The lines as white text on a semi-transparent dark box.

    Returns:
        RGBA bytes, row 0 at the top (as the quad shader expects), and the box's (width, height).
    """
    rendered = [font.render(line, True, TEXT_COLOR) for line in lines]
    padding_px = round(font.get_linesize() * MARGIN_FRACTION)
    width = max(surface.get_width() for surface in rendered) + 2 * padding_px
    height = font.get_linesize() * len(rendered) + 2 * padding_px
    box = pygame.Surface((width, height), pygame.SRCALPHA)
    box.fill(BOX_COLOR)
    for row, surface in enumerate(rendered):
        box.blit(surface, (padding_px, padding_px + row * font.get_linesize()))
    return pygame.image.tobytes(box, "RGBA"), (width, height)


class Overlay:
    """Status text in the top-left corner of whatever the quad drawer draws into."""

    def __init__(self, ctx: moderngl.Context, program: moderngl.Program) -> None:
        self.ctx = ctx
        self.program = program  # quad.vert + overlay.frag
        self.vao = ctx.vertex_array(program, [])  # attribute-less fullscreen triangle
        self.lines: tuple[str, ...] = ()
        self.texture: moderngl.Texture | None = None
        self.font: pygame.font.Font | None = None
        self.font_size_px = 0  # the size self.font was loaded at
        self.rendered_key: tuple[tuple[str, ...], int] | None = None  # (lines, font size) drawn

    @property
    def is_visible(self) -> bool:
        """True when there are lines to show."""
        return bool(self.lines)

    def set_lines(self, lines: Sequence[str] | None) -> None:
        """Lines to show from the next draw on; None or [] hides the overlay."""
        self.lines = tuple(lines) if lines else ()

    def _texture_for(self, font_size_px: int) -> moderngl.Texture:
        """The text texture, re-rendered only when the lines or the font size changed."""
        key = (self.lines, font_size_px)
        if self.texture is None or self.rendered_key != key:
            if self.font is None or self.font_size_px != font_size_px:
                self.font, self.font_size_px = load_font(font_size_px), font_size_px
            rgba, size_px = render_text_rgba(self.lines, self.font)
            if self.texture is None or self.texture.size != size_px:
                if self.texture is not None:
                    self.texture.release()
                self.texture = self.ctx.texture(size_px, 4)
                self.texture.repeat_x = self.texture.repeat_y = False
                self.texture.filter = (moderngl.NEAREST, moderngl.NEAREST)  # drawn 1:1
            self.texture.write(rgba)
            self.rendered_key = key
            log.debug("overlay rendered lines=%d size=%dx%d", len(self.lines), *size_px)
        return self.texture

    def draw(self, target_size_px: tuple[int, int]) -> None:
        """Blend the text box 1:1 into the top-left corner of the bound framebuffer."""
        if not self.is_visible:
            return
        target_w, target_h = target_size_px
        font_size_px = font_size_for(target_h)
        texture = self._texture_for(font_size_px)
        width, height = texture.size
        margin_px = round(font_size_px * MARGIN_FRACTION)
        self.ctx.viewport = (margin_px, target_h - margin_px - height, width, height)  # y is up
        self.program["u_uv_offset"] = (0.0, 0.0)
        self.program["u_uv_scale"] = (1.0, 1.0)
        texture.use(0)
        self.program["u_overlay"] = 0
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self.vao.render(moderngl.TRIANGLES, vertices=3)
        self.ctx.disable(moderngl.BLEND)

    def release(self) -> None:
        """Free the GL objects (the program belongs to the caller)."""
        for obj in (self.texture, self.vao):
            if obj is not None:
                obj.release()
        self.texture = None
        self.font = None
