"""QuadDrawer through OffscreenPresenter (real EGL): crossfades, fit modes, the status overlay."""

import numpy as np
import pytest

from installation.display.offscreen import OffscreenPresenter
from installation.display.presenter import TextureSlot, fill_viewport
from installation.render.frame import Frame


def frame_of(pixels: np.ndarray, index: int = 0) -> Frame:
    """A Frame around `pixels`."""
    return Frame(pixels=pixels, index=index, show_time_s=0.0, gen_ms=0.0)


def random_packed(height: int, width: int, seed: int) -> np.ndarray:
    """Random [H, W, 3] uint8."""
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def random_planes(height: int, width: int, seed: int) -> np.ndarray:
    """Random [3, H, W] float16 planes in [-1, 1]."""
    return np.random.default_rng(seed).uniform(-1, 1, (3, height, width)).astype(np.float16)


@pytest.fixture
def presenter_factory():
    """Creates OffscreenPresenters and closes them after the test."""
    made: list[OffscreenPresenter] = []

    def make(size_px=None, fit="letterbox") -> OffscreenPresenter:
        made.append(OffscreenPresenter(size_px, fit=fit))
        return made[-1]

    yield make
    for presenter in made:
        presenter.close()


# --- blending ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mix", [0.25, 0.5, 0.9, 1.0])
@pytest.mark.parametrize(
    "layouts",
    [("packed", "packed"), ("planes", "packed"), ("packed", "planes"), ("planes", "planes")],
)
def test_mix_of_two_frames_matches_numpy(presenter_factory, mix, layouts):
    def make(layout: str, index: int) -> Frame:
        if layout == "packed":
            return frame_of(random_packed(37, 53, index), index)
        return frame_of(random_planes(37, 53, index), index)

    first, second = make(layouts[0], 1), make(layouts[1], 2)
    presenter = presenter_factory()
    presenter.present(first, blend_with=second, mix=mix)
    expected = (1 - mix) * first.rgb8().astype(np.float64) + mix * second.rgb8()
    difference = np.abs(presenter.read_back() - expected)
    assert difference.max() <= 1.0


def test_mix_zero_is_exactly_the_first_frame(presenter_factory):
    first, second = random_packed(31, 17, 3), random_packed(31, 17, 4)
    presenter = presenter_factory()
    presenter.present(frame_of(first, 0), blend_with=frame_of(second, 1), mix=0.0)
    np.testing.assert_array_equal(presenter.read_back(), first)


def test_crossfade_reuses_slots_and_shows_the_right_frames(presenter_factory, monkeypatch):
    uploaded: list[int] = []  # frame indices, through the real upload
    real_upload = TextureSlot.upload

    def counting_upload(slot, ctx, frame):
        uploaded.append(frame.index)
        real_upload(slot, ctx, frame)

    monkeypatch.setattr(TextureSlot, "upload", counting_upload)
    frames = [frame_of(random_packed(16, 16, seed), seed) for seed in range(3)]
    presenter = presenter_factory()
    presenter.present(frames[0], blend_with=frames[1], mix=0.5)
    presenter.present(frames[1], blend_with=frames[2], mix=0.5)  # frames[1] moves to slot 0
    expected = (frames[1].pixels.astype(np.float64) + frames[2].pixels) / 2
    assert np.abs(presenter.read_back() - expected).max() <= 1.0
    presenter.present(frames[2])  # no blend: slot 1 is ignored
    presenter.present(frames[2])  # the same frame again: nothing to upload
    np.testing.assert_array_equal(presenter.read_back(), frames[2].pixels)
    assert uploaded == [0, 1, 2]


# --- fit modes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "target", "expected"),
    [
        ((256, 256), (1280, 720), (0, -280, 1280, 1280)),
        ((1920, 1080), (1280, 720), (0, 0, 1280, 720)),
        ((100, 50), (100, 100), (-50, 0, 200, 100)),
        ((300, 200), (200, 200), (-50, 0, 300, 200)),
        ((257, 131), (257, 131), (0, 0, 257, 131)),
    ],
)
def test_fill_viewport_covers_the_target_and_centres(image, target, expected):
    assert fill_viewport(image, target) == expected


def test_letterbox_is_the_default_fit(presenter_factory):
    presenter = presenter_factory((200, 100))
    presenter.present(frame_of(np.full((50, 50, 3), 200, dtype=np.uint8)))
    out = presenter.read_back()
    assert out[:, :50].max() == 0 and out[:, 150:].max() == 0
    assert (out[:, 50:150] == 200).all()


