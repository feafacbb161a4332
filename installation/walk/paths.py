"""Latent paths as pure functions of time: lerp/slerp, Catmull-Rom splines, periodic noise loops,
seeds, and which segment of a timeline a time falls in (a seed's z: models/latents.py seed_to_z).

Time is always an argument (seconds of show time or a phase); nothing here reads a clock.
The splines are uniform Catmull-Rom (tangent at keyframe k is (p[k+1] - p[k-1]) / 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from installation.walk import easing

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
    return easing.smoothstep(t)


def ease_in_out_sine(t: float | np.ndarray) -> float | np.ndarray:
    """(1 - cos(πt)) / 2 on t clipped to [0, 1]: 0 -> 0, 1 -> 1, zero slope at both ends."""
    return easing.sine_in_out(t)


def catmull_rom_segment(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, u: float | np.ndarray
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
    w = catmull_rom_segment(p0, p1, p2, p3, u)  # [num_ws, w_dim]
    return w.astype(ws_keyframes.dtype, copy=False)


def catmull_rom_segment_derivative(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, u: float | np.ndarray
) -> np.ndarray:
    """d/du of catmull_rom_segment: (p2-p0)/2 at u=0 and (p3-p1)/2 at u=1."""
    return 0.5 * (
        (p2 - p0)
        + 2.0 * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * u
        + 3.0 * (3.0 * p1 - p0 - 3.0 * p2 + p3) * u * u
    )


def _spline_controls(
    points: np.ndarray, u: float | np.ndarray, is_closed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four control points [*u.shape, ...] of the segment holding each u, and the local u."""
    points = np.asarray(points, dtype=np.float64)  # [K, ...]
    num_points = points.shape[0]
    if num_points == 0:
        raise ValueError("points is empty")
    u = np.asarray(u, dtype=np.float64)  # [...]
    if is_closed:
        u = np.mod(u, num_points)  # [0, K); may round up to K, floor+mod below handles that
        segment = np.floor(u).astype(np.int64)
        local_u = u - segment
        indices = [(segment + offset) % num_points for offset in (-1, 0, 1, 2)]
        controls = [points[index] for index in indices]
    else:
        if num_points == 1:
            extended = np.concatenate([points] * 4)  # [4, ...]: a constant path
        else:
            before = 2.0 * points[0] - points[1]  # reflected end: tangent at p0 is p1 - p0
            after = 2.0 * points[-1] - points[-2]
            extended = np.concatenate([before[None], points, after[None]])  # [K + 2, ...]
        last_segment = max(num_points - 2, 0)
        u = np.clip(u, 0.0, float(max(num_points - 1, 0)))
        segment = np.minimum(np.floor(u).astype(np.int64), last_segment)
        local_u = u - segment
        controls = [extended[segment + offset] for offset in (0, 1, 2, 3)]
    local_u = local_u.reshape(local_u.shape + (1,) * (points.ndim - 1))  # broadcast over [...]
    return (*controls, local_u)


def catmull_rom(points: np.ndarray, u: float | np.ndarray, closed: bool) -> np.ndarray:
    """Uniform Catmull-Rom spline through points at parameter u (keyframe k is reached at u = k).

    Open paths take u in [0, K-1] (clamped) and extrapolate the end tangents by reflection
    (tangent at the first keyframe is p[1] - p[0], at the last p[K-1] - p[K-2]). Closed paths
    take any u, periodic with period K, and are C1 across the wrap from p[K-1] back to p[0].

    Args:
        points: [K, ...] keyframes, K >= 1.
        u: scalar or [...] array of spline parameters.
        closed: whether the path loops from the last keyframe back to the first.
    Returns:
        [*u.shape, ...] float64 array.
    """
    p0, p1, p2, p3, local_u = _spline_controls(points, u, closed)
    return catmull_rom_segment(p0, p1, p2, p3, local_u)


def catmull_rom_derivative(points: np.ndarray, u: float | np.ndarray, closed: bool) -> np.ndarray:
    """d/du of catmull_rom at u (one-sided at the clamped ends of an open path)."""
    p0, p1, p2, p3, local_u = _spline_controls(points, u, closed)
    return catmull_rom_segment_derivative(p0, p1, p2, p3, local_u)


# Amplitude of harmonic k (k = 2, 3, ...) relative to the radius: falls as 1/k so the loop
# stays dominated by the circle and its derivative stays bounded (chosen by eye, not a spec).
NOISE_LOOP_HARMONIC_GAIN = 0.5


