"""walk/easing.py: endpoints, monotonicity, symmetry, and the name registry."""

from typing import get_args

import numpy as np
import pytest

from installation.walk.easing import EASINGS, Easing, ease

IN_OUT_NAMES = [name for name in EASINGS if name.endswith("_in_out")] + [
    "linear",
    "smoothstep",
    "smootherstep",
]
FINE_GRID = np.linspace(0.0, 1.0, 10_001)  # [10001]


def test_registry_and_literal_list_the_same_names():
    assert set(EASINGS) == set(get_args(Easing))
    assert len(EASINGS) == 14


@pytest.mark.parametrize("name", list(EASINGS))
def test_easing_hits_exactly_zero_and_one_at_the_ends(name):
    assert ease(name, 0.0) == 0.0
    assert ease(name, 1.0) == 1.0
    ends = ease(name, np.array([0.0, 1.0]))
    assert ends[0] == 0.0 and ends[1] == 1.0


@pytest.mark.parametrize("name", list(EASINGS))
def test_easing_never_decreases_and_stays_in_unit_interval(name):
    values = ease(name, FINE_GRID)
    assert values.shape == FINE_GRID.shape
    assert np.all(np.diff(values) >= 0.0)
    assert np.all((values >= 0.0) & (values <= 1.0))


@pytest.mark.parametrize("name", IN_OUT_NAMES)
def test_in_out_easing_is_point_symmetric(name):
    np.testing.assert_allclose(ease(name, 1.0 - FINE_GRID), 1.0 - ease(name, FINE_GRID), atol=1e-12)


@pytest.mark.parametrize("name", list(EASINGS))
def test_easing_is_continuous(name):
    jumps = np.abs(np.diff(ease(name, FINE_GRID)))
    assert jumps.max() < 0.02  # circ_in_out has a vertical slope at 0.5: largest step there


@pytest.mark.parametrize("name", list(EASINGS))
def test_ease_clamps_phase_outside_unit_interval(name):
    assert ease(name, -0.5) == 0.0
    assert ease(name, 1.5) == 1.0
    assert ease(name, np.array([-1.0, 2.0])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name", list(EASINGS))
def test_float_in_gives_float_out_and_array_matches_scalars(name):
    assert isinstance(ease(name, 0.3), float)
    phases = np.array([0.1, 0.3, 0.7])
    np.testing.assert_allclose(ease(name, phases), [ease(name, p) for p in phases.tolist()])


def test_known_values():
    assert ease("linear", 0.25) == 0.25
    assert ease("quad_in_out", 0.25) == pytest.approx(0.125)
    assert ease("cubic_in", 0.5) == pytest.approx(0.125)
    assert ease("cubic_out", 0.5) == pytest.approx(0.875)
    assert ease("sine_out", 0.5) == pytest.approx(np.sin(np.pi / 4))
    assert ease("smoothstep", 0.25) == pytest.approx(0.15625)
    assert ease("smootherstep", 0.25) == pytest.approx(0.103515625)


def test_unknown_easing_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown easing 'bounce'") as error:
        ease("bounce", 0.5)
    for name in EASINGS:
        assert name in str(error.value)