def test_fill_crops_the_centre_one_to_one(presenter_factory):
    pixels = random_packed(200, 300, 5)
    presenter = presenter_factory((200, 200), fit="fill")
    presenter.present(frame_of(pixels))
    np.testing.assert_array_equal(presenter.read_back(), pixels[:, 50:250])


def test_fill_scales_up_and_covers_the_target(presenter_factory):
    pixels = np.zeros((32, 64, 3), dtype=np.uint8)
    pixels[:16] = (255, 0, 0)  # top half red
    pixels[16:] = (0, 0, 255)  # bottom half blue
    presenter = presenter_factory((64, 128), fit="fill")  # 4x: 256x128, 96 px cut each side
    presenter.present(frame_of(pixels))
    out = presenter.read_back()
    assert (out[:60] == (255, 0, 0)).all() and (out[68:] == (0, 0, 255)).all()  # no bars


def test_stretch_fills_the_whole_target(presenter_factory):
    pixels = np.zeros((10, 10, 3), dtype=np.uint8)
    pixels[:, :5] = (0, 255, 0)  # left half green
    pixels[:, 5:] = (255, 255, 255)  # right half white
    presenter = presenter_factory((200, 50), fit="stretch")
    presenter.present(frame_of(pixels))
    out = presenter.read_back()
    assert (out[:, :90] == (0, 255, 0)).all() and (out[:, 110:] == 255).all()


def test_fill_and_stretch_apply_to_planes(presenter_factory):
    planes = random_planes(20, 40, 6)
    frame = frame_of(planes)
    filled = presenter_factory((20, 20), fit="fill")
    filled.present(frame)
    assert np.abs(filled.read_back().astype(int) - frame.rgb8()[:, 10:30]).max() <= 1
    stretched = presenter_factory((40, 20), fit="stretch")
    stretched.present(frame)
    assert np.abs(stretched.read_back().astype(int) - frame.rgb8()).max() <= 1


# --- overlay ----------------------------------------------------------------------------------


def changed_region(out: np.ndarray, pixels: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) bounds of the pixels that differ; asserts there are some."""
    rows, cols = np.nonzero((out != pixels).any(axis=2))
    assert rows.size > 0
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def test_overlay_draws_in_the_top_left_and_leaves_the_rest(presenter_factory):
    pixels = random_packed(360, 640, 7)
    presenter = presenter_factory()
    presenter.present(frame_of(pixels))
    presenter.set_overlay(["x" * 20])
    out = presenter.read_back()
    top, left, bottom, right = changed_region(out, pixels)
    assert top < 20 and left < 20  # the box starts near the corner
    assert bottom < 360 // 2 and right < 640 // 2  # and stays in the top-left quarter
    outside = np.ones((360, 640), dtype=bool)
    outside[:bottom, :right] = False
    np.testing.assert_array_equal(out[outside], pixels[outside])
    box = out[top:bottom, left:right].astype(int)
    assert box.mean() < pixels[top:bottom, left:right].mean()  # a dark box behind the text
    assert box.max() == 255  # with white text on it


def test_overlay_follows_presents_and_hides(presenter_factory):
    pixels = random_packed(120, 200, 8)
    presenter = presenter_factory()
    presenter.set_overlay(["fps 29.8 (gen 24.1)", "section intro"])
    presenter.present(frame_of(pixels, 0))
    changed_region(presenter.read_back(), pixels)
    second = random_packed(120, 200, 9)
    presenter.present(frame_of(second, 1))  # the overlay stays on the next frame
    changed_region(presenter.read_back(), second)
    presenter.set_overlay(None)
    np.testing.assert_array_equal(presenter.read_back(), second)
    presenter.set_overlay(["model demo"])
    presenter.set_overlay([])
    presenter.present(frame_of(pixels, 2))
    np.testing.assert_array_equal(presenter.read_back(), pixels)


def test_overlay_rerenders_only_when_lines_change(presenter_factory):
    presenter = presenter_factory()
    presenter.set_overlay(["show 12.34 s"])
    presenter.present(frame_of(random_packed(100, 100, 10)))
    texture = presenter.drawer.overlay.texture
    key = presenter.drawer.overlay.rendered_key
    presenter.set_overlay(["show 12.34 s"])
    presenter.present(frame_of(random_packed(100, 100, 11), 1))
    assert presenter.drawer.overlay.texture is texture
    assert presenter.drawer.overlay.rendered_key is key
    presenter.set_overlay(["show 12.40 s"])
    assert presenter.drawer.overlay.rendered_key != key