def noise_loop(
    seed: int, dim: int, phase: float | np.ndarray, radius: float, harmonics: int = 3
) -> np.ndarray:
    """A smooth periodic random path in R^dim around the origin: phase 0 and 1 give the same point.

    The base is a circle of the given radius in a random plane (two orthonormal random
    directions); harmonics 2 .. harmonics+1 add random directions and offsets with amplitude
    radius * NOISE_LOOP_HARMONIC_GAIN / k. Integer frequencies make value and all derivatives
    continuous across the wrap. The same (seed, dim, harmonics) always gives the same path.

    Args:
        seed: seed of np.random.default_rng.
        dim: dimension of the space, >= 2.
        phase: scalar or [...] array; the path repeats with period 1.
        radius: radius of the base circle.
        harmonics: number of extra harmonics, >= 0.
    Returns:
        [*phase.shape, dim] float64 array.
    """
    if dim < 2:
        raise ValueError(f"noise_loop needs dim >= 2 for its circle's plane, got {dim}")
    if harmonics < 0:
        raise ValueError(f"harmonics must be >= 0, got {harmonics}")
    rng = np.random.default_rng(seed)
    plane, _ = np.linalg.qr(rng.standard_normal((dim, 2)))  # [dim, 2] orthonormal columns
    directions = rng.standard_normal((harmonics, 2, dim))  # [H, 2, dim]
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    offsets_rad = rng.uniform(0.0, 2.0 * np.pi, size=harmonics)  # [H]
    angle = 2.0 * np.pi * np.asarray(phase, dtype=np.float64)[..., None]  # [..., 1]
    point = radius * (np.cos(angle) * plane[:, 0] + np.sin(angle) * plane[:, 1])  # [..., dim]
    for index in range(harmonics):
        frequency = index + 2
        amplitude = radius * NOISE_LOOP_HARMONIC_GAIN / frequency
        harmonic_angle = frequency * angle + offsets_rad[index]  # [..., 1]
        point = point + amplitude * (
            np.cos(harmonic_angle) * directions[index, 0]
            + np.sin(harmonic_angle) * directions[index, 1]
        )
    return point


def random_walk_seeds(seed: int, count: int, low: int = 0, high: int = 2**31 - 1) -> list[int]:
    """count seeds drawn uniformly from [low, high) by np.random.default_rng(seed)."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if low >= high:
        raise ValueError(f"need low < high, got low={low} high={high}")
    rng = np.random.default_rng(seed)
    return [int(value) for value in rng.integers(low, high, size=count)]


def segment_at(durations_s: Sequence[float], t_s: float, loop: bool) -> tuple[int, float]:
    """Which segment show time t_s falls in, and the phase in [0, 1] within it.

    Segment i covers [start_i, start_i + durations_s[i]); a time on a border belongs to the
    segment that starts there, and zero-length segments are skipped (they take no time).
    With loop the time wraps modulo the total duration (negative times too); without it, times
    before 0 give (0, 0.0) and times at or after the end give (last index, 1.0).

    Args:
        durations_s: [N] non-negative segment durations in seconds, N >= 1.
        t_s: show time in seconds.
        loop: whether the timeline repeats.
    Returns:
        (segment index, phase).
    """
    durations = np.asarray(durations_s, dtype=np.float64)  # [N]
    if durations.ndim != 1 or durations.size == 0:
        raise ValueError(f"durations_s must be a non-empty sequence, got {durations_s!r}")
    if np.any(durations < 0) or not np.all(np.isfinite(durations)):
        raise ValueError(f"durations_s must be finite and >= 0, got {list(durations_s)}")
    ends_s = np.cumsum(durations)  # [N]
    total_s = float(ends_s[-1])
    last_index = durations.size - 1
    if total_s <= 0.0:
        return last_index, 1.0
    if loop:
        t_s = float(np.mod(t_s, total_s))
        if t_s >= total_s:  # np.mod can round a tiny negative time up to total_s
            t_s = 0.0
    elif t_s < 0.0:
        t_s = 0.0
    elif t_s >= total_s:
        return last_index, 1.0
    index = int(np.searchsorted(ends_s, t_s, side="right"))  # first segment ending after t_s
    start_s = float(ends_s[index - 1]) if index > 0 else 0.0
    phase = (t_s - start_s) / float(durations[index])
    return index, float(min(max(phase, 0.0), 1.0))
