"""Presets and bookmarks: the presets file (format, errors), and the Player saving, recalling
and bookmarking with plain wall times (a fake LatentPlaces, no network)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from fake_latents import NUM_WS, W_DIM, FakeLatents, constant_ws
from installation.run.presets_file import (
    PresetsFile,
    presets_path,
    read_presets,
    save_preset,
    write_presets,
)
from installation.show.load import load_show
from installation.walk.commands import (
    Bookmark,
    GlideTo,
    ListPresets,
    RecallPreset,
    SavePreset,
    SetLive,
    SetMixing,
    SetNoiseMode,
)
from installation.walk.player import Player
from installation.walk.presets import Preset, PresetError
from installation.walk.timeline import LIVE_LATENT, Timeline

SHOW = """\
models:
  m: {path: m.pkl}
sections:
  - name: one
    model: m
    duration_s: 10
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
  - name: two
    model: m
    duration_s: 10
    live:
      psi: {range: [0.3, 1.2], slew_s: 2}
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
"""


class Places:
    """LatentPlaces without a network: a seed's ws are filled with the seed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def target_ws(self, model: str, seed: int) -> np.ndarray:
        return np.full((NUM_WS, W_DIM), float(seed), np.float32)

    def stored_ws(self, name: str, model: str) -> np.ndarray:
        return np.load(self.folder / "latents" / f"{name}.npy")

    def store_ws(self, name: str, params) -> Path:
        path = self.folder / "latents" / f"{name}.npy"
        if path.exists():
            raise ValueError(f"{path} exists")
        path.parent.mkdir(exist_ok=True)
        np.save(path, np.asarray(params.latent, np.float32))
        return path


def make_player(tmp_path: Path) -> Player:
    (tmp_path / "m.pkl").write_bytes(b"")
    (tmp_path / "show.yaml").write_text(SHOW)
    show = load_show(tmp_path / "show.yaml")
    latents = FakeLatents(constant_ws(0.5, 0.5))
    player = Player(Timeline(show, {"one": latents, "two": latents}), Places(tmp_path),
                    PresetsFile())  # fmt: skip
    player.start_clock(100.0, 12.0, None)  # section two, show time 12 at wall 100
    return player


def test_the_presets_file_sits_next_to_the_show():
    assert presets_path("/shows/lobby.yaml") == Path("/shows/lobby.presets.yaml")


def test_save_then_recall_in_a_new_player_restores_everything_live(tmp_path):
    player = make_player(tmp_path)
    player.apply(SetLive("psi", 0.7), 100.0)
    player.apply(SetNoiseMode("random"), 100.0)
    player.apply(SetMixing(85, 1, 3), 100.0)
    player.apply(GlideTo(seed=9, glide_s=0.0), 100.0)
    player.apply(SavePreset("calm", with_time=True), 103.0)
    assert player.preset_names == ("calm",)
    saved = read_presets(tmp_path / "show.presets.yaml")["calm"]
    assert saved == Preset(live=(("psi", 0.7),), speed=1.0, noise_mode="random",
                           mixing=SetMixing(85, 1, 3), glide=GlideTo(seed=9), section="two",
                           show_s=15.0)  # fmt: skip

    other = make_player(tmp_path)  # a new process: only the file is shared
    assert other.preset_names == ("calm",)
    reaction = other.apply(RecallPreset("calm", glide_s=0.0), 100.0)
    assert reaction.seek_s == 15.0 and reaction.seek_by == "RecallPreset"
    live = other.live_at(12.0, 100.0)
    assert live["psi"] == (pytest.approx(0.7), 1.0)
    assert other.noise_mode == "random"
    assert other.mixing is not None and other.mixing[1:] == (1, 3)
    np.testing.assert_array_equal(other.mixing[0], np.full((NUM_WS, W_DIM), 85.0))
    np.testing.assert_array_equal(live[LIVE_LATENT][0], np.full((NUM_WS, W_DIM), 9.0))
    assert live[LIVE_LATENT][1] == 1.0


