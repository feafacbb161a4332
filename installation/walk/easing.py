"""Easing curves: pure functions of a phase t in [0, 1] -> [0, 1], for floats and numpy arrays.

Every curve clamps t to [0, 1], maps 0 to exactly 0 and 1 to exactly 1, and never decreases.
The `*_in_out` curves are point-symmetric about (0.5, 0.5): f(1 - t) = 1 - f(t).
Formulas follow the usual easings.net family; `expo_in_out` is rescaled so that it is continuous
and hits the ends exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from installation.show.schema import Easing

# The names are the show format's (one list, in show/schema.py); EASINGS below implements each.

# 2^-10: where the classic expo curve starts (easings.net); subtracted so that f(0) is exactly 0.
_EXPO_FLOOR = 2.0**-10


def _phase(t: float | np.ndarray) -> np.ndarray:
    """t as a float64 array clamped to [0, 1]."""
    return np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)


def _result(y: np.ndarray) -> float | np.ndarray:
    """A 0-d result as a Python float, anything else unchanged."""
    return float(y) if np.ndim(y) == 0 else y


def _power_in_out(t: float | np.ndarray, power: int) -> float | np.ndarray:
    """2^(p-1) t^p on the first half, mirrored about (0.5, 0.5) on the second."""
    t = _phase(t)
    first_half = 2.0 ** (power - 1) * t**power
    second_half = 1.0 - 0.5 * (2.0 - 2.0 * t) ** power
    return _result(np.where(t < 0.5, first_half, second_half))


def linear(t: float | np.ndarray) -> float | np.ndarray:
    """t itself (clamped)."""
    return _result(_phase(t))


def sine_in_out(t: float | np.ndarray) -> float | np.ndarray:
    """(1 - cos(πt)) / 2: zero slope at both ends."""
    t = _phase(t)
    return _result(0.5 - 0.5 * np.cos(np.pi * t))


def sine_in(t: float | np.ndarray) -> float | np.ndarray:
    """1 - cos(πt/2), written as 1 - sin(π(1-t)/2) so that f(1) is exactly 1."""
    t = _phase(t)
    return _result(1.0 - np.sin(0.5 * np.pi * (1.0 - t)))


def sine_out(t: float | np.ndarray) -> float | np.ndarray:
    """sin(πt/2): starts at full speed, zero slope at t = 1."""
    t = _phase(t)
    return _result(np.sin(0.5 * np.pi * t))


def quad_in_out(t: float | np.ndarray) -> float | np.ndarray:
    """Quadratic in-out: 2t² then mirrored."""
    return _power_in_out(t, 2)


def cubic_in_out(t: float | np.ndarray) -> float | np.ndarray:
    """Cubic in-out: 4t³ then mirrored."""
    return _power_in_out(t, 3)


def cubic_in(t: float | np.ndarray) -> float | np.ndarray:
    """t³."""
    t = _phase(t)
    return _result(t**3)


def cubic_out(t: float | np.ndarray) -> float | np.ndarray:
    """1 - (1 - t)³."""
    t = _phase(t)
    return _result(1.0 - (1.0 - t) ** 3)


def quart_in_out(t: float | np.ndarray) -> float | np.ndarray:
    """Quartic in-out: 8t⁴ then mirrored."""
    return _power_in_out(t, 4)


def quint_in_out(t: float | np.ndarray) -> float | np.ndarray:
    """Quintic in-out: 16t⁵ then mirrored."""
    return _power_in_out(t, 5)


def expo_in_out(t: float | np.ndarray) -> float | np.ndarray:
    """Exponential in-out (2^(20t-10) / 2 rescaled to start at exactly 0), then mirrored."""
    t = _phase(t)
    half = np.minimum(t, 1.0 - t)  # [0, 0.5]; the curve is built on the first half
    rising = 0.5 * (2.0 ** (20.0 * half - 10.0) - _EXPO_FLOOR) / (1.0 - _EXPO_FLOOR)
    return _result(np.where(t < 0.5, rising, 1.0 - rising))


def circ_in_out(t: float | np.ndarray) -> float | np.ndarray:
    """Circular in-out: (1 - sqrt(1 - (2t)²)) / 2 then mirrored (vertical slope at t = 0.5)."""
    t = _phase(t)
    half = np.minimum(t, 1.0 - t)  # [0, 0.5]
    rising = 0.5 * (1.0 - np.sqrt(np.maximum(1.0 - (2.0 * half) ** 2, 0.0)))
    return _result(np.where(t < 0.5, rising, 1.0 - rising))


def smoothstep(t: float | np.ndarray) -> float | np.ndarray:
    """3t² - 2t³: zero slope at both ends."""
    t = _phase(t)
    return _result(t * t * (3.0 - 2.0 * t))


def smootherstep(t: float | np.ndarray) -> float | np.ndarray:
    """6t⁵ - 15t⁴ + 10t³ (Perlin): zero slope and curvature at both ends."""
    t = _phase(t)
    return _result(t * t * t * (t * (6.0 * t - 15.0) + 10.0))


EASINGS: dict[str, Callable[[float | np.ndarray], float | np.ndarray]] = {
    "linear": linear,
    "sine_in_out": sine_in_out,
    "sine_in": sine_in,
    "sine_out": sine_out,
    "quad_in_out": quad_in_out,
    "cubic_in_out": cubic_in_out,
    "cubic_in": cubic_in,
    "cubic_out": cubic_out,
    "quart_in_out": quart_in_out,
    "quint_in_out": quint_in_out,
    "expo_in_out": expo_in_out,
    "circ_in_out": circ_in_out,
    "smoothstep": smoothstep,
    "smootherstep": smootherstep,
}


def ease(name: Easing | str, t: float | np.ndarray) -> float | np.ndarray:
    """The easing curve called name at phase t (t clamped to [0, 1])."""
    try:
        curve = EASINGS[name]
    except KeyError:
        valid = ", ".join(EASINGS)
        raise ValueError(f"unknown easing {name!r} (expected one of: {valid})") from None
    return curve(t)
