"""What the latent tools share: model loading, layer ranges, batched rendering, labelled sheets.

A contact sheet is a grid of cells; each cell is a square tile (the rendered image, resized to
`tile_px`) with a one-line label printed under it in Pillow's built-in default font. `SheetLayout`
says where every tile and label lies, so tests can crop a tile back out of a sheet.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from installation.errors import InstallationError
from installation.settings import _checked_number

if TYPE_CHECKING:
    import torch

    from installation.models import Generator

log = logging.getLogger(__name__)

# Smallest label text size; Pillow's default font (FreeType Aileron, or its bitmap fallback).
LABEL_FONT_PX = 11
# Larger tiles get larger labels: tile_px / this, so a 256 px tile has 21 px text.
TILE_PER_FONT_PX = 12
# Space around a label inside its strip, pixels.
LABEL_PAD_PX = 3
# Gap between cells of a sheet (black), pixels.
CELL_GAP_PX = 2
# Named ws row ranges, as in shows (show/load.py NAMED_LAYERS) and `generate --mix-layers`.
NAMED_LAYER_RANGES = {"coarse": "0-3", "middle": "4-7", "fine": "8-"}
# Truncation psi of every tool when --psi is not given: 1, no truncation. It is the show format's
# default (a seed picked from a sheet looks the same in a show that sets no psi) and NVIDIA's
# tools' (the same seed gives the same picture as elsewhere); `--psi 0.7` is the common pick
# for tamer, more typical images.
DEFAULT_PSI = 1.0
PSI_HELP = "truncation psi (default 1 = none, as in shows and NVIDIA's tools; 0.7 is a common pick)"


# argparse types for the tools' options (settings.py's one number checker).
positive_int = _checked_number(int, lambda v: v > 0, "an integer > 0")
non_negative_int = _checked_number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _checked_number(float, lambda v: 0 < v < math.inf, "a number > 0")


def load_model(path: str | Path, device: str = "cpu", precision: str = "exact") -> Generator:
    """Load a generator for a tool; a missing or unreadable file raises one-line ModelLoadError."""
    from installation.models import load_generator

    return load_generator(path, device=device, precision=precision)  # type: ignore[arg-type]


def parse_int_ranges(text: str) -> list[int]:
    """'0,1,4-6' -> [0, 1, 4, 5, 6]; argparse.ArgumentTypeError when it is not that."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            if sep:
                first, last = int(lo), int(hi)
                if last < first:
                    raise ValueError
                values.extend(range(first, last + 1))
            else:
                values.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not integers or ranges: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"empty list: {text!r}")
    return values


def parse_layer_range(text: str, num_ws: int, option: str = "--mix-layers") -> list[int]:
    """'8-' -> [8..num_ws-1]; '0-3' -> [0..3]; '2,5' -> [2, 5]; names coarse/middle/fine too.

    Raises:
        InstallationError: "<option>: ..." when the text is not a range or leaves 0..num_ws-1.
    """
    given = text
    text = NAMED_LAYER_RANGES.get(text.strip(), text.strip())
    if text.endswith("-"):
        text = f"{text}{num_ws - 1}"
    try:
        rows = parse_int_ranges(text)
    except argparse.ArgumentTypeError as exc:
        raise InstallationError(f"{option}: {exc} (e.g. 0-3, 8-, coarse)") from None
    bad = [r for r in rows if not 0 <= r < num_ws]
    if bad:
        raise InstallationError(
            f"{option} {given}: rows {format_rows(bad)} are outside 0..{num_ws - 1} "
            f"(the model has {num_ws} ws rows)"
        )
    return rows


def format_rows(rows: Sequence[int]) -> str:
    """[0, 1, 2, 3] -> '0-3'; [2, 5] -> '2,5' (for labels and names)."""
    rows = sorted(rows)
    if rows and rows == list(range(rows[0], rows[-1] + 1)):
        return f"{rows[0]}-{rows[-1]}" if len(rows) > 1 else str(rows[0])
    return ",".join(str(r) for r in rows)


def class_vector(G: Any, class_idx: int | None) -> torch.Tensor | None:
    """One-hot c [1, c_dim] for conditional models (None for unconditional ones)."""
    if G.c_dim == 0:
        if class_idx is not None:
            log.warning("--class ignored: the model is unconditional")
        return None
    if class_idx is None:
        raise InstallationError(f"the model is conditional: pass --class 0..{G.c_dim - 1}")
    if not 0 <= class_idx < G.c_dim:
        raise InstallationError(f"--class {class_idx} is outside 0..{G.c_dim - 1}")
    import torch

    c = torch.zeros(1, G.c_dim)
    c[0, class_idx] = 1
    return c


def seeds_ws(
    G: Any,
    seeds: Sequence[int],
    psi: float = 1.0,
    cutoff: int | None = None,
    c: torch.Tensor | None = None,
) -> torch.Tensor:
    """ws [N, num_ws, w_dim] of NVIDIA-compatible seeds, on the mapping network's device."""
    import torch

    from installation.models.latents import seed_z

    device = G.mapping.fc0.weight.device
    z = torch.cat([seed_z(seed, G.z_dim) for seed in seeds]).to(device)  # [N, z_dim]
    if c is not None:
        c = c.to(device).expand(len(seeds), -1)
    with torch.inference_mode():
        try:
            return G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
        except ValueError as exc:  # no w_avg to truncate toward, or a missing class
            raise InstallationError(f"{exc} (psi {psi:g})") from None


