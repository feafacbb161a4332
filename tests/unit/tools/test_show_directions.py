"""Shows use `latent-walk directions` files by index or name; bad entries fail at load time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from installation.cli import main
from installation.errors import ShowError
from installation.models import load_generator, save_generator
from installation.render.resolve import resolve_section
from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from tiny_models import tiny_sg3

SECTION = """\
models:
  tiny: {{path: tiny.safetensors}}
sections:
  - name: still
    model: tiny
    duration_s: 4
    walk: {{space: w, path: linear, seconds_per_keyframe: 4, keyframes: [{{seed: 1}}, {{seed: 2}}]}}
    live:
      direction/dirs.pc0: {{range: [-10, 10]}}
    directions:
{directions}
"""
T_S = 1.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the tiny model and its PCA directions (4 of them) in dirs.npz."""
    root = tmp_path_factory.mktemp("showdirs")
    save_generator(tiny_sg3(), root / "tiny.safetensors")
    args = ["directions", str(root / "tiny.safetensors"), "--count", "4", "--samples", "3000"]
    assert main([*args, "--out", str(root / "dirs.npz")]) == 0
    np.save(root / "plain.npy", np.ones(8, np.float32))
    return root


def write_show(folder: Path, directions: str, name: str) -> Path:
    """show <name>.yaml with the `directions:` items given (already indented)."""
    path = folder / f"{name}.yaml"
    path.write_text(SECTION.format(directions=directions), encoding="utf-8")
    return path


def renderer(folder: Path, directions: str, name: str) -> ShowRenderer:
    """A renderer of a one-section show with these directions on the tiny model."""
    return ShowRenderer(
        load_show(write_show(folder, directions, name)), {"tiny": tiny_sg3()}, "cpu"
    )


def frame(r: ShowRenderer, live: dict | None = None) -> np.ndarray:
    """The image at T_S as float32 [C, H, W] (optionally with live values)."""
    with torch.inference_mode():
        return r.image(r.timeline.at(T_S, live)).float().numpy()


def test_index_and_name_pick_the_same_entry_and_change_the_image(folder: Path) -> None:
    by_index = renderer(folder, "      - {file: dirs.npz, index: 0, intensity: 3}", "by_index")
    by_name = renderer(folder, "      - {file: dirs.npz, name: pc0, intensity: 3}", "by_name")
    still = renderer(folder, "      - {file: dirs.npz, index: 0, intensity: 0}", "still")
    direction = by_index.show.sections[0].directions[0]
    assert (direction.index, direction.entry, direction.scale) == (0, "pc0", "sigma")
    assert direction.live_name == "dirs.pc0"
    np.testing.assert_array_equal(frame(by_index), frame(by_name))
    assert np.abs(frame(by_index) - frame(still)).max() > 0.05  # the direction moves the image
    # live steering by <stem>.<name>: intensity 0 gives the still image back
    np.testing.assert_allclose(frame(by_index, {"direction/dirs.pc0": 0.0}), frame(still))


def test_sigma_scale_multiplies_by_std(folder: Path) -> None:
    items = "      - {file: dirs.npz, index: 2, layers: 0-7}\n"
    items += "      - {file: dirs.npz, name: pc2, scale: raw}"
    show = load_show(write_show(folder, items, "scale"))
    latents = resolve_section(show.sections[0], tiny_sg3())
    with np.load(folder / "dirs.npz") as npz:
        unit, std = npz["directions"][2], float(npz["std"][2])
    np.testing.assert_allclose(latents.directions[0], np.tile(unit * std, (16, 1)), rtol=1e-6)
    np.testing.assert_allclose(latents.directions[1], np.tile(unit, (16, 1)), rtol=1e-6)
    assert std > 0.01


@pytest.mark.parametrize(
    ("item", "line", "needle"),
    [
        ("{file: dirs.npz, index: 4}", 11, "index: 4 is outside 0..3: dirs.npz holds 4"),
        ("{file: dirs.npz, name: pc9}", 11, "'pc9' is not in dirs.npz; did you mean"),
        ("{file: dirs.npz}", 11, "exactly one of 'index' (0..3) and 'name'"),
        ("{file: plain.npy, index: 1}", 11, "picks an entry of a directions .npz"),
        ("{file: plain.npy, scale: sigma}", 11, "sigma needs the std"),
    ],
)
def test_bad_entries_name_file_and_line(folder: Path, item: str, line: int, needle: str) -> None:
    path = write_show(folder, f"      - {item}", "bad")
    with pytest.raises(ShowError) as info:
        load_show(path)
    assert f"bad.yaml:{line}:" in str(info.value)
    assert needle in str(info.value)


def test_a_npz_without_directions_is_refused(folder: Path) -> None:
    np.savez(folder / "other.npz", w=np.zeros(8, np.float32))
    path = write_show(folder, "      - {file: other.npz, index: 0}", "other")
    with pytest.raises(ShowError, match=r"other.yaml:11: .*has no array 'directions' \(has w\)"):
        load_show(path)


def test_a_per_range_variant_acts_on_its_rows_only(folder: Path) -> None:
    out = folder / "ranges.npz"
    args = ["directions", str(folder / "tiny.safetensors"), "--count", "2", "--samples", "2000"]
    assert main([*args, "--layers", "0-3", "--layers", "8-", "--out", str(out)]) == 0
    show = load_show(write_show(folder, "      - {file: ranges.npz, name: pc1_8-15}", "ranges"))
    direction = show.sections[0].directions[0]
    assert (direction.index, direction.live_name) == (3, "ranges.pc1_8-15")
    vector = resolve_section(show.sections[0], tiny_sg3()).directions[0]  # [num_ws, w_dim]
    assert np.all(vector[:8] == 0) and np.all(np.abs(vector[8:]).sum(axis=1) > 0)


def test_the_demo_models_directions_load_and_fit_it(tmp_path: Path) -> None:
    """shows/directions/demo_pca.npz (made by `latent-walk directions` on the demo model)."""
    root = Path(__file__).resolve().parents[3]
    demo_pca = root / "shows" / "directions" / "demo_pca.npz"
    text = SECTION.replace("tiny.safetensors", str(root / "assets/demo/demo-sg3.safetensors"))
    show_path = tmp_path / "demo.yaml"
    items = f"      - {{file: {demo_pca}, name: pc0}}\n      - {{file: {demo_pca}, index: 7}}"
    show_path.write_text(text.format(directions=items), encoding="utf-8")
    show = load_show(show_path)
    latents = resolve_section(show.sections[0], load_generator(show.models[0].path))
    with np.load(demo_pca) as npz:
        assert list(npz["names"]) == [f"pc{k}" for k in range(8)]
        expected = npz["directions"][7] * npz["std"][7]  # [w_dim] of the demo model (64)
    np.testing.assert_allclose(latents.directions[1], np.tile(expected, (10, 1)), rtol=1e-6)