def test_recall_glides_with_the_sections_slew_or_the_given_time(tmp_path):
    player = make_player(tmp_path)
    save_preset(player.presets_file, "bright", Preset(live=(("psi", 1.1),)))
    player.apply(RecallPreset("bright"), 100.0)  # section two: psi slews over 2 s
    assert player.live_at(12.0, 101.0)["psi"][1] == pytest.approx(0.5)
    player.apply(RecallPreset("bright", glide_s=4.0), 110.0)
    assert player.live.tracks["psi"].slew_s == 4.0
    assert player.apply(RecallPreset("bright"), 120.0).seek_s is None  # saved without time


def test_recall_hands_back_what_the_preset_does_not_set(tmp_path):
    player = make_player(tmp_path)
    save_preset(player.presets_file, "plain", Preset())
    player.apply(SetLive("psi", 0.9), 100.0)
    player.apply(SetNoiseMode("none"), 100.0)
    player.apply(RecallPreset("plain"), 101.0)
    assert player.noise_mode is None and player.mixing is None
    assert "psi" not in player.live_at(12.0, 103.0)  # held 0, fell back over its slew


def test_unknown_names_and_broken_files_change_nothing(tmp_path, caplog):
    player = make_player(tmp_path)
    player.apply(SetNoiseMode("const"), 100.0)
    with caplog.at_level(logging.ERROR):
        player.apply(RecallPreset("nope"), 100.0)
    expected = "preset 'nope' not recalled: no such preset in show.presets.yaml (have: -)"
    assert expected in caplog.text
    player.presets_file.write_text("presets:\n  a: {speed: fast}\n")
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        player.apply(RecallPreset("a"), 100.0)
        player.apply(SavePreset("b"), 100.0)
    assert caplog.text.count("presets.a.speed: must be a number, got 'fast'") == 2
    assert player.presets_file.read_text() == "presets:\n  a: {speed: fast}\n"  # not overwritten
    assert player.noise_mode == "const"


def test_a_recall_whose_glide_target_is_missing_changes_nothing(tmp_path, caplog):
    player = make_player(tmp_path)
    save_preset(player.presets_file, "gone", Preset(live=(("psi", 1.0),),
                                                    glide=GlideTo(latent="missing")))  # fmt: skip
    with caplog.at_level(logging.ERROR):
        player.apply(RecallPreset("gone"), 100.0)
    assert "preset 'gone' not recalled" in caplog.text
    assert player.live.tracks == {}


def test_bookmark_stores_the_ws_on_screen_and_gives_the_keyframe(tmp_path, caplog):
    player = make_player(tmp_path)
    with caplog.at_level(logging.INFO):
        player.apply(Bookmark("nice"), 100.0)
        player.apply(Bookmark("nice"), 101.0)  # never replaced
        player.apply(Bookmark("../up"), 101.0)
    assert player.last_bookmark == "{w: latents/nice.npy}"
    assert "keyframe: {w: latents/nice.npy}" in caplog.text
    assert "bookmark 'nice' not stored" in caplog.text
    assert "bookmark dropped: '../up' is not a name" in caplog.text
    np.testing.assert_array_equal(np.load(tmp_path / "latents" / "nice.npy"),
                                  np.full((NUM_WS, W_DIM), 0.5))  # fmt: skip


def test_list_presets_rereads_the_file(tmp_path):
    player = make_player(tmp_path)
    write_presets(player.presets_file, {"a": Preset(), "b": Preset(speed=2.0)})
    player.apply(ListPresets(), 100.0)
    assert player.preset_names == ("a", "b")


