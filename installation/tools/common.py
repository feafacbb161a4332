"""What the latent tools share: model loading, layer ranges, batched rendering, labelled sheets.

A contact sheet is a grid of cells; each cell is a square tile (the rendered image, resized to
`tile_px`) with a one-line label printed under it in Pillow's built-in default font. `SheetLayout`
says where every tile and label lies, so tests can crop a tile back out of a sheet.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from installation import options
from installation.device import parse_device
from installation.errors import InstallationError, ModelLoadError
from installation.options import checked_above, checked_range, input_problem, output_problem
from installation.settings import DEVICE_HELP

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


# NVIDIA's seeds: np.random.RandomState takes 0..2**32-1 (as OSC's /seed, control/addresses.py)
MAX_SEED = 2**32 - 1
MAX_GRID_IMAGES = 4096  # `generate --grid`: one PNG of 64 x 64 tiles at most
MAX_RANGE_PARTS = 1000  # '0,1,4-6': parts of one list

# argparse types for the tools' options (installation/options.py: finite, in range).
positive_int = options.positive_int
non_negative_int = options.non_negative_int
positive_float = options.positive_float
seed_number = checked_range(int, 0, MAX_SEED)
# Truncation psi and the StyleGAN3 camera: the ranges OSC's /psi, /camera/translate and
# /camera/rotate accept (control/addresses.py), so a value found here works live too.
psi_number = checked_range(float, -1.0, 2.0)
camera_rotate = checked_range(float, -360.0, 360.0, "degrees")
ws_row_count = checked_range(int, 0, 64)  # --cutoff: more rows than any network has (18)


def camera_translate(text: str) -> tuple[float, float]:
    """argparse type: 'x,y', each a finite number in -1..1 (image widths), e.g. '0.2,-0.1'."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        x = y = math.nan
    if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
        raise argparse.ArgumentTypeError(f"expected two numbers 'x,y' in -1..1, got {text!r}")
    return x, y


class IntRanges(Sequence[int]):
    """'0,1,4-6' as a lazy sequence of ints (0, 1, 4, 5, 6): ranges are never expanded.

    `--seeds 0-4294967295` is four billion seeds in a few bytes; len, iteration and indexing
    work without building a list.
    """

    def __init__(self, ranges: Sequence[range]) -> None:
        self.ranges = tuple(ranges)
        self._starts = np.cumsum([0, *(len(r) for r in self.ranges)])  # index of each range

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __iter__(self) -> Iterator[int]:
        for part in self.ranges:
            yield from part

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        part = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self.ranges[part][index - int(self._starts[part])]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IntRanges):
            return self.ranges == other.ranges
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return f"IntRanges({format_ranges(self.ranges)!r})"

    def __contains__(self, value: object) -> bool:
        return any(value in part for part in self.ranges)

    def min(self) -> int:
        """The smallest value."""
        return min(r.start for r in self.ranges)

    def max(self) -> int:
        """The largest value."""
        return max(r[-1] for r in self.ranges)


def format_ranges(ranges: Sequence[range]) -> str:
    """(range(0, 2), range(4, 7)) -> '0-1,4-6'."""
    return ",".join(f"{r.start}-{r[-1]}" if len(r) > 1 else str(r.start) for r in ranges)


