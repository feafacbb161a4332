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
