"""walk/paths.py: lerp, Catmull-Rom splines, noise loops, seeds, and segment_at."""

import numpy as np
import pytest

from installation.walk.paths import (
    catmull_rom,
    catmull_rom_derivative,
    lerp,
    noise_loop,
    random_walk_seeds,
    seed_loop_w,
    segment_at,
    slerp,
)

STEP = 1e-6  # finite-difference step in u or phase


def keyframes(num_keyframes: int = 5, shape: tuple[int, ...] = (3, 4)) -> np.ndarray:
    """[K, *shape] float64 random keyframes."""
    return np.random.default_rng(11).normal(size=(num_keyframes, *shape))


def one_sided_derivatives(path, x: float) -> tuple[np.ndarray, np.ndarray]:
    """Left and right finite differences of path at x."""
    left = (path(x) - path(x - STEP)) / STEP
    right = (path(x + STEP) - path(x)) / STEP
    return left, right


# --- lerp / slerp -----------------------------------------------------------------------------


def test_lerp_hits_endpoints_and_midpoint():
    a, b = np.array([1.0, -2.0]), np.array([3.0, 4.0])
    np.testing.assert_array_equal(lerp(a, b, 0.0), a)
    np.testing.assert_array_equal(lerp(a, b, 1.0), b)
    np.testing.assert_allclose(lerp(a, b, 0.5), [2.0, 1.0])


def test_slerp_of_unit_vectors_stays_on_the_unit_sphere():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 32))
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    np.testing.assert_allclose(slerp(a, b, 0.0), a, atol=1e-12)
    np.testing.assert_allclose(slerp(a, b, 1.0), b, atol=1e-12)
    t = np.linspace(0.0, 1.0, 101)  # [101] -> results [101, 32]
    np.testing.assert_allclose(np.linalg.norm(slerp(a, b, t), axis=-1), 1.0, rtol=1e-12)


# --- Catmull-Rom ------------------------------------------------------------------------------


@pytest.mark.parametrize("closed", [False, True])
def test_catmull_rom_passes_through_every_keyframe(closed):
    points = keyframes()
    for k in range(points.shape[0]):
        np.testing.assert_allclose(catmull_rom(points, float(k), closed), points[k], atol=1e-12)
    u = np.arange(points.shape[0], dtype=np.float64)  # vectorised: [K] -> [K, 3, 4]
    np.testing.assert_allclose(catmull_rom(points, u, closed), points, atol=1e-12)


@pytest.mark.parametrize("closed", [False, True])
def test_catmull_rom_is_c1_at_interior_keyframes(closed):
    points = keyframes()
    for k in range(1, points.shape[0] - 1):
        left, right = one_sided_derivatives(lambda u: catmull_rom(points, u, closed), float(k))
        np.testing.assert_allclose(left, right, atol=1e-4)
        tangent = 0.5 * (points[k + 1] - points[k - 1])
        np.testing.assert_allclose(catmull_rom_derivative(points, float(k), closed), tangent)


def test_closed_catmull_rom_wraps_with_continuous_value_and_velocity():
    points = keyframes()
    num_points = points.shape[0]
    np.testing.assert_allclose(catmull_rom(points, float(num_points), True), points[0], atol=1e-12)
    left, right = one_sided_derivatives(lambda u: catmull_rom(points, u, True), float(num_points))
    np.testing.assert_allclose(left, right, atol=1e-4)
    np.testing.assert_allclose(right, 0.5 * (points[1] - points[-1]), atol=1e-4)
    np.testing.assert_allclose(
        catmull_rom(points, -0.3, True), catmull_rom(points, num_points - 0.3, True), atol=1e-12
    )


def test_closed_catmull_rom_matches_seed_loop_w():
    points = keyframes()
    for t_s in [0.0, 1.3, 7.9, 12.4]:
        np.testing.assert_allclose(
            catmull_rom(points, t_s / 2.5, True), seed_loop_w(points, t_s, 2.5), atol=1e-12
        )


def test_open_catmull_rom_reflects_end_tangents_and_clamps():
    points = keyframes()
    last = points.shape[0] - 1
    np.testing.assert_allclose(catmull_rom_derivative(points, 0.0, False), points[1] - points[0])
    np.testing.assert_allclose(
        catmull_rom_derivative(points, float(last), False), points[last] - points[last - 1]
    )
    np.testing.assert_allclose(catmull_rom(points, -2.0, False), points[0], atol=1e-12)
    np.testing.assert_allclose(catmull_rom(points, last + 3.0, False), points[last], atol=1e-12)


def test_open_catmull_rom_of_two_points_is_the_straight_line():
    points = np.array([[0.0, 0.0], [2.0, 4.0]])
    u = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(catmull_rom(points, u, False), u[:, None] * points[1], atol=1e-12)


def test_catmull_rom_derivative_matches_finite_differences():
    points = keyframes()
    for closed in (False, True):
        for u in [0.3, 1.7, 3.2]:
            numerical = catmull_rom(points, u + STEP, closed) - catmull_rom(
                points, u - STEP, closed
            )
            numerical /= 2 * STEP
            np.testing.assert_allclose(
                catmull_rom_derivative(points, u, closed), numerical, atol=1e-6
            )