def parse_int_ranges(text: str, high: int = MAX_SEED) -> IntRanges:
    """'0,1,4-6' -> IntRanges of 0, 1, 4, 5, 6, each in 0..high; ArgumentTypeError if not that.

    Lazy: a range is kept as a range (a seed range may hold billions).
    """
    parts: list[range] = []
    for part in text.split(",")[: MAX_RANGE_PARTS + 1]:
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            first, last = (int(lo), int(hi)) if sep else (int(part), int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not integers or ranges: {text!r}") from None
        if last < first:
            raise argparse.ArgumentTypeError(f"{part}: a range runs from low to high")
        if first < 0 or last > high:
            raise argparse.ArgumentTypeError(f"{part}: outside 0..{high}")
        parts.append(range(first, last + 1))
    if len(parts) > MAX_RANGE_PARTS:
        raise argparse.ArgumentTypeError(f"more than {MAX_RANGE_PARTS} parts; use ranges (a-b)")
    if not parts:
        raise argparse.ArgumentTypeError(f"empty list: {text!r}")
    return IntRanges(parts)


# Every tool's option of this name follows this rule (apply_option_rules): one range for --psi
# whichever tool it is given to, and `--device` defaults to auto everywhere.
OPTION_TYPES: dict[str, Callable[[str], Any]] = {
    "psi": psi_number,
    "cutoff": ws_row_count,
    "translate": camera_translate,
    "rotate": camera_rotate,
    "seeds": parse_int_ranges,
    "first": seed_number,  # seeds --from
    "seed": seed_number,
    "mix_seed": seed_number,
    "mix_with": seed_number,
    "preview_seed": seed_number,
    "class_idx": checked_range(int, 0, 100_000),
    "count": checked_range(int, 1, 1_000_000),
    "columns": checked_range(int, 1, 1024),
    "grid_columns": checked_range(int, 1, 1024),
    "tile_px": checked_range(int, 1, 4096),
    "per_sheet": checked_range(int, 1, 4096),
    "batch": checked_range(int, 1, 65536),
    "samples": checked_range(int, 1, 100_000_000),
    "steps": checked_range(int, 1, 1_000_000),
    "video_every": checked_range(int, 0, 1_000_000),
    "lr": checked_above(float, 0, 10),
    "noise_reg": checked_range(float, 0, 1e9),
    "preview_range": checked_above(float, 0, 100),
    "preview_steps": checked_range(int, 1, 100),
    "port": options.port,
    "osc_port": options.port,
    "wait_reply": checked_range(float, 0, 3600, "s"),
    "device": parse_device,
    # show times and rates of `render` and `storyboard`: the bounds run_show.py has
    "start": options.show_time,
    "duration": options.duration,
    "end": options.duration,  # a show time > 0, bounded as a duration
    "every": options.duration,
    "fps": options.fps,
}


def apply_option_rules(parser: argparse.ArgumentParser) -> None:
    """Give every option named in OPTION_TYPES its checked type; --device defaults to auto.

    Applied to each subcommand's parser once they are all built, so a tool added later gets
    the same checks without repeating them.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                apply_option_rules(sub)
        elif action.option_strings and action.dest in OPTION_TYPES:
            action.type = OPTION_TYPES[action.dest]
            if action.dest == "device":
                action.default, action.help, action.metavar = "auto", DEVICE_HELP, "DEVICE"


def check_combinations(args: argparse.Namespace) -> str | None:
    """What is wrong with options that are fine alone but not together (None: nothing)."""
    first, count = getattr(args, "first", None), getattr(args, "count", None)
    if args.command == "seeds" and first is not None and count is not None:
        if first + count - 1 > MAX_SEED:
            return f"--from {first} --count {count}: seeds end at {MAX_SEED} (NVIDIA's range)"
    seeds = getattr(args, "seeds", None)
    if getattr(args, "grid", False) and seeds is not None and len(seeds) > MAX_GRID_IMAGES:
        return (f"--grid: {len(seeds)} images are too many for one grid (at most "
                f"{MAX_GRID_IMAGES}); leave out --grid or use `latent-walk seeds`")  # fmt: skip
    out = getattr(args, "out", None)
    if isinstance(out, str):
        path = Path(out)
        is_folder = args.command == "generate" or out.endswith(("/", os.sep)) or (
            args.command == "render" and (path.is_dir() or not path.suffix)
        )  # fmt: skip
        problem = output_problem(path, is_folder)
        if problem is not None:
            return f"--out {out}: {problem}"
    return None


def check_model_path(path: str | Path) -> Path:
    """`path` as a Path when it is a readable regular file, else a one-line ModelLoadError.

    A folder or a device file (/dev/zero: endless bytes) is refused before anything reads it.
    """
    path = Path(path)
    problem = input_problem(path)
    if problem is not None:
        problem = problem.replace("a regular file", "a model file (.pkl or .safetensors)")
        problem = problem.replace("not a file", "not a model file (.pkl or .safetensors)")
        raise ModelLoadError(f"{path}: {problem}")
    return path


def load_model(path: str | Path, device: str = "cpu", precision: str = "exact") -> Generator:
    """Load a generator for a tool; a missing or unreadable file raises one-line ModelLoadError."""
    from installation.models import load_generator

    path = check_model_path(path)
    return load_generator(path, device=device, precision=precision)  # type: ignore[arg-type]


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
    if rows.max() >= num_ws:
        bad = [range(max(r.start, num_ws), r.stop) for r in rows.ranges if r.stop > num_ws]
        raise InstallationError(
            f"{option} {given}: rows {format_ranges(bad)} are outside 0..{num_ws - 1} "
            f"(the model has {num_ws} ws rows)"
        )
    return list(rows)


def format_rows(rows: Sequence[int]) -> str:
    """[0, 1, 2, 3] -> '0-3'; [2, 5] -> '2,5' (for labels and names)."""
    rows = sorted(rows)
    if rows and rows == list(range(rows[0], rows[-1] + 1)):
        return f"{rows[0]}-{rows[-1]}" if len(rows) > 1 else str(rows[0])
    return ",".join(str(r) for r in rows)


def checked_class(G: Any, class_idx: int | None) -> int | None:
    """--class checked against the model: the class of a conditional model (required), None for
    an unconditional one (a given --class is ignored with a warning)."""
    if G.c_dim == 0:
        if class_idx is not None:
            log.warning("--class ignored: the model is unconditional")
        return None
    if class_idx is None:
        raise InstallationError(f"the model is conditional: pass --class 0..{G.c_dim - 1}")
    if not 0 <= class_idx < G.c_dim:
        raise InstallationError(f"--class {class_idx} is outside 0..{G.c_dim - 1}")
    return class_idx


def seeds_ws(
    G: Any,
    seeds: Sequence[int],
    psi: float = 1.0,
    cutoff: int | None = None,
    class_index: int | None = None,
) -> torch.Tensor:
    """ws [N, num_ws, w_dim] of NVIDIA-compatible seeds, on the mapping network's device.

    class_index: a conditional model's class (checked_class); None for an unconditional model.
    """
    import torch

    from installation.models.latents import map_z, seed_z

    if class_index is None and G.c_dim > 0:
        raise InstallationError(f"the model is conditional: pass --class 0..{G.c_dim - 1}")
    device = G.mapping.fc0.weight.device
    z = torch.cat([seed_z(seed, G.z_dim) for seed in seeds]).to(device)  # [N, z_dim]
    with torch.inference_mode():
        try:
            return map_z(G, z, class_index, psi, cutoff)
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
