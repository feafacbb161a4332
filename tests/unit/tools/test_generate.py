"""`latent-walk generate`: a grid with every cell filled, plurals, a progress bar; the tools'
help: every subcommand listed, one default psi stated everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from installation.cli import build_parser, main
from installation.models import save_generator
from installation.show.schema import ModelEntry
from installation.tools.common import DEFAULT_PSI
from installation.tools.generate import grid_columns
from tiny_models import TINY_SIZE_PX, tiny_sg3

SUBCOMMANDS = {
    "inspect", "convert", "validate", "schema", "osc-send", "doctor", "generate", "render",
    "storyboard", "seeds", "directions", "project", "audio-keys", "audio-devices", "midi-ports",
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny StyleGAN3 as a .safetensors file the CLI can load."""
    return save_generator(tiny_sg3(), tmp_path_factory.mktemp("gen") / "tiny.safetensors")


@pytest.mark.parametrize(
    ("count", "columns"), [(1, 1), (2, 2), (3, 3), (4, 2), (6, 3), (7, 7), (8, 4), (12, 4)]
)
def test_grid_columns_divide_the_count_as_square_as_possible(count: int, columns: int) -> None:
    assert grid_columns(count) == columns
    assert count % columns == 0 and columns >= count // columns  # no empty cell, wide not tall


def test_grid_has_no_empty_cell_and_each_cell_is_its_seed(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imgs"
    assert main(["generate", str(tiny_model), "--seeds", "3-10", "--grid", "--out", str(out)]) == 0
    grid = iio.imread(out / "grid.png")
    px = TINY_SIZE_PX
    assert grid.shape == (2 * px, 4 * px, 3)  # 8 images: 4 x 2
    for index, seed in enumerate(range(3, 11)):
        row, col = divmod(index, 4)
        cell = grid[row * px : (row + 1) * px, col * px : (col + 1) * px]
        assert np.array_equal(cell, iio.imread(out / f"seed{seed:04d}.png")), f"cell {index}"
        assert cell.std() > 1  # a picture, not an empty black cell
    captured = capsys.readouterr()
    assert captured.out.startswith(f"wrote 8 images and grid.png (4 x 2) to {out} in ")
    progress = captured.err.splitlines()
    assert any(line.startswith("generate  100% 8/8 images") for line in progress)


def test_one_image_is_singular_and_ws_files_are_counted(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", str(tiny_model), "--seeds", "5", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote 1 image to {tmp_path} in ")
    args = ["generate", str(tiny_model), "--seeds", "1,2", "--w-out", "--out", str(tmp_path)]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith(f"wrote 2 images and 2 ws files to {tmp_path}")


def test_grid_columns_that_leave_cells_empty_are_refused_in_one_line(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["generate", str(tiny_model), "--seeds", "0-7", "--grid", "--grid-columns", "3"]
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: --grid-columns 3: 8 images in rows of 3 leave 1 cell empty; use one of 1, 2, 4, 8"
    )
    assert not (tmp_path / "x").exists()  # refused before the model loads or anything is written


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    """The latent-walk subcommands' parsers by name."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_help_lists_every_subcommand_with_a_line_of_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert set(subcommand_parsers()) == SUBCOMMANDS
    for name in SUBCOMMANDS:
        assert any(line.split()[:1] == [name] for line in text.splitlines()), name


def test_every_tool_defaults_to_the_shows_psi_and_says_so() -> None:
    assert ModelEntry.__dataclass_fields__["psi"].default == DEFAULT_PSI == 1.0
    parsers = subcommand_parsers()
    for name in ("generate", "seeds", "directions"):
        psi = next(a for a in parsers[name]._actions if a.dest == "psi")
        assert psi.default == DEFAULT_PSI, name
        assert "default 1 = none" in (psi.help or ""), name