def test_catmull_rom_of_one_keyframe_is_constant():
    points = keyframes(1)
    for closed in (False, True):
        np.testing.assert_allclose(catmull_rom(points, 0.7, closed), points[0])


def test_catmull_rom_rejects_no_keyframes():
    with pytest.raises(ValueError, match="empty"):
        catmull_rom(np.zeros((0, 3)), 0.0, closed=True)


# --- noise_loop -------------------------------------------------------------------------------


def test_noise_loop_is_periodic_in_value_and_derivative():
    def path(phase):
        return noise_loop(seed=5, dim=16, phase=phase, radius=2.0)

    np.testing.assert_allclose(path(0.0), path(1.0), atol=1e-12)
    np.testing.assert_allclose(path(0.25), path(3.25), atol=1e-10)
    left, right = one_sided_derivatives(path, 1.0)  # crosses the wrap from 1 - step to 1 + step
    np.testing.assert_allclose(left, right, atol=1e-3 * np.abs(right).max())
    before_wrap = (path(1.0) - path(1.0 - STEP)) / STEP
    after_wrap = (path(STEP) - path(0.0)) / STEP
    np.testing.assert_allclose(before_wrap, after_wrap, atol=1e-3 * np.abs(after_wrap).max())


def test_noise_loop_is_deterministic_per_seed_and_differs_between_seeds():
    phase = np.linspace(0.0, 1.0, 17)
    first = noise_loop(1, 8, phase, 1.0)
    assert first.shape == (17, 8)
    np.testing.assert_array_equal(first, noise_loop(1, 8, phase, 1.0))
    assert not np.allclose(first, noise_loop(2, 8, phase, 1.0))


def test_noise_loop_without_harmonics_is_a_circle_of_the_radius():
    phase = np.linspace(0.0, 1.0, 33)
    points = noise_loop(4, 10, phase, radius=3.0, harmonics=0)  # [33, 10]
    np.testing.assert_allclose(np.linalg.norm(points, axis=-1), 3.0, rtol=1e-12)
    np.testing.assert_allclose(points[16], -points[0], atol=1e-12)  # phase 0.5 is antipodal
    assert np.linalg.matrix_rank(points, tol=1e-9) == 2  # all in one plane


def test_noise_loop_rejects_one_dimension():
    with pytest.raises(ValueError, match="dim >= 2"):
        noise_loop(0, 1, 0.5, 1.0)


# --- seeds ------------------------------------------------------------------------------------


def test_random_walk_seeds_are_reproducible_and_in_range():
    seeds = random_walk_seeds(9, 50, low=10, high=20)
    assert seeds == random_walk_seeds(9, 50, low=10, high=20)
    assert all(isinstance(seed, int) and 10 <= seed < 20 for seed in seeds)
    assert random_walk_seeds(9, 20) != random_walk_seeds(10, 20)
    assert random_walk_seeds(9, 0) == []


# --- segment_at -------------------------------------------------------------------------------

DURATIONS_S = [2.0, 1.0, 4.0]  # borders at 0, 2, 3, 7


@pytest.mark.parametrize(
    ("t_s", "expected"),
    [
        (0.0, (0, 0.0)),
        (1.0, (0, 0.5)),
        (2.0, (1, 0.0)),
        (2.5, (1, 0.5)),
        (3.0, (2, 0.0)),
        (6.0, (2, 0.75)),
    ],
)
def test_segment_at_borders_and_inside(t_s, expected):
    for loop in (False, True):
        index, phase = segment_at(DURATIONS_S, t_s, loop)
        assert index == expected[0]
        assert phase == pytest.approx(expected[1])


def test_segment_at_wraps_when_looping():
    assert segment_at(DURATIONS_S, 7.0, loop=True) == (0, 0.0)
    index, phase = segment_at(DURATIONS_S, 7.0 + 2.5, loop=True)
    assert index == 1 and phase == pytest.approx(0.5)
    index, phase = segment_at(DURATIONS_S, -1.0, loop=True)
    assert index == 2 and phase == pytest.approx(0.75)
    assert segment_at(DURATIONS_S, -1e-18, loop=True) == (0, 0.0)


def test_segment_at_clamps_when_not_looping():
    assert segment_at(DURATIONS_S, 7.0, loop=False) == (2, 1.0)
    assert segment_at(DURATIONS_S, 100.0, loop=False) == (2, 1.0)
    assert segment_at(DURATIONS_S, -3.0, loop=False) == (0, 0.0)


def test_segment_at_skips_zero_length_holds():
    durations_s = [1.0, 0.0, 0.0, 2.0, 0.0]
    assert segment_at(durations_s, 1.0, loop=False) == (3, 0.0)
    index, phase = segment_at(durations_s, 2.0, loop=False)
    assert index == 3 and phase == pytest.approx(0.5)
    assert segment_at(durations_s, 3.0, loop=False) == (4, 1.0)
    assert segment_at(durations_s, 3.0, loop=True) == (0, 0.0)
    assert segment_at([0.0, 0.0], 5.0, loop=True) == (1, 1.0)


def test_segment_at_rejects_bad_durations():
    with pytest.raises(ValueError, match="non-empty"):
        segment_at([], 0.0, loop=False)
    with pytest.raises(ValueError, match=">= 0"):
        segment_at([1.0, -1.0], 0.0, loop=False)