def render_ws(
    G: Any,
    ws: torch.Tensor,
    batch: int = 8,
    noise_mode: str = "const",
    on_batch: Callable[[int], None] | None = None,
    **synthesis_kwargs: Any,
) -> np.ndarray:
    """ws [N, num_ws, w_dim] -> images [N, H, W, C] uint8, `batch` at a time.

    on_batch(n) is called after each batch with the number of images it made (progress bars).
    """
    import torch

    from installation.models.latents import to_uint8

    device = G.mapping.fc0.weight.device
    images = []
    with torch.inference_mode():
        for start in range(0, len(ws), max(1, batch)):
            chunk = ws[start : start + max(1, batch)].to(device)
            images.append(to_uint8(G.synthesis(chunk, noise_mode=noise_mode, **synthesis_kwargs)))
            if on_batch is not None:
                on_batch(len(chunk))
    return np.concatenate(images) if images else np.zeros((0, 1, 1, 3), np.uint8)


@dataclass(frozen=True)
class SheetLayout:
    """Where the tiles and labels of a contact sheet lie (pixels, origin top-left)."""

    count: int
    columns: int
    tile_px: int
    cell_w_px: int  # >= tile_px: a long label widens every cell
    label_h_px: int
    gap_px: int = CELL_GAP_PX

    @property
    def rows(self) -> int:
        """Rows of cells."""
        return max(1, math.ceil(self.count / self.columns))

    @property
    def cell_h_px(self) -> int:
        """Height of a cell: tile plus label strip."""
        return self.tile_px + self.label_h_px

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) of the whole sheet."""
        width = self.columns * self.cell_w_px + (self.columns - 1) * self.gap_px
        height = self.rows * self.cell_h_px + (self.rows - 1) * self.gap_px
        return width, height

    def cell_origin(self, index: int) -> tuple[int, int]:
        """(left, top) of cell `index` (row-major)."""
        row, col = divmod(index, self.columns)
        return col * (self.cell_w_px + self.gap_px), row * (self.cell_h_px + self.gap_px)

    def tile_box(self, index: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of tile `index`, centred in its cell's width."""
        left, top = self.cell_origin(index)
        left += (self.cell_w_px - self.tile_px) // 2
        return left, top, left + self.tile_px, top + self.tile_px

    def label_box(self, index: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the label strip under tile `index`."""
        left, top = self.cell_origin(index)
        top += self.tile_px
        return left, top, left + self.cell_w_px, top + self.label_h_px


def label_font_px(tile_px: int) -> int:
    """Label text size for a tile size: LABEL_FONT_PX, growing with large tiles."""
    return max(LABEL_FONT_PX, tile_px // TILE_PER_FONT_PX)


def label_font(size_px: int = LABEL_FONT_PX) -> Any:
    """Pillow's built-in default font at size_px (the fixed bitmap one on old Pillow)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size_px)
    except TypeError:  # Pillow < 10.1: no size, a fixed bitmap font
        return ImageFont.load_default()


def sheet_layout(
    count: int, labels: Sequence[str], tile_px: int, columns: int | None = None
) -> SheetLayout:
    """The layout of `count` tiles: about square unless `columns` is given."""
    from PIL import Image, ImageDraw

    font = label_font(label_font_px(tile_px))
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max((draw.textlength(text, font=font) for text in labels), default=0)
    text_h = draw.textbbox((0, 0), "0123456789[]x", font=font)[3]
    columns = max(1, min(columns or math.ceil(math.sqrt(max(1, count))), max(1, count)))
    return SheetLayout(
        count=count,
        columns=columns,
        tile_px=tile_px,
        cell_w_px=max(tile_px, math.ceil(text_w) + 2 * LABEL_PAD_PX),
        label_h_px=int(text_h) + 2 * LABEL_PAD_PX,
    )


def labelled_sheet(
    images: np.ndarray,
    labels: Sequence[str],
    tile_px: int | None = None,
    columns: int | None = None,
) -> tuple[np.ndarray, SheetLayout]:
    """Images [N, H, W, C] uint8 with a label under each -> (sheet [h, w, 3] uint8, layout).

    Tiles are resized to tile_px (Lanczos) when it differs from the images' size; grey images
    become RGB. Labels are white on black, centred; empty cells stay black.
    """
    from PIL import Image, ImageDraw

    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    size_px = int(images.shape[1]) if len(images) else 1
    tile_px = tile_px or size_px
    layout = sheet_layout(len(images), labels, tile_px, columns)
    sheet = Image.new("RGB", layout.size_px)
    draw = ImageDraw.Draw(sheet)
    font = label_font(label_font_px(tile_px))
    for index, (image, text) in enumerate(zip(images, labels, strict=True)):
        tile = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).convert("RGB")
        if tile.size != (tile_px, tile_px):
            tile = tile.resize((tile_px, tile_px), Image.Resampling.LANCZOS)
        left, top, _, _ = layout.tile_box(index)
        sheet.paste(tile, (left, top))
        box_left, box_top, box_right, box_bottom = layout.label_box(index)
        centre = ((box_left + box_right) / 2, (box_top + box_bottom) / 2)
        draw.text(centre, text, fill=(255, 255, 255), font=font, anchor="mm")
    return np.asarray(sheet), layout


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write an [H, W, C] uint8 image as PNG (grey if C == 1), creating the folder."""
    import imageio.v3 as iio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, image[..., 0] if image.shape[-1] == 1 else image)


def sheet_paths(out: str | Path, count: int, per_sheet: int) -> list[Path]:
    """`out` itself when one sheet holds everything, else out_000.png, out_001.png, …"""
    out = Path(out)
    sheets = max(1, math.ceil(count / per_sheet))
    if sheets == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i:03d}{out.suffix or '.png'}") for i in range(sheets)]
