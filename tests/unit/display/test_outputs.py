"""display/outputs.py and several outputs drawn offscreen (real EGL): the split and the blend."""

import numpy as np
import pytest

from installation.display.offscreen import OffscreenPresenter
from installation.display.outputs import (
    OutputsLayout,
    Overlap,
    Screen,
    blend_factor,
    parse_overlap,
    reference_output,
    span,
)
from installation.render.frame import Frame

GAMMA = 2.2
# two 128 x 64 projectors sharing 33 pixels: the canvas is 2 * 128 - 33 = 223 pixels wide, the
# second output starts at canvas column 95, and the seam's middle is a pixel centre (column 16)
OUT_W, OUT_H, OVERLAP_PX = 128, 64, 33
CANVAS_W = 2 * OUT_W - OVERLAP_PX
SECOND_X = OUT_W - OVERLAP_PX


def frame_of(pixels: np.ndarray) -> Frame:
    return Frame(pixels=pixels, index=0, show_time_s=0.0, gen_ms=0.0)


def two_projectors(fits=("stretch", "stretch")) -> OutputsLayout:
    return OutputsLayout(
        (Screen(1, fits[0]), Screen(2, fits[1])), Overlap(OVERLAP_PX, is_px=True), GAMMA
    )


@pytest.fixture
def presenter_factory():
    made: list[OffscreenPresenter] = []

    def make(outputs, size_px=(OUT_W, OUT_H)) -> OffscreenPresenter:
        made.append(OffscreenPresenter(size_px, fit="letterbox", outputs=outputs))
        return made[-1]

    yield make
    for presenter in made:
        presenter.close()


def test_span_regions_and_ramps():
    left, right = span(2, 0.25, GAMMA, ["stretch", "fill"])
    # canvas = 1.75 output widths; each output 1/1.75 of it, the second starting at 0.75/1.75
    assert left.region == pytest.approx((0, 0, 1 / 1.75, 1))
    assert right.region == pytest.approx((0.75 / 1.75, 0, 1, 1))
    assert left.blend == pytest.approx((0, 0, 0.25 / 1.75, 0))  # only the inner edges fade
    assert right.blend == pytest.approx((0.25 / 1.75, 0, 0, 0))
    assert (left.fit, right.fit) == ("stretch", "fill")
    (whole,) = span(1, 0.0, GAMMA, ["letterbox"])
    assert whole.region == (0, 0, 1, 1) and whole.blend == (0, 0, 0, 0)


def test_overlap_in_pixels_or_a_fraction():
    assert parse_overlap("192px") == Overlap(192, is_px=True)
    assert parse_overlap("192px").fraction(1920) == pytest.approx(0.1)
    assert parse_overlap("0.15").fraction(1920) == pytest.approx(0.15)
    assert parse_overlap("5000px").fraction(1920) == 0.5  # capped: at most half an output
    for bad in ("0.6", "-0.1", "nan", "wide", "12 px", ""):
        with pytest.raises(ValueError, match="overlap"):
            parse_overlap(bad)
    with pytest.raises(ValueError, match="gamma"):
        OutputsLayout((Screen(0),), gamma=0.5)
    with pytest.raises(ValueError, match="screens"):
        OutputsLayout(())


def test_ramps_add_up_to_full_light_across_the_seam():
    left, right = span(2, 0.2, GAMMA, ["stretch", "stretch"])
    seam_start, seam_end = right.region[0], left.region[2]
    u = np.linspace(seam_start, seam_end, 101)
    v = np.full_like(u, 0.5)
    a, b = blend_factor(left, u, v), blend_factor(right, u, v)
    np.testing.assert_allclose(a**GAMMA + b**GAMMA, 1.0, atol=1e-12)  # linear light
    assert a[50] == pytest.approx(0.5 ** (1 / GAMMA)) and b[50] == pytest.approx(a[50])
    outside = np.array([0.05, seam_start - 1e-3])
    assert np.all(blend_factor(left, outside, outside) == 1.0)  # untouched away from the seam


def test_each_output_shows_its_part_with_the_ramp(presenter_factory):
    canvas = np.random.default_rng(0).integers(0, 256, size=(OUT_H, CANVAS_W, 3), dtype=np.uint8)
    presenter = presenter_factory(two_projectors())
    presenter.present(frame_of(canvas))
    parts = presenter.parts(canvas.shape[1::-1])
    assert round(parts[1].region[0] * CANVAS_W) == SECOND_X
    first, second = presenter.read_back(0), presenter.read_back(1)
    assert first.shape == second.shape == (OUT_H, OUT_W, 3)
    # away from the seam: the canvas's own pixels, exactly
    np.testing.assert_array_equal(first[:, :SECOND_X], canvas[:, :SECOND_X])
    np.testing.assert_array_equal(second[:, OVERLAP_PX:], canvas[:, OUT_W:])
    # in the seam: the numpy reference, within one step of rounding
    for output, part in enumerate(parts):
        expected = reference_output(canvas, part).astype(int)
        got = presenter.read_back(output).astype(int)
        assert np.abs(got - expected).max() <= 1


def test_seam_middle_and_linear_light_sum_on_white(presenter_factory):
    presenter = presenter_factory(two_projectors())
    presenter.present(frame_of(np.full((OUT_H, CANVAS_W, 3), 255, dtype=np.uint8)))
    first, second = presenter.read_back(0), presenter.read_back(1)
    middle = OVERLAP_PX // 2  # pixel 16 of 33: its centre is the seam's middle
    expected = 255 * 0.5 ** (1 / GAMMA)  # 186.0
    assert abs(int(first[10, SECOND_X + middle, 0]) - expected) <= 1
    assert abs(int(second[10, middle, 1]) - expected) <= 1
    seam_a = first[:, SECOND_X:, :].astype(float) / 255
    seam_b = second[:, :OVERLAP_PX, :].astype(float) / 255
    light = seam_a**GAMMA + seam_b**GAMMA
    assert np.abs(light - 1.0).max() < 0.02  # 8-bit steps only
    ramp = first[0, SECOND_X:, 0].astype(int)
    assert np.all(np.diff(ramp) <= 0) and ramp[0] > 240 and ramp[-1] < 60  # fades out


def test_per_output_fit_and_level(presenter_factory):
    # 128 x 128 outputs for 128 x 64 regions: letterbox bars on one, stretched on the other
    presenter = presenter_factory(two_projectors(("letterbox", "stretch")), size_px=(OUT_W, OUT_W))
    presenter.present(frame_of(np.full((OUT_H, CANVAS_W, 3), 200, dtype=np.uint8)))
    boxed, stretched = presenter.read_back(0), presenter.read_back(1)
    assert boxed[:32].max() == 0 and boxed[-32:].max() == 0 and boxed[40:88, :60].min() == 200
    assert stretched[:, OVERLAP_PX:].min() == 200  # fills the whole output
    presenter.set_level(0.0)
    presenter.present(presenter.drawer.slots[0].frame)
    assert presenter.read_back(0).max() == 0 and presenter.read_back(1).max() == 0


def test_float_planes_frame_spans_too(presenter_factory):
    rng = np.random.default_rng(3)
    planes = rng.uniform(-1, 1, size=(3, OUT_H, CANVAS_W)).astype(np.float32)
    presenter = presenter_factory(two_projectors())
    frame = frame_of(planes)
    presenter.present(frame)
    canvas = frame.rgb8()
    np.testing.assert_array_equal(presenter.read_back(1)[:, OVERLAP_PX:], canvas[:, OUT_W:])
