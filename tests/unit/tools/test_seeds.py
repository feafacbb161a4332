"""`latent-walk seeds`: tiles are the seeds' own images, labels are printed, mixing is exact."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from installation.cli import main
from installation.models import save_generator
from installation.models.latents import seed_z, to_uint8
from installation.tools.common import labelled_sheet, sheet_layout
from installation.tools.seeds import seed_label
from tiny_models import TINY_SIZE_PX, tiny_sg3


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny StyleGAN3 as a .safetensors file the CLI can load."""
    return save_generator(tiny_sg3(), tmp_path_factory.mktemp("seeds") / "tiny.safetensors")


def seed_image(seed: int, psi: float = 1.0, mix: tuple[int, list[int]] | None = None) -> np.ndarray:
    """One seed rendered alone with the generator's own API: [H, W, 3] uint8."""
    G = tiny_sg3()
    with torch.inference_mode():
        ws = G.mapping(seed_z(seed, G.z_dim), None, truncation_psi=psi)
        if mix is not None:
            ws_mix = G.mapping(seed_z(mix[0], G.z_dim), None, truncation_psi=psi)
            ws[:, mix[1]] = ws_mix[:, mix[1]]
        return to_uint8(G.synthesis(ws, noise_mode="const"))[0]


def crop(sheet: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The (left, top, right, bottom) box of a sheet."""
    left, top, right, bottom = box
    return sheet[top:bottom, left:right]


def test_tiles_are_the_seeds_and_labels_are_printed(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    args = ["seeds", str(tiny_model), "--from", "5", "--count", "7", "--psi", "0.7"]
    args += ["--tile-px", str(TINY_SIZE_PX), "--batch", "3", "--columns", "3", "--out", str(out)]
    assert main(args) == 0
    sheet = iio.imread(out)
    seeds = list(range(5, 12))
    layout = sheet_layout(len(seeds), [seed_label(s) for s in seeds], TINY_SIZE_PX, 3)
    assert sheet.shape[:2] == layout.size_px[::-1]
    for index, seed in enumerate(seeds):
        tile = crop(sheet, layout.tile_box(index)).astype(int)
        alone = seed_image(seed, psi=0.7).astype(int)
        assert np.abs(tile - alone).max() <= 2, f"tile {index} is not seed {seed}"
        label = crop(sheet, layout.label_box(index))
        assert (label > 128).sum() > 10, f"no label under seed {seed}"
    # the tile of a different seed is clearly different (the comparison above can fail)
    assert np.abs(crop(sheet, layout.tile_box(0)).astype(int) - seed_image(6, 0.7)).max() > 20


def test_label_pixels_spell_the_seed() -> None:
    """Labels differ with the seed number: '12' and '13' print different pixels."""
    images = np.zeros((2, 16, 16, 3), np.uint8)
    sheet, layout = labelled_sheet(images, ["12", "13"], tile_px=16)
    first, second = crop(sheet, layout.label_box(0)), crop(sheet, layout.label_box(1))
    assert (first > 0).any() and not np.array_equal(first, second)


def test_resized_tiles_stay_close(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.png"
    assert (
        main(["seeds", str(tiny_model), "--count", "2", "--tile-px", "48", "--out", str(out)]) == 0
    )
    sheet = iio.imread(out)
    layout = sheet_layout(2, ["0", "1"], 48)
    tile = crop(sheet, layout.tile_box(1))
    assert tile.shape == (48, 48, 3)
    small = np.asarray(tile[1::3, 1::3], dtype=float)  # the centre of each 3x3 block
    assert np.abs(small - seed_image(1)).mean() < 12


def test_mixing_tile_is_the_generators_mixed_output(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "mix.png"
    args = ["seeds", str(tiny_model), "--count", "3", "--mix-with", "42", "--layers", "0-3"]
    assert main([*args, "--tile-px", str(TINY_SIZE_PX), "--out", str(out)]) == 0
    sheet = iio.imread(out)
    labels = [seed_label(s, 42, [0, 1, 2, 3]) for s in range(3)]
    assert labels[2] == "2 x42 [0-3]"
    layout = sheet_layout(3, labels, TINY_SIZE_PX)
    for seed in range(3):
        tile = crop(sheet, layout.tile_box(seed)).astype(int)
        mixed = seed_image(seed, mix=(42, [0, 1, 2, 3])).astype(int)
        assert np.abs(tile - mixed).max() <= 2
        assert np.abs(tile - seed_image(seed).astype(int)).max() > 2  # mixing changed it


def test_many_seeds_make_numbered_sheets_and_ws(tiny_model: Path, tmp_path: Path) -> None:
    out, ws_dir = tmp_path / "s.png", tmp_path / "ws"
    args = ["seeds", str(tiny_model), "--count", "5", "--per-sheet", "2", "--tile-px", "16"]
    assert main([*args, "--out", str(out), "--w-out", str(ws_dir)]) == 0
    assert sorted(p.name for p in tmp_path.glob("s_*.png")) == [
        "s_000.png",
        "s_001.png",
        "s_002.png",
    ]
    G = tiny_sg3()
    with torch.inference_mode():
        expected = G.mapping(seed_z(4, G.z_dim), None, truncation_psi=1.0)[0].numpy()  # default
    np.testing.assert_allclose(np.load(ws_dir / "seed0004.npy"), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["seeds", "missing.pkl"], "missing.pkl: no such file"),
        (["seeds", "{model}", "--mix-with", "1", "--layers", "3-99"], "--layers 3-99"),
        (["seeds", "{model}", "--mix-with", "1", "--layers", "x"], "--layers: not integers"),
    ],
)
def test_bad_input_is_one_line(
    tiny_model: Path, capsys: pytest.CaptureFixture, args: list[str], needle: str
) -> None:
    assert main([a.format(model=tiny_model) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_one_seed_is_singular_and_progress_counts_seeds(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "one.png"
    assert main(["seeds", str(tiny_model), "--from", "3", "--count", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"wrote 1 seed to {out} in ")
    assert "seeds  100% 1/1 seed " in captured.err
