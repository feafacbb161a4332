"""Sensor readings -> live parameter values, as the show's `sensors` block says.

Pure: time is an argument (the wall time of each reading), there is no I/O. For each reading of
`/sensor/<name> v0 v1 ...` the bank of that name:

1. picks the value `index`;
2. clamps it into the input range;
3. ignores a change smaller than `dead_band` (input units) from the last value it used;
4. smooths it (exponential or one-euro, in input units, with the real time since the last
   reading, so uneven message timing is handled);
5. maps its position in the input range through the curve onto the output range.

The result is the target's value and how long it holds (`timeout_s`); the caller hands both to
the live values (walk/live.py), which glide it in and give it back to the schedule. A sensor
that was silent for longer than its timeout starts afresh (no filter memory, no dead-band
reference), since the schedule has taken over in the meantime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from installation.show.schema import Sensor, SensorCurve, Smoothing
from installation.walk.live import MIN_HOLD_S

# Two readings with the same (or an earlier) time stamp, e.g. from one OSC bundle, are treated
# as this far apart: a filter needs a positive step, and 1 ms is below any sensor's period.
MIN_STEP_S = 1e-3
LOG_BASE = 10.0  # the log/exp curves: log10(1 + 9 u) and its inverse (10^u - 1) / 9


class SensorReadingError(ValueError):
    """A reading a known sensor cannot use (too few values, not a finite number)."""


@dataclass(frozen=True)
class SensorOutput:
    """What one reading asks for: set live parameter `target` to `value`, holding `hold_s`."""

    target: str
    value: float
    hold_s: float


def shape(curve: SensorCurve, u: float) -> float:
    """A curve on [0, 1] -> [0, 1], rising, with shape(0) = 0 and shape(1) = 1.

    Args:
        curve: linear; ease_in u^2; ease_out 1 - (1 - u)^2; smooth 3u^2 - 2u^3 (smoothstep);
            log log10(1 + 9u) (fast start); exp (10^u - 1) / 9 (slow start, log's inverse).
        u: position in the input range, 0..1.
    """
    if curve == "linear":
        return u
    if curve == "ease_in":
        return u * u
    if curve == "ease_out":
        return 1.0 - (1.0 - u) ** 2
    if curve == "smooth":
        return u * u * (3.0 - 2.0 * u)
    if curve == "log":
        return math.log1p((LOG_BASE - 1.0) * u) / math.log(LOG_BASE)
    if curve == "exp":
        return math.expm1(u * math.log(LOG_BASE)) / (LOG_BASE - 1.0)
    raise ValueError(f"unknown sensor curve {curve!r}")


def _alpha(cutoff_hz: float, step_s: float) -> float:
    """Smoothing factor of a first-order low-pass at `cutoff_hz` for one step (Casiez eq. 2)."""
    tau_s = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau_s / step_s)


class OneEuroFilter:
    """The 1-euro filter (Casiez, Roussel, Vogel, CHI 2012): a low-pass whose cutoff rises with
    the signal's speed, so it removes jitter at rest and lags little when the signal moves.

    cutoff = min_cutoff_hz + beta * |dx/dt|, where dx/dt is itself low-passed at d_cutoff_hz.
    The speed comes from consecutive raw values, as in the authors' reference code.
    """

    def __init__(self, min_cutoff_hz: float, beta: float, d_cutoff_hz: float) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.x_prev: float | None = None
        self.x_hat = 0.0
        self.dx_hat = 0.0

    def step(self, x: float, step_s: float) -> float:
        """Filter `x`, which came `step_s` seconds after the previous value."""
        if self.x_prev is None:
            self.x_prev = self.x_hat = x
            return x
        dx = (x - self.x_prev) / step_s  # speed, then its low-pass
        self.x_prev = x
        self.dx_hat += _alpha(self.d_cutoff_hz, step_s) * (dx - self.dx_hat)
        cutoff_hz = self.min_cutoff_hz + self.beta * abs(self.dx_hat)
        self.x_hat += _alpha(cutoff_hz, step_s) * (x - self.x_hat)
        return self.x_hat


class ExponentialFilter:
    """A first-order low-pass with time constant `time_constant_s`, exact for any step:
    y += (1 - exp(-step / tau)) * (x - y), so a held input is approached as exp(-t / tau)."""

    def __init__(self, time_constant_s: float) -> None:
        self.time_constant_s = time_constant_s
        self.y: float | None = None

    def step(self, x: float, step_s: float) -> float:
        """Filter `x`, which came `step_s` seconds after the previous value."""
        if self.y is None:
            self.y = x
            return x
        self.y += -math.expm1(-step_s / self.time_constant_s) * (x - self.y)
        return self.y


class _Unsmoothed:
    """smoothing: none."""

    def step(self, x: float, step_s: float) -> float:
        return x


def make_filter(smoothing: Smoothing) -> OneEuroFilter | ExponentialFilter | _Unsmoothed:
    """A fresh filter for `smoothing`."""
    if smoothing.kind == "one_euro":
        return OneEuroFilter(smoothing.min_cutoff_hz, smoothing.beta, smoothing.d_cutoff_hz)
    if smoothing.kind == "exponential":
        return ExponentialFilter(smoothing.time_constant_s)
    return _Unsmoothed()


class _Channel:
    """One sensor's memory between readings."""

    def __init__(self, sensor: Sensor) -> None:
        self.sensor = sensor
        self.filter = make_filter(sensor.smoothing)
        self.used: float | None = None  # the last clamped reading past the dead band
        self.last_wall_s: float | None = None

    def reading(self, raw: float, wall_s: float) -> float:
        """The mapped output for one raw reading at `wall_s`."""
        sensor = self.sensor
        if self.last_wall_s is not None and wall_s - self.last_wall_s > max(
            sensor.timeout_s, MIN_HOLD_S
        ):
            self.filter, self.used = make_filter(sensor.smoothing), None  # silent too long
        last_wall_s = wall_s if self.last_wall_s is None else self.last_wall_s
        step_s = max(wall_s - last_wall_s, MIN_STEP_S)
        self.last_wall_s = max(wall_s, last_wall_s)  # a late reading does not turn time back
        start, end = sensor.input_range
        x = min(max(raw, min(start, end)), max(start, end))  # clamp
        if self.used is None or abs(x - self.used) >= sensor.dead_band:
            self.used = x
        smoothed = self.filter.step(self.used, step_s)
        u = min(max((smoothed - start) / (end - start), 0.0), 1.0)
        low, high = sensor.output_range
        return low + shape(sensor.curve, u) * (high - low)


class SensorBank:
    """The show's sensor mappings and their state (render thread only)."""

    def __init__(self, sensors: Sequence[Sensor]) -> None:
        self.channels = {sensor.name: _Channel(sensor) for sensor in sensors}

    @property
    def names(self) -> tuple[str, ...]:
        """The sensor names the show declares."""
        return tuple(self.channels)

    def feed(self, name: str, values: Sequence[float], wall_s: float) -> SensorOutput | None:
        """One `/sensor/<name>` message at wall time `wall_s`.

        Returns:
            The target, its new value and hold time; None when the show has no sensor `name`
            (the caller logs it).

        Raises:
            SensorReadingError: the message has no value at the sensor's index, or it is not a
                finite number; the sensor's state is unchanged.
        """
        channel = self.channels.get(name)
        if channel is None:
            return None
        sensor = channel.sensor
        if sensor.index >= len(values):
            raise SensorReadingError(
                f"sensor {name!r}: index {sensor.index} needs at least {sensor.index + 1} "
                f"value(s), got {len(values)}"
            )
        try:
            raw = float(values[sensor.index])
        except (TypeError, ValueError):
            raw = math.nan
        if not math.isfinite(raw):
            raise SensorReadingError(
                f"sensor {name!r}: value {sensor.index} must be a finite number, "
                f"got {values[sensor.index]!r}"
            )
        value = channel.reading(raw, wall_s)
        return SensorOutput(sensor.target, value, sensor.timeout_s)
