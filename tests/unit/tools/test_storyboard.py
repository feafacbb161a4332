"""`latent-walk storyboard`: one tile per N seconds, each the show's frame at that time, labelled
with its section and time."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from installation.cli import main
from installation.models import load_generator
from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from installation.tools.common import sheet_layout
from installation.tools.storyboard import format_time, tile_label, tile_times
from tiny_models import TINY_SIZE_PX, tiny_show_tree

SHOW_TEXT = """\
models:
  tiny:
    path: ../assets/demo/demo-sg3.safetensors
    psi: 0.8
sections:
  - name: loop
    model: tiny
    loops: 1
    transition: {kind: crossfade, duration_s: 0.5}
    walk:
      space: w
      path: cubic
      closed: true
      seconds_per_keyframe: 1
      keyframes:
        - seed: 1
        - seed: 2
        - seed: 3
  - name: orbit
    model: tiny
    duration_s: 3
    walk:
      space: z
      path: slerp
      closed: true
      seconds_per_keyframe: 1
      keyframes:
        - seed: 4
        - seed: 5
    automation:
      rotate_deg: {lfo: {period_s: 2, amplitude: 10}}
"""


@pytest.fixture(scope="module")
def show_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 s show (3 s loop, 3 s orbit) beside a tiny SG3 in the demo model's place."""
    return tiny_show_tree(tmp_path_factory.mktemp("storyboard"), SHOW_TEXT, "show.yaml")


def crop(sheet: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The (left, top, right, bottom) box of a sheet."""
    left, top, right, bottom = box
    return sheet[top:bottom, left:right]


def test_each_tile_is_the_show_at_its_time_under_its_label(
    show_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sheet.png"
    args = ["storyboard", str(show_path), "--every", "0.75", "--out", str(out)]
    assert main([*args, "--columns", "4", "--precision", "exact", "--batch", "3"]) == 0
    times = [i * 0.75 for i in range(8)]  # 0 .. 5.25 in a 6 s show
    sections = ["loop"] * 4 + ["orbit"] * 4
    labels = [tile_label(name, t) for name, t in zip(sections, times, strict=True)]
    layout = sheet_layout(len(times), labels, TINY_SIZE_PX, 4)
    sheet = iio.imread(out)
    assert sheet.shape[:2] == layout.size_px[::-1]  # 8 tiles in 2 rows of 4
    show = load_show(show_path)
    renderer = ShowRenderer(show, {e.name: load_generator(e.path) for e in show.models}, "cpu")
    for index, t in enumerate(times):
        tile = crop(sheet, layout.tile_box(index)).astype(int)
        expected = renderer.render(index, t).rgb8().astype(int)
        assert np.abs(tile - expected).max() <= 1, f"tile {index} is not the show at {t} s"
        label = crop(sheet, layout.label_box(index))
        assert (label > 128).sum() > 20, f"no label under tile {index}"
    # the comparison can fail: another time's frame is clearly different
    assert (
        np.abs(crop(sheet, layout.tile_box(0)).astype(int) - renderer.render(0, 2.0).rgb8()).max()
        > 10
    )
    # labels differ with the section and time they name
    first, fifth = (crop(sheet, layout.label_box(i)).astype(int) for i in (0, 4))
    assert np.abs(first - fifth).max() > 100
    assert "wrote 8 tiles (every 0.75 s from 0:00 to 0:06)" in capsys.readouterr().out


def test_tiles_cover_one_pass_and_a_start_past_the_end_is_one_line(
    show_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sheet.png"
    assert main(["storyboard", str(show_path), "--every", "2", "--out", str(out)]) == 0
    labels = [tile_label(n, t) for n, t in [("loop", 0), ("loop", 2), ("orbit", 4)]]
    assert iio.imread(out).shape[:2] == sheet_layout(3, labels, TINY_SIZE_PX).size_px[::-1]
    capsys.readouterr()
    assert main(["storyboard", str(show_path), "--start", "9", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: --start 9: the show ends at 0:06 (6 s)"


def test_tile_times_and_labels() -> None:
    assert tile_times(0, 10, 240) == [float(t) for t in range(0, 240, 10)]
    assert tile_times(5, 10, 30) == [5, 15, 25]
    assert tile_times(0, 100, 30) == [0]
    assert format_time(80) == "1:20" and format_time(2.5) == "0:02.5"
    assert tile_label("drift", 80) == "drift  1:20"