def test_written_files_read_back_equal(tmp_path):
    presets = {
        "all": Preset(live=(("direction/smile", -2.5), ("psi", 0.5)), speed=0.5,
                      noise_mode="none", mixing=SetMixing(3, 0, None),
                      glide=GlideTo(latent="portrait_3"), section="intro", show_s=1.25),
        "empty": Preset(),
    }  # fmt: skip
    write_presets(tmp_path / "s.presets.yaml", presets)
    assert read_presets(tmp_path / "s.presets.yaml") == presets
    assert not list(tmp_path.glob(".*"))  # no temp file left


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("presets: [1, 2]\n", "p.yaml:1: presets: must be a mapping"),
        ("presets:\n  a:\n    psi: 1\n", "p.yaml:3: presets.a.psi: unknown key (expected: live, "
         "speed, noise_mode, mixing, glide, section, show_s)"),
        ("presets:\n  a: {live: {psi: .nan}}\n", "p.yaml:2: presets.a.live.psi: must be a "
         "finite number, got '.nan'"),
        ("presets:\n  a: {noise_mode: loud}\n", "p.yaml:2: presets.a.noise_mode: 'loud' is not "
         "one of const, random, none"),
        ("presets:\n  a: {mixing: {seed: -1}}\n", "p.yaml:2: presets.a.mixing.seed: must be an "
         "integer 0..4294967295, got '-1'"),
        ("presets:\n  a: {mixing: {seed: 1, first: 4, stop: 2}}\n", "p.yaml:2: "
         "presets.a.mixing.stop: must be an integer 5..1000, got '2'"),
        ("presets:\n  a: {glide: {seed: 1, latent: x}}\n", "p.yaml:2: presets.a.glide: must be "
         "{seed: N} or {latent: NAME}"),
        ("presets:\n  a: {glide: {latent: ../x}}\n", "p.yaml:2: presets.a.glide.latent: must be "
         "a name"),
        ("presets:\n  ../a: {}\n", "p.yaml:2: presets.../a: '../a' is not a name"),
        ("presets:\n  a: {}\n  a: {}\n", "p.yaml:3: presets.a: duplicate key"),
        ("presets:\n  a: {show_s: -1}\n", "p.yaml:2: presets.a.show_s: must be a finite number "
         ">= 0, got '-1'"),
        ("shows: {}\n", "p.yaml:1: shows: unknown key (expected: presets)"),
        ("presets: {a: &x {}, b: *x}\n", "p.yaml:1: YAML anchors and aliases are not allowed"),
        ("presets: !!python/object {}\n", "p.yaml:1: presets: YAML tags are not allowed"),
        ("presets:\n  a: {live: {psi: [[[[1]]]]}}\n", "p.yaml:2: nested deeper than 4 levels"),
        ("presets: {a: {speed: 1" + "0" * 80 + "}}\n", "p.yaml:1: presets.a.speed: a number "
         "longer than 64 characters"),
        ("presets: {a: [}\n", "p.yaml:1: YAML syntax error"),
        ("a: 1\n---\nb: 2\n", "p.yaml:2: a presets file is one YAML document"),
    ],
)  # fmt: skip
def test_broken_files_give_one_line_with_file_line_and_field(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PresetError) as caught:
        read_presets(path)
    assert str(caught.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(caught.value)


def test_huge_and_binary_files_are_refused_before_parsing(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"#" * (300 * 1024))
    with pytest.raises(PresetError, match="a presets file is at most 256 KiB"):
        read_presets(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(PresetError, match="not UTF-8"):
        read_presets(path)
    assert read_presets(tmp_path / "none.yaml") == {}
    path.write_text("")
    assert read_presets(path) == {}


def test_the_readme_example_reads(tmp_path):
    readme = (Path(__file__).resolve().parents[3] / "shows" / "README.md").read_text()
    section = readme.split("## 11. Presets and bookmarks", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "x.presets.yaml").write_text(block)
    calm = read_presets(tmp_path / "x.presets.yaml")["calm"]
    assert calm.glide == GlideTo(seed=1234) and calm.mixing == SetMixing(85, 0, 4)
