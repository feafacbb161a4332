"""The example shows in shows/ and the complete shows in shows/README.md all validate."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from installation.show.load import load_show

SHOWS = Path(__file__).resolve().parents[3] / "shows"
README = SHOWS / "README.md"
W_DIM = 512


def referenced_files(text: str) -> set[str]:
    """Every string value in a show that names a model, vector or direction file."""
    found: set[str] = set()
    stack = [yaml.safe_load(text)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item.endswith((".pkl", ".safetensors", ".npy", ".npz")):
            found.add(item)
    return found


def with_placeholders(folder: Path, name: str, text: str) -> Path:
    """Write `text` as folder/name with placeholder files at the paths it refers to.

    Models are empty files (the loader only checks that they exist); .npy are [512] float32
    (a valid z, w or direction); .npz hold a [512] array `w` (a projection result).
    """
    for rel in referenced_files(text):
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".npy"):
            np.save(target, np.zeros(W_DIM, np.float32))
        elif rel.endswith(".npz"):
            np.savez(target, w=np.zeros(W_DIM, np.float32))
        else:
            target.write_bytes(b"")
    show = folder / name
    show.write_text(text, encoding="utf-8")
    return show


def readme_shows() -> list[str]:
    """The ```yaml show blocks of shows/README.md (complete shows)."""
    return re.findall(r"^```yaml show\n(.*?)^```$", README.read_text(encoding="utf-8"), re.S | re.M)


def test_demo_validates_as_is() -> None:
    show = load_show(SHOWS / "demo.yaml")
    assert show.models[0].path == (SHOWS / "../assets/demo/demo-sg3.safetensors").resolve()
    kinds = {s.transition.kind for s in show.sections}
    assert kinds == {"cut", "crossfade", "image_crossfade"}
    paths = {s.walk.path for s in show.sections}
    assert {"cubic", "slerp", "noise_loop", "random_walk"} <= paths
    assert any(s.mixing for s in show.sections)
    assert any(s.directions for s in show.sections)
    assert any(s.automation.psi is not None for s in show.sections)
    assert 120 <= show.total_s() <= 600  # a few minutes


def test_demo_swirl_direction_matches_w_dim() -> None:
    direction = np.load(SHOWS / "directions/demo_swirl.npy", allow_pickle=False)
    assert direction.shape == (64,)
    assert direction.dtype == np.float32
    assert np.linalg.norm(direction) == pytest.approx(1.0, abs=1e-6)


def test_museum_example_validates_with_placeholder_files(tmp_path: Path) -> None:
    text = (SHOWS / "museum_example.yaml").read_text(encoding="utf-8")
    assert "models/stylegan3-r-ffhqu-256x256.pkl" in referenced_files(text)
    assert "directions/smile.npy" in referenced_files(text)
    show = load_show(with_placeholders(tmp_path, "museum_example.yaml", text))
    assert len(show.models) == 3
    assert show.settings.opening_hours is not None
    assert {s.transition.kind for s in show.sections} == {"cut", "crossfade", "image_crossfade"}
    assert {s.walk.path for s in show.sections} >= {"cubic", "noise_loop", "random_walk"}


def test_readme_has_complete_shows() -> None:
    assert len(readme_shows()) >= 3


@pytest.mark.parametrize("index", range(len(readme_shows())))
def test_readme_complete_show_validates(tmp_path: Path, index: int) -> None:
    text = readme_shows()[index]
    load_show(with_placeholders(tmp_path, f"readme_{index}.yaml", text))


def test_example_shows_point_editors_at_the_schema() -> None:
    assert (SHOWS / "show.schema.json").is_file()
    for name in ("demo.yaml", "museum_example.yaml"):
        first = (SHOWS / name).read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=./show.schema.json"


EXAMPLE_SHOWS = sorted(p.name for p in SHOWS.glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLE_SHOWS)
def test_every_example_show_validates(tmp_path: Path, name: str) -> None:
    """Each shows/*.yaml loads as it is when its files ship, else with placeholder files."""
    text = (SHOWS / name).read_text(encoding="utf-8")
    missing = [rel for rel in referenced_files(text) if not (SHOWS / rel).is_file()]
    show = load_show(with_placeholders(tmp_path, name, text) if missing else SHOWS / name)
    assert show.sections
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./show.schema.json"
