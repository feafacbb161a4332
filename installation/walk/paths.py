"""Latent paths as pure functions of time: slerp, easing, and the seamless loop through seeds.

Time is always an argument (seconds of show time); nothing here reads a clock.
"""

from __future__ import annotations

import numpy as np

# Below this angle (radians) between the two vectors slerp falls back to lerp: sin(theta) -> 0.
SLERP_LERP_THRESHOLD_RAD = 1e-4


def lerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Linear interpolation a + (b - a) * t."""
    return a + (b - a) * t


def slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation between a and b along the last axis.

    The angle comes from the directions of a and b; the result is the classic
    sin((1-t)θ)/sin θ · a + sin(tθ)/sin θ · b, so two vectors of equal norm give results of that
    same norm for every t. Near-parallel vectors fall back to lerp.

    Args:
        a, b: [..., D] arrays (broadcastable).
        t: scalar or [...] array; 0 gives a, 1 gives b.
    Returns:
        [..., D] float array.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    a_unit = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b_unit = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    cos_theta = np.clip(np.sum(a_unit * b_unit, axis=-1, keepdims=True), -1.0, 1.0)
    theta = np.arccos(cos_theta)
    sin_theta = np.sin(theta)
    is_small = theta < SLERP_LERP_THRESHOLD_RAD
    safe_sin = np.where(is_small, 1.0, sin_theta)
    weight_a = np.where(is_small, 1.0 - t, np.sin((1.0 - t) * theta) / safe_sin)
    weight_b = np.where(is_small, t, np.sin(t * theta) / safe_sin)
    return weight_a * a + weight_b * b


def smoothstep(t: float | np.ndarray) -> float | np.ndarray:
    """3t² - 2t³ on t clipped to [0, 1]: 0 -> 0, 1 -> 1, zero slope at both ends."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def ease_in_out_sine(t: float | np.ndarray) -> float | np.ndarray:
    """(1 - cos(πt)) / 2 on t clipped to [0, 1]: 0 -> 0, 1 -> 1, zero slope at both ends."""
    t = np.clip(t, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def catmull_rom(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, u: float
) -> np.ndarray:
    """Uniform Catmull-Rom segment from p1 (u=0) to p2 (u=1), tangents (p2-p0)/2 and (p3-p1)/2."""
    u2 = u * u
    u3 = u2 * u
    return 0.5 * (
        2.0 * p1
        + (p2 - p0) * u
        + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * u2
        + (3.0 * p1 - p0 - 3.0 * p2 + p3) * u3
    )


def seed_loop_w(ws_keyframes: np.ndarray, t_s: float, seconds_per_seed: float) -> np.ndarray:
    """The w at show time t_s on a closed loop through the keyframes (periodic Catmull-Rom in w).

    Keyframe k is reached exactly at t_s = k * seconds_per_seed; after the last keyframe the
    path wraps to the first with continuous value and velocity (C1), so the loop is seamless
    and repeats every K * seconds_per_seed seconds. Interpolating in w (not z) keeps the
    per-layer ws meaningful; Catmull-Rom may overshoot the keyframes slightly between them.

    Args:
        ws_keyframes: [K, num_ws, w_dim] ws of the seeds, K >= 1.
        t_s: show time in seconds (any real; negative times run the loop backwards).
        seconds_per_seed: seconds from one keyframe to the next, > 0.
    Returns:
        [num_ws, w_dim] array, same dtype as ws_keyframes.
    """
    if seconds_per_seed <= 0:
        raise ValueError(f"seconds_per_seed must be > 0, got {seconds_per_seed}")
    num_keyframes = ws_keyframes.shape[0]
    if num_keyframes == 0:
        raise ValueError("ws_keyframes is empty")
    phase = t_s / seconds_per_seed  # in keyframes
    segment = int(np.floor(phase))
    u = phase - segment  # [0, 1)
    p0, p1, p2, p3 = (ws_keyframes[(segment + offset) % num_keyframes] for offset in (-1, 0, 1, 2))
    w = catmull_rom(p0, p1, p2, p3, u)  # [num_ws, w_dim]
    return w.astype(ws_keyframes.dtype, copy=False)
