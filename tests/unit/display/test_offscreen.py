"""display/offscreen.py with a real EGL context: exact pixels, flipping, letterboxing."""

import numpy as np
import pytest

from installation.display.offscreen import OffscreenPresenter
from installation.display.presenter import fit_viewport
from installation.render.frame import Frame


def frame_of(pixels: np.ndarray, index: int = 0) -> Frame:
    """A Frame around `pixels`."""
    return Frame(pixels=pixels, index=index, show_time_s=0.0, gen_ms=0.0)


@pytest.fixture
def presenter_factory():
    """Creates OffscreenPresenters and closes them after the test."""
    made: list[OffscreenPresenter] = []

    def make(size_px=None) -> OffscreenPresenter:
        made.append(OffscreenPresenter(size_px))
        return made[-1]

    yield make
    for presenter in made:
        presenter.close()


def test_odd_sized_frame_reads_back_exactly(presenter_factory):
    presenter = presenter_factory()
    pixels = np.random.default_rng(0).integers(0, 256, size=(131, 257, 3), dtype=np.uint8)
    presenter.present(frame_of(pixels))
    out = presenter.read_back()
    assert out.shape == (131, 257, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels)  # also proves the shader flip: row 0 is the top


def test_new_frame_replaces_the_old_and_size_follows_the_frame(presenter_factory):
    presenter = presenter_factory()
    rng = np.random.default_rng(1)
    presenter.present(frame_of(rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8), 0))
    second = rng.integers(0, 256, size=(33, 17, 3), dtype=np.uint8)
    presenter.present(frame_of(second, 1))
    np.testing.assert_array_equal(presenter.read_back(), second)


def test_wide_target_letterboxes_left_and_right(presenter_factory):
    presenter = presenter_factory((200, 100))
    presenter.present(frame_of(np.full((50, 50, 3), 200, dtype=np.uint8)))
    out = presenter.read_back()
    assert out.shape == (100, 200, 3)
    assert out[:, :50].max() == 0 and out[:, 150:].max() == 0  # black bars
    assert out[:, 50:150].min() == 200 and out[:, 50:150].max() == 200  # square image, scaled


def test_tall_target_letterboxes_top_and_bottom_and_keeps_orientation(presenter_factory):
    presenter = presenter_factory((64, 128))
    pixels = np.zeros((32, 64, 3), dtype=np.uint8)
    pixels[:16] = (255, 0, 0)  # top half red
    pixels[16:] = (0, 0, 255)  # bottom half blue
    presenter.present(frame_of(pixels))
    out = presenter.read_back()
    assert out.shape == (128, 64, 3)
    assert out[:48].max() == 0 and out[80:].max() == 0  # bars above and below
    np.testing.assert_array_equal(out[48:80], pixels)  # 1:1 in the middle, red on top


def test_read_back_before_present_is_an_error(presenter_factory):
    with pytest.raises(RuntimeError, match="before any present"):
        presenter_factory().read_back()


@pytest.mark.parametrize(
    ("image", "target", "expected"),
    [
        ((256, 256), (1280, 720), (280, 0, 720, 720)),
        ((1920, 1080), (1280, 720), (0, 0, 1280, 720)),
        ((100, 50), (100, 100), (0, 25, 100, 50)),
        ((257, 131), (257, 131), (0, 0, 257, 131)),
    ],
)
def test_fit_viewport_keeps_aspect_and_centres(image, target, expected):
    assert fit_viewport(image, target) == expected


def planes_of(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    """Random [C, H, W] planes in about [-1.2, 1.2], so some values clip at both ends."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.2, 1.2, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("channels", [3, 1])
def test_planes_match_rgb8_within_one_level(presenter_factory, dtype, channels):
    presenter = presenter_factory()
    frame = frame_of(planes_of((channels, 131, 257), dtype))
    presenter.present(frame)
    out = presenter.read_back()
    assert out.shape == (131, 257, 3)
    difference = np.abs(out.astype(np.int16) - frame.rgb8().astype(np.int16))
    assert difference.max() <= 1
    assert (difference == 0).mean() > 0.99  # off by one only where float rounding differs


def test_planes_at_level_boundaries_truncate_like_rgb8(presenter_factory):
    levels = np.arange(256, dtype=np.float32)
    planes = ((levels + 0.5 - 128.0) / 127.5).reshape(1, 1, 256)  # mid-level: no rounding doubt
    planes = np.concatenate([planes, -planes, planes * 0 + 2.0])  # R ramp, G falling, B clipped
    presenter = presenter_factory()
    frame = frame_of(np.ascontiguousarray(planes))
    presenter.present(frame)
    np.testing.assert_array_equal(presenter.read_back(), frame.rgb8())


def test_scaled_planes_do_not_bleed_between_channels(presenter_factory):
    planes = np.zeros((3, 8, 8), dtype=np.float32)
    planes[0] = 1.0  # red only: green and blue planes sit next to it in memory
    planes[1:] = -1.0
    presenter = presenter_factory((64, 64))  # 8x scale: LINEAR filtering
    presenter.present(frame_of(planes))
    out = presenter.read_back()
    assert (out[..., 0] == 255).all() and (out[..., 1:] == 0).all()


def test_layout_changes_between_frames(presenter_factory):
    presenter = presenter_factory()
    packed = np.random.default_rng(2).integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    planar = frame_of(planes_of((3, 20, 30), np.float16), 1)
    presenter.present(frame_of(packed, 0))
    presenter.present(planar)
    assert np.abs(presenter.read_back().astype(int) - planar.rgb8()).max() <= 1
    presenter.present(frame_of(packed, 2))
    np.testing.assert_array_equal(presenter.read_back(), packed)


def test_same_index_in_a_new_epoch_is_uploaded(presenter_factory):
    presenter = presenter_factory()
    first = np.full((4, 4, 3), 10, dtype=np.uint8)
    second = np.full((4, 4, 3), 20, dtype=np.uint8)
    presenter.present(Frame(pixels=first, index=5, show_time_s=0.0, gen_ms=0.0, epoch=0))
    presenter.present(Frame(pixels=second, index=5, show_time_s=0.0, gen_ms=0.0, epoch=1))
    np.testing.assert_array_equal(presenter.read_back(), second)


def test_offscreen_has_no_refresh_rate(presenter_factory):
    assert presenter_factory().refresh_hz is None


def test_unknown_fit_is_rejected():
    with pytest.raises(ValueError, match="'zoom' is not one of letterbox, fill, stretch"):
        OffscreenPresenter(fit="zoom")
