"""Presenter protocol, display errors, and the GL quad that both GL presenters draw with.

A presenter lives on the main thread and owns its GL context and textures (STYLE.md §8).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import moderngl
import numpy as np

from installation.errors import InstallationError
from installation.render.frame import Frame

from .fit import FITS, Fit
from .outputs import WHOLE, OutputPart
from .overlay import Overlay

log = logging.getLogger(__name__)

SHADER_DIR = Path(__file__).resolve().parent / "shaders"
GL_VERSION_REQUIRED = 330  # the shaders are `#version 330 core`

# UI events, as returned by Presenter.poll()
QUIT = "quit"  # end the show (window closed, Esc, q; only Ctrl+Shift+Q in kiosk mode)
RELOAD = "reload"  # reload the show file (r)
PAUSE = "pause"  # pause or resume the show (space)
NEXT_SECTION = "next_section"  # jump to the next timeline section (Right, PageDown)
PREV_SECTION = "prev_section"  # jump to the previous timeline section (Left, PageUp)
TOGGLE_OVERLAY = "toggle_overlay"  # show or hide the status overlay (f)


class DisplayError(InstallationError):
    """The screen or offscreen target could not be opened; the message says which and why."""

    exit_code = 1


class NoDisplayError(DisplayError):
    """No display is reachable and --headless was not given."""

    exit_code = 2


class Presenter(Protocol):
    """Shows frames; polled once per tick on the main thread."""

    refresh_hz: float | None  # the monitor's refresh rate, None when unknown (offscreen)

    def present(self, frame: Frame, blend_with: Frame | None = None, mix: float = 0.0) -> None:
        """Show (1 - mix) * frame + mix * blend_with, fitted to the target.

        Presenting the same Frame object again re-uploads nothing, so it is cheap to repeat the
        last frame (e.g. to show a new overlay while paused).
        """
        ...

    def poll(self) -> list[str]:
        """UI events since the last call, e.g. ["quit"] (the constants above)."""
        ...

    def set_level(self, level: float) -> None:
        """Picture level from the next present() on: 1 as is, 0 black (fade to black)."""
        ...

    def set_overlay(self, lines: Sequence[str] | None) -> None:
        """Status text for the top-left corner; None or [] hides it.

        The window shows it from the next present() on; OffscreenPresenter redraws at once.
        The text texture is re-rendered only when the lines change.
        """
        ...

    def close(self) -> None:
        """Release the window / context; safe to call twice."""
        ...


def check_fit(fit: str) -> None:
    """Raise ValueError unless `fit` is one of FITS."""
    if fit not in FITS:
        raise ValueError(f"fit: {fit!r} is not one of {', '.join(FITS)}")


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


def fill_viewport(
    image_size_px: tuple[int, int], target_size_px: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Smallest centred (x, y, width, height) covering the target with the image's aspect ratio.

    x and y are <= 0 and width, height >= the target's: the part outside the target is cropped.
    """
    image_w, image_h = image_size_px
    target_w, target_h = target_size_px
    scale = max(target_w / image_w, target_h / image_h)
    width = max(target_w, round(image_w * scale))
    height = max(target_h, round(image_h * scale))
    return (target_w - width) // 2, (target_h - height) // 2, width, height


@dataclass
class TextureSlot:
    """One frame's textures: packed RGB8 or a float texture array, whichever it last needed."""

    packed: moderngl.Texture | None = None
    planes: moderngl.TextureArray | None = None
    frame: Frame | None = None  # the frame whose pixels are in the slot

    def holds(self, frame: Frame) -> bool:
        """True when `frame` is already uploaded here.

        By identity: frames are immutable once queued, and two frames with the same index (e.g.
        of another epoch) are still different images.
        """
        return self.frame is frame

    def upload(self, ctx: moderngl.Context, frame: Frame) -> None:
        """Write the frame's pixels in one write (textures recreated when size/dtype change)."""
        pixels = frame.pixels
        if not pixels.flags.c_contiguous:  # Frame promises C order; a copy keeps GL correct anyway
            pixels = np.ascontiguousarray(pixels)
        if frame.is_planar:
            channels, height, width = pixels.shape  # [C, H, W]
            dtype = "f2" if pixels.dtype == np.float16 else "f4"
            if pixels.dtype not in (np.float16, np.float32):
                pixels = pixels.astype(np.float32)
            texture = self.planes
            if (
                texture is None
                or texture.size != (width, height, channels)
                or texture.dtype != dtype
            ):
                if texture is not None:
                    texture.release()
                texture = self.planes = ctx.texture_array((width, height, channels), 1, dtype=dtype)
                texture.repeat_x = texture.repeat_y = False
        else:
            texture = self.packed
            if texture is None or texture.size != frame.size_px:
                if texture is not None:
                    texture.release()
                texture = self.packed = ctx.texture(frame.size_px, 3)  # alignment=1: odd widths
                texture.repeat_x = texture.repeat_y = False
        texture.write(pixels)
        self.frame = frame

    def release(self) -> None:
        """Free the textures."""
        for texture in (self.packed, self.planes):
            if texture is not None:
                texture.release()
        self.packed = self.planes = self.frame = None


