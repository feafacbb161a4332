"""Presets and bookmarks through the real renderer and render loop (tiny model, fake clock):
save in one "process", recall in a fresh one built from the files alone -> the identical frame;
a bookmark's latents/<name>.npy glides back to the frame it was taken from."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from live_loop import SHOW_TEXT, FakeClock, start_loop, step_frames

from installation.models.latents import to_uint8
from installation.render.frame import Frame
from installation.render.show_renderer import ShowRenderer
from installation.run.presets_file import read_presets, write_presets
from installation.run.show_reload import Reloader
from installation.settings import AppSettings
from installation.show.load import load_show
from installation.walk.commands import (
    Bookmark,
    GlideTo,
    LoadShow,
    RecallPreset,
    SavePreset,
    SetLive,
    SetMixing,
)
from installation.walk.presets import Preset
from tiny_models import tiny_sg3


class Process:
    """What one run of the show holds: a renderer built from the folder, a loop, a fake clock;
    `is_reloading`: with the real hot reload (/show/load)."""

    def __init__(self, folder: Path, now_s: float, is_reloading: bool = False) -> None:
        show = load_show(folder / "show.yaml")
        generator = tiny_sg3()
        self.renderer = ShowRenderer(show, {"tiny": generator}, "cpu")
        self.clock = FakeClock(now_s)
        reloader = None
        if is_reloading:
            settings = AppSettings(show_path=folder / "show.yaml", is_watching=False)
            reloader = Reloader(settings, self.renderer, {show.models[0].path: generator})
        self.loop, self.frames, self.commands = start_loop(self.renderer, self.clock, reloader)

    def step(self, count: int) -> list[Frame]:
        """Run the loop until `count` more frames came out (advancing the fake clock)."""
        return step_frames(self.loop, self.clock, self.frames, count)

    def image_at(self, show_s: float) -> np.ndarray:
        """uint8 pixels of the frame for show_s with the live state now."""
        params = self.loop.player.params_at(show_s, self.clock.now_s)
        with torch.inference_mode():
            return to_uint8(self.renderer.images([params]))[0]


def make_folder(tmp_path: Path) -> Path:
    (tmp_path / "tiny.safetensors").write_bytes(b"")  # the loader only checks that it exists
    (tmp_path / "show.yaml").write_text(SHOW_TEXT, encoding="utf-8")
    return tmp_path


def test_save_restart_recall_gives_the_identical_frame(tmp_path):
    folder = make_folder(tmp_path)
    first = Process(folder, now_s=50.0)
    first.step(1)
    for command in (SetLive("psi", 0.6), SetLive("translate_x", 0.1), SetMixing(5, 0, 3),
                    GlideTo(seed=7, glide_s=0.0)):  # fmt: skip
        first.commands.put(command)
    first.step(1)
    first.clock.now_s += 1.0  # the live values' default slew (0.5 s) is over: weight 1
    first.commands.put(SavePreset("look", with_time=True))
    first.step(1)
    saved = read_presets(folder / "show.presets.yaml")["look"]
    assert saved.show_s is not None and dict(saved.live) == {"psi": 0.6, "translate_x": 0.1}
    expected = first.image_at(saved.show_s)

    second = Process(folder, now_s=900.0)  # a new process: the show folder is all it shares
    second.step(1)
    assert second.loop.player.preset_names == ("look",)
    assert not np.array_equal(second.image_at(saved.show_s), expected)
    second.commands.put(RecallPreset("look", glide_s=0.0))
    frames = second.step(1)
    assert frames[0].show_time_s == saved.show_s  # the seek's frame first
    np.testing.assert_array_equal(second.image_at(saved.show_s), expected)


def test_a_bookmark_glides_back_to_the_frame_it_was_taken_from(tmp_path):
    folder = make_folder(tmp_path)
    show = Process(folder, now_s=50.0)
    show.step(1)
    show.commands.put(SetMixing(5, 0, 3))
    show.step(1)
    player = show.loop.player
    assert player.clock is not None
    now_show_s = player.clock.show_time_s(show.clock.now_s)
    ws_on_screen = show.renderer.ws(player.params_at(now_show_s, show.clock.now_s)).numpy()
    player.apply(Bookmark("dawn"), show.clock.now_s)
    assert player.last_bookmark == "{w: latents/dawn.npy}"
    np.testing.assert_array_equal(np.load(folder / "latents" / "dawn.npy"), ws_on_screen)
    stored = show.renderer.stored_ws("dawn", "tiny")
    np.testing.assert_array_equal(stored, ws_on_screen)  # GlideTo(latent="dawn") goes there


def test_the_preset_names_follow_a_show_load(tmp_path):
    folder = make_folder(tmp_path)
    (folder / "other.yaml").write_text(SHOW_TEXT, encoding="utf-8")
    write_presets(folder / "show.presets.yaml", {"look": Preset()})
    write_presets(folder / "other.presets.yaml", {"dusk": Preset(), "night": Preset(speed=2.0)})
    show = Process(folder, now_s=50.0, is_reloading=True)
    show.step(1)
    assert show.loop.player.preset_names == ("look",)
    show.commands.put(LoadShow("other"))
    deadline = time.monotonic() + 30.0  # the build runs on a worker thread
    while show.loop.player.preset_names != ("dusk", "night") and time.monotonic() < deadline:
        show.step(1)
        time.sleep(0.01)
    assert show.loop.player.preset_names == ("dusk", "night")
    show.commands.put(RecallPreset("night", glide_s=0.0))
    show.step(1)
    assert show.loop.player.clock is not None and show.loop.player.clock.rate == 2.0
