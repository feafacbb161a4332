"""walk/paths.py: slerp, easing, and the seamless seed loop (pure functions of t)."""

import numpy as np
import pytest

from installation.walk.paths import ease_in_out_sine, seed_loop_w, slerp, smoothstep

SECONDS_PER_SEED = 2.5


def keyframes(num_keyframes: int = 5, num_ws: int = 3, w_dim: int = 4) -> np.ndarray:
    """[K, num_ws, w_dim] float64 random keyframes."""
    return np.random.default_rng(7).normal(size=(num_keyframes, num_ws, w_dim))


def test_slerp_hits_endpoints():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 16))
    np.testing.assert_allclose(slerp(a, b, 0.0), a, atol=1e-12)
    np.testing.assert_allclose(slerp(a, b, 1.0), b, atol=1e-12)


def test_slerp_keeps_norm_of_equal_norm_vectors():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 64))
    a, b = 3.0 * a / np.linalg.norm(a), 3.0 * b / np.linalg.norm(b)
    t = np.linspace(0.0, 1.0, 11)
    norms = np.linalg.norm(slerp(a, b, t), axis=-1)  # t broadcasts: [11, 64]
    np.testing.assert_allclose(norms, 3.0, rtol=1e-12)


def test_slerp_follows_the_great_circle_at_constant_speed():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(slerp(a, b, 0.5), [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)
    np.testing.assert_allclose(slerp(a, b, 1 / 3), [np.cos(np.pi / 6), np.sin(np.pi / 6)])


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    a = np.array([1.0, 2.0, 3.0])
    result = slerp(a, 2.0 * a, 0.5)
    assert np.all(np.isfinite(result))
    np.testing.assert_allclose(result, 1.5 * a)


def test_slerp_works_per_row_on_batches():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 10, 8))  # e.g. [num_ws, w_dim]
    rows = np.stack([slerp(a[i], b[i], 0.3) for i in range(10)])
    np.testing.assert_allclose(slerp(a, b, 0.3), rows, atol=1e-12)


@pytest.mark.parametrize("ease", [smoothstep, ease_in_out_sine])
def test_easing_endpoints_monotone_and_flat_at_ends(ease):
    t = np.linspace(0.0, 1.0, 1001)
    y = ease(t)
    assert y[0] == pytest.approx(0.0, abs=1e-12) and y[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(y) >= 0)
    assert ease(0.5) == pytest.approx(0.5)
    h = 1e-6
    assert (ease(h) - ease(0.0)) / h == pytest.approx(0.0, abs=1e-4)
    assert (ease(1.0) - ease(1.0 - h)) / h == pytest.approx(0.0, abs=1e-4)
    assert ease(-1.0) == 0.0 and ease(2.0) == 1.0  # clipped


def test_seed_loop_passes_through_each_keyframe_on_time():
    ws = keyframes()
    for k in range(len(ws)):
        np.testing.assert_allclose(seed_loop_w(ws, k * SECONDS_PER_SEED, SECONDS_PER_SEED), ws[k])


def test_seed_loop_wraps_to_first_keyframe_and_repeats():
    ws = keyframes()
    loop_s = len(ws) * SECONDS_PER_SEED
    np.testing.assert_allclose(seed_loop_w(ws, loop_s, SECONDS_PER_SEED), ws[0], atol=1e-12)
    for t_s in (0.3, 1.7, 7.9, 11.0):
        later = seed_loop_w(ws, t_s + 3 * loop_s, SECONDS_PER_SEED)
        np.testing.assert_allclose(later, seed_loop_w(ws, t_s, SECONDS_PER_SEED), atol=1e-9)


@pytest.mark.parametrize("keyframe", [0, 1, 4])  # 0 is the wrap: last keyframe -> first
def test_seed_loop_is_c1_at_keyframes(keyframe):
    ws = keyframes()
    loop_s = len(ws) * SECONDS_PER_SEED
    border_s = keyframe * SECONDS_PER_SEED if keyframe else loop_s
    h = 1e-6

    def w(t_s: float) -> np.ndarray:
        return seed_loop_w(ws, t_s, SECONDS_PER_SEED)

    # value: continuous from both sides
    np.testing.assert_allclose(w(border_s - h), w(border_s + h), atol=1e-4)
    # velocity: one-sided difference quotients agree (they differ by O(h) for a C1 curve)
    left = (w(border_s) - w(border_s - h)) / h
    right = (w(border_s + h) - w(border_s)) / h
    assert np.max(np.abs(left - right)) < 1e-3 * max(1.0, np.max(np.abs(left)))
    # and the velocity is not trivially zero: the walk keeps moving through keyframes
    assert np.max(np.abs(left)) > 1e-3


def test_seed_loop_velocity_jump_would_be_detected():
    """Sanity check of the C1 test itself: a piecewise-linear loop fails it."""
    ws = keyframes()
    h = 1e-6

    def linear(t_s: float) -> np.ndarray:
        phase = t_s / SECONDS_PER_SEED
        k, u = int(np.floor(phase)), phase - np.floor(phase)
        return (1 - u) * ws[k % len(ws)] + u * ws[(k + 1) % len(ws)]

    border_s = SECONDS_PER_SEED
    left = (linear(border_s) - linear(border_s - h)) / h
    right = (linear(border_s + h) - linear(border_s)) / h
    assert np.max(np.abs(left - right)) > 1e-2


def test_seed_loop_single_keyframe_is_constant_and_dtype_is_kept():
    ws = keyframes(num_keyframes=1).astype(np.float32)
    w = seed_loop_w(ws, 12.34, SECONDS_PER_SEED)
    assert w.dtype == np.float32 and w.shape == ws.shape[1:]
    np.testing.assert_allclose(w, ws[0], rtol=1e-6)


def test_seed_loop_rejects_non_positive_seconds():
    with pytest.raises(ValueError, match="seconds_per_seed"):
        seed_loop_w(keyframes(), 1.0, 0.0)