class Placement(NamedTuple):
    """Where and how much of the image a fit mode draws."""

    viewport: tuple[int, int, int, int]  # (x, y, width, height), GL pixels, y up
    uv_offset: tuple[float, float]  # the image part shown, as the quad.vert uniforms
    uv_scale: tuple[float, float]
    shown_size_px: tuple[int, int]  # the shown region's size on screen (1:1 test for filtering)


class QuadDrawer:
    """Draws a Frame (or a mix of two) fitted into a target, plus the status overlay.

    Two texture slots hold the last two frames; a frame is uploaded only when neither slot
    holds it, so a crossfade uploads one new frame per tick. Each combination of layouts
    (packed, 1 or 3 planes; blended or not) has its own program, compiled on first use.
    """

    def __init__(self, ctx: moderngl.Context, fit: Fit = "letterbox") -> None:
        check_fit(fit)
        self.ctx = ctx
        self.fit = fit
        self.vertex_source = load_shader("quad.vert")
        self.fragment_source = load_shader("quad.frag")
        # (SLOT0, SLOT1, EDGE_BLEND) -> program and its attribute-less vertex array
        self.programs: dict[
            tuple[int, int, int], tuple[moderngl.Program, moderngl.VertexArray]
        ] = {}
        self.slots = [TextureSlot(), TextureSlot()]
        self.mix = 0.0
        self.level = 1.0  # picture level (fade to black): 1 as is, 0 black
        self.overlay_program = ctx.program(
            vertex_shader=self.vertex_source, fragment_shader=load_shader("overlay.frag")
        )
        self.overlay = Overlay(ctx, self.overlay_program)

    def _program(
        self, layouts: tuple[int, int], is_edge_blended: bool = False
    ) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The quad program for (SLOT0, SLOT1) layout codes, with the outputs' edge-blend ramp
        or without (EDGE_BLEND 1 or 0), compiled on first use."""
        key = (*layouts, int(is_edge_blended))
        if key not in self.programs:
            version, rest = self.fragment_source.split("\n", 1)  # defines go after #version
            defines = (f"#define SLOT0 {layouts[0]}\n#define SLOT1 {layouts[1]}\n"
                       f"#define EDGE_BLEND {key[2]}\n")  # fmt: skip
            program = self.ctx.program(
                vertex_shader=self.vertex_source, fragment_shader=f"{version}\n{defines}{rest}"
            )
            program["u_image0"] = 0
            if layouts[1] >= 0:
                program["u_image1"] = 1
            # attribute-less: positions from gl_VertexID
            self.programs[key] = program, self.ctx.vertex_array(program, [])
            log.debug("quad program compiled slot0=%d slot1=%d edge_blend=%d", *key)
        return self.programs[key]

    @property
    def has_frame(self) -> bool:
        """True once a frame has been uploaded."""
        return self.slots[0].frame is not None

    def upload(self, frame: Frame, blend_with: Frame | None = None, mix: float = 0.0) -> None:
        """Put `frame` in slot 0 and `blend_with` in slot 1, uploading only what isn't there."""
        if self.slots[1].holds(frame) and not self.slots[0].holds(frame):
            self.slots.reverse()  # e.g. the crossfade's target became the frame: no re-upload
        if not self.slots[0].holds(frame):
            self.slots[0].upload(self.ctx, frame)
        self.mix = float(np.clip(mix, 0.0, 1.0)) if blend_with is not None else 0.0
        if blend_with is not None and not self.slots[1].holds(blend_with):
            self.slots[1].upload(self.ctx, blend_with)

    def set_overlay(self, lines: Sequence[str] | None) -> None:
        """Text for the top-left corner from the next draw on; None or [] hides it."""
        self.overlay.set_lines(lines)

    def set_level(self, level: float) -> None:
        """Picture level from the next draw on: 1 as is, 0 black (the overlay stays visible)."""
        self.level = float(np.clip(level, 0.0, 1.0))

    def _placement(
        self,
        image_size_px: tuple[int, int],
        target_size_px: tuple[int, int],
        part: OutputPart = WHOLE,
    ) -> Placement:
        """Viewport and uv crop of the output's region of the image in the target."""
        if part == WHOLE:
            return self._fit_placement(image_size_px, target_size_px, self.fit)
        region_px = part.region_size_px(image_size_px)
        placement = self._fit_placement(region_px, target_size_px, part.fit)
        x0, y0, x1, y1 = part.region  # y down; the uvs are y up (quad.vert)
        (fit_x, fit_y), (fit_w, fit_h) = placement.uv_offset, placement.uv_scale
        return placement._replace(
            uv_offset=(x0 + (x1 - x0) * fit_x, 1.0 - y1 + (y1 - y0) * fit_y),
            uv_scale=((x1 - x0) * fit_w, (y1 - y0) * fit_h),
        )

    @staticmethod
    def _fit_placement(
        image_size_px: tuple[int, int], target_size_px: tuple[int, int], fit: Fit
    ) -> Placement:
        """Viewport and uv crop of an image in the target for the fit mode."""
        target_w, target_h = target_size_px
        if fit == "letterbox":
            viewport = fit_viewport(image_size_px, target_size_px)
            return Placement(viewport, (0.0, 0.0), (1.0, 1.0), viewport[2:])
        if fit == "stretch":
            return Placement((0, 0, target_w, target_h), (0.0, 0.0), (1.0, 1.0), target_size_px)
        # fill: crop through the uvs instead of an oversized viewport (GL_MAX_VIEWPORT_DIMS)
        x, y, width, height = fill_viewport(image_size_px, target_size_px)
        uv_offset = (-x / width, -y / height)
        uv_scale = (target_w / width, target_h / height)
        return Placement((0, 0, target_w, target_h), uv_offset, uv_scale, (width, height))

    def _bind(
        self, slot_number: int, shown_size_px: tuple[int, int], part: OutputPart = WHOLE
    ) -> int:
        """Bind a slot's texture to unit `slot_number`, set its filter; returns its layout code.

        Layout codes: 0 packed, 1 or 3 the number of planes (the shader's SLOT0/SLOT1).
        """
        slot = self.slots[slot_number]
        frame = slot.frame
        if frame is None:
            raise RuntimeError(f"texture slot {slot_number} is empty")  # draw() checks first
        texture = slot.planes if frame.is_planar else slot.packed
        # 1:1 copies sample texel centres exactly with NEAREST; scaled ones need LINEAR
        is_one_to_one = shown_size_px == part.region_size_px(frame.size_px)
        filter_mode = moderngl.NEAREST if is_one_to_one else moderngl.LINEAR
        texture.filter = (filter_mode, filter_mode)
        texture.use(slot_number)
        return int(frame.pixels.shape[0]) if frame.is_planar else 0

    def draw(self, framebuffer: moderngl.Framebuffer, target_size_px: tuple[int, int]) -> None:
        """Clear the target to black, draw the frame(s) fitted into it, then the overlay."""
        self.draw_outputs(framebuffer, target_size_px, [(WHOLE, (0, 0, *target_size_px))])

    def draw_outputs(
        self,
        framebuffer: moderngl.Framebuffer,
        target_size_px: tuple[int, int],
        outputs: Sequence[tuple[OutputPart, tuple[int, int, int, int]]],
        has_overlay: bool = True,
    ) -> None:
        """Clear the target to black, draw each output's part of the frame(s) into its
        rectangle (x, y, width, height; GL pixels, y up), then the overlay (top-left)."""
        framebuffer.use()
        self.ctx.viewport = (0, 0, *target_size_px)
        framebuffer.clear(0.0, 0.0, 0.0, 1.0)
        frame = self.slots[0].frame
        if frame is None:
            return
        for part, (rect_x, rect_y, rect_w, rect_h) in outputs:
            placement = self._placement(frame.size_px, (rect_w, rect_h), part)
            layouts = (self._bind(0, placement.shown_size_px, part), -1)  # -1: nothing blended
            if self.mix > 0.0:
                layouts = (layouts[0], self._bind(1, placement.shown_size_px, part))
            is_edge_blended = any(width > 0 for width in part.blend)
            program, vertex_array = self._program(layouts, is_edge_blended)
            if self.mix > 0.0:
                program["u_mix"] = self.mix
            program["u_level"] = self.level
            program["u_uv_offset"] = placement.uv_offset
            program["u_uv_scale"] = placement.uv_scale
            if is_edge_blended:
                program["u_region"] = part.region
                program["u_blend"] = part.blend
                program["u_inv_gamma"] = 1.0 / part.gamma
            x, y, width, height = placement.viewport
            self.ctx.viewport = (rect_x + x, rect_y + y, width, height)
            vertex_array.render(moderngl.TRIANGLES, vertices=3)
        if has_overlay:
            self.ctx.viewport = (0, 0, *target_size_px)
            self.overlay.draw(target_size_px)

    def release(self) -> None:
        """Free the GL objects."""
        self.overlay.release()
        for slot in self.slots:
            slot.release()
        for program, vertex_array in self.programs.values():
            vertex_array.release()
            program.release()
        self.programs.clear()
        self.overlay_program.release()
