"""display/window.py as a real pygame GL window (SDL offscreen driver): keys, kiosk, refresh."""

import logging
import os

import numpy as np
import pygame
import pytest

from installation.display import window
from installation.display.outputs import (
    OutputsLayout,
    Overlap,
    Screen,
    reference_output,
    side_by_side,
    spanning_window,
)
from installation.display.presenter import (
    NEXT_SECTION,
    PAUSE,
    PREV_SECTION,
    QUIT,
    RELOAD,
    TOGGLE_OVERLAY,
    DisplayError,
)
from installation.display.window import WindowPresenter, loaded_sdl_library_path, read_refresh_hz
from installation.render.frame import Frame

CTRL_SHIFT = pygame.KMOD_LCTRL | pygame.KMOD_RSHIFT


@pytest.fixture
def window_factory(monkeypatch):
    """Creates WindowPresenters on SDL's offscreen driver and closes them after the test."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")  # read at pygame.display.init()
    made: list[WindowPresenter] = []

    def make(**kwargs) -> WindowPresenter:
        made.append(WindowPresenter(is_windowed=True, size_px=(64, 48), **kwargs))
        pygame.event.clear()  # drop the window's own startup events
        return made[-1]

    yield make
    for presenter in made:
        presenter.close()


def press(key: int, mod: int = pygame.KMOD_NONE) -> None:
    """Queue a key press as SDL would deliver it."""
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod))


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (pygame.K_ESCAPE, QUIT),
        (pygame.K_q, QUIT),
        (pygame.K_SPACE, PAUSE),
        (pygame.K_RIGHT, NEXT_SECTION),
        (pygame.K_PAGEDOWN, NEXT_SECTION),
        (pygame.K_LEFT, PREV_SECTION),
        (pygame.K_PAGEUP, PREV_SECTION),
        (pygame.K_f, TOGGLE_OVERLAY),
        (pygame.K_r, RELOAD),
    ],
)
def test_keys_map_to_ui_events(window_factory, key, expected):
    presenter = window_factory()
    press(key)
    assert presenter.poll() == [expected]


def test_other_keys_and_repeated_polls_give_nothing(window_factory):
    presenter = window_factory()
    press(pygame.K_a)
    assert presenter.poll() == []
    press(pygame.K_SPACE)
    press(pygame.K_f)
    assert presenter.poll() == [PAUSE, TOGGLE_OVERLAY]  # in order
    assert presenter.poll() == []


def test_window_close_quits(window_factory):
    presenter = window_factory()
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert presenter.poll() == [QUIT]


def test_kiosk_ignores_quit_keys_and_close_and_logs_once(window_factory, caplog):
    presenter = window_factory(is_kiosk=True)
    caplog.set_level(logging.INFO, logger=window.__name__)
    press(pygame.K_ESCAPE)
    press(pygame.K_q)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    press(pygame.K_SPACE)  # other keys still work
    assert presenter.poll() == [PAUSE]
    press(pygame.K_ESCAPE)
    assert presenter.poll() == []
    messages = [record.getMessage() for record in caplog.records]
    assert sum("quit keys disabled" in message for message in messages) == 1


@pytest.mark.parametrize("is_kiosk", [True, False])
def test_ctrl_shift_q_quits_in_every_mode(window_factory, is_kiosk):
    presenter = window_factory(is_kiosk=is_kiosk)
    press(pygame.K_q, CTRL_SHIFT)
    assert presenter.poll() == [QUIT]


def test_kiosk_needs_both_ctrl_and_shift(window_factory):
    presenter = window_factory(is_kiosk=True)
    press(pygame.K_q, pygame.KMOD_LCTRL)
    press(pygame.K_q, pygame.KMOD_LSHIFT)
    assert presenter.poll() == []


def test_present_draws_planes_and_overlay_into_the_back_buffer(window_factory):
    presenter = window_factory()
    planes = np.random.default_rng(0).uniform(-1, 1, (3, 48, 64)).astype(np.float16)
    frame = Frame(pixels=planes, index=0, show_time_s=0.0, gen_ms=0.0)
    presenter.present(frame)  # flips; then redraw without flipping to read the back buffer
    presenter.drawer.draw(presenter.ctx.screen, presenter.size_px)
    data = presenter.ctx.screen.read(components=3, alignment=1)
    out = np.frombuffer(data, dtype=np.uint8).reshape(48, 64, 3)[::-1]
    assert np.abs(out.astype(int) - frame.rgb8()).max() <= 1
    presenter.set_overlay(["gen 41.2 ms"])
    presenter.drawer.draw(presenter.ctx.screen, presenter.size_px)
    data = presenter.ctx.screen.read(components=3, alignment=1)
    with_overlay = np.frombuffer(data, dtype=np.uint8).reshape(48, 64, 3)[::-1]
    assert (with_overlay != out).any()


def test_exposed_window_is_redrawn(window_factory):
    presenter = window_factory()
    pixels = np.full((48, 64, 3), 90, dtype=np.uint8)
    presenter.present(Frame(pixels=pixels, index=0, show_time_s=0.0, gen_ms=0.0))
    presenter.ctx.screen.clear(0.0, 0.0, 0.0)
    pygame.event.post(pygame.event.Event(pygame.WINDOWEXPOSED))
    assert presenter.poll() == []
    # the redraw flipped; draw once more without flipping to check what it draws
    presenter.drawer.draw(presenter.ctx.screen, presenter.size_px)
    data = presenter.ctx.screen.read(components=3, alignment=1)
    assert np.frombuffer(data, dtype=np.uint8).min() == 90


def test_refresh_rate_is_none_or_positive(window_factory):
    presenter = window_factory()
    assert presenter.refresh_hz is None or presenter.refresh_hz > 0
    assert presenter.refresh_hz is None  # SDL's offscreen driver reports refresh_rate 0


def test_sdl_library_is_found_and_bad_display_gives_none(window_factory):
    window_factory()
    path = loaded_sdl_library_path()
    assert path is not None and "libSDL2-2" in path
    assert read_refresh_hz(99) is None  # SDL_GetCurrentDisplayMode fails: no such display


def test_missing_sdl_library_gives_none(tmp_path, monkeypatch):
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/libc.so.6\n", encoding="utf-8")
    assert loaded_sdl_library_path(str(maps)) is None
    assert loaded_sdl_library_path(str(tmp_path / "absent")) is None
    monkeypatch.setattr(window, "loaded_sdl_library_path", lambda: None)
    assert read_refresh_hz(0) is None


def test_maps_line_with_pygame_bundled_sdl_is_parsed(tmp_path):
    path = "/venv/site-packages/pygame.libs/libSDL2-2-1667c208.0.so.0.2800.4"
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00-7f01 r-xp 00000000 08:01 1 /venv/pygame.libs/libSDL2_ttf-2-e6bd.0.so.0.2000.1\n"
        f"7f02-7f03 r-xp 00000000 08:01 2 {path}\n",
        encoding="utf-8",
    )
    assert loaded_sdl_library_path(str(maps)) == path


def test_outputs_preview_side_by_side_with_the_blend(monkeypatch):
    # two 64 x 48 outputs sharing 16 pixels of a 112-pixel-wide canvas, previewed in one window
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    outputs = OutputsLayout((Screen(0, "stretch"), Screen(0, "stretch")),
                            Overlap(16, is_px=True), 2.2)  # fmt: skip
    presenter = WindowPresenter(is_windowed=True, size_px=(128, 48), outputs=outputs)
    try:
        canvas = np.random.default_rng(2).integers(0, 256, (48, 112, 3), dtype=np.uint8)
        presenter.present(Frame(pixels=canvas, index=0, show_time_s=0.0, gen_ms=0.0))
        presenter.draw()  # again, without flipping, to read the back buffer
        data = presenter.ctx.screen.read(components=3, alignment=1)
        out = np.frombuffer(data, dtype=np.uint8).reshape(48, 128, 3)[::-1].astype(int)
        (first, rect0), (second, rect1) = presenter.outputs
        assert (rect0, rect1) == ((0, 0, 64, 48), (64, 0, 64, 48))
        assert np.abs(out[:, :64] - reference_output(canvas, first)).max() <= 1
        assert np.abs(out[:, 64:] - reference_output(canvas, second)).max() <= 1
        np.testing.assert_array_equal(out[:, 64 + 16 :], canvas[:, 64:])  # past the seam: as is
    finally:
        presenter.close()


def test_spanning_window_over_monitors():
    # a 1920 x 1080 monitor left of a 1280 x 1024 one whose top is 56 pixels lower
    window_rect, rects = spanning_window([(0, 0, 1920, 1080), (1920, 56, 1280, 1024)])
    assert window_rect == (0, 0, 3200, 1080)
    assert rects == ((0, 0, 1920, 1080), (1920, 0, 1280, 1024))  # GL y up: both at the bottom
    window_rect, rects = spanning_window([(1920, 0, 1920, 1080), (0, 0, 1920, 1080)])
    assert window_rect == (0, 0, 3840, 1080) and rects[0][0] == 1920 and rects[1][0] == 0
    assert side_by_side((101, 10), 2) == ((0, 0, 50, 10), (50, 0, 51, 10))


def test_display_bounds_and_bad_output_display(window_factory):
    window_factory()  # pygame.display is initialised
    bounds = window.read_display_bounds(0)
    assert bounds is None or (bounds[2] > 0 and bounds[3] > 0)
    assert window.read_display_bounds(99) is None
    outputs = OutputsLayout((Screen(0), Screen(7)))
    with pytest.raises(DisplayError, match="outputs: display 7: no such display"):
        WindowPresenter(is_windowed=False, outputs=outputs)


def test_fullscreen_outputs_span_their_monitors(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")  # one 1024 x 768 display
    monkeypatch.delenv("SDL_VIDEO_WINDOW_POS", raising=False)
    presenter = WindowPresenter(outputs=OutputsLayout((Screen(0),)))
    try:  # one output: the window covers its monitor, as SDL reports its bounds
        assert presenter.size_px == (1024, 768)
        assert presenter.outputs[0][1] == (0, 0, 1024, 768)
    finally:
        presenter.close()
    # two monitors side by side: SDL's offscreen driver has one, so its bounds query is
    # answered for two (the window, GL and drawing are real)
    monitors = iter([(0, 0, 320, 240), (320, 0, 320, 240)])
    monkeypatch.setattr(window, "read_display_bounds", lambda index: next(monitors))
    outputs = OutputsLayout((Screen(0, "stretch"), Screen(0, "stretch")), Overlap(32, True))
    presenter = WindowPresenter(outputs=outputs)
    try:
        assert presenter.size_px == (640, 240)
        assert "SDL_VIDEO_WINDOW_POS" not in os.environ  # set only while the window is made
        canvas = np.random.default_rng(4).integers(0, 256, (240, 608, 3), dtype=np.uint8)
        presenter.present(Frame(pixels=canvas, index=0, show_time_s=0.0, gen_ms=0.0))
        presenter.draw()
        data = presenter.ctx.screen.read(components=3, alignment=1)
        out = np.frombuffer(data, dtype=np.uint8).reshape(240, 640, 3)[::-1].astype(int)
        (first, _), (second, rect) = presenter.outputs
        assert rect == (320, 0, 320, 240)
        assert np.abs(out[:, :320] - reference_output(canvas, first)).max() <= 1
        assert np.abs(out[:, 320:] - reference_output(canvas, second)).max() <= 1
    finally:
        presenter.close()
