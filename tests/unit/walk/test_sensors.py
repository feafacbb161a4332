"""Sensor mappings: index, clamping, dead band, curves, smoothing with real time steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from installation.show.schema import SENSOR_CURVES, Sensor, Smoothing
from installation.walk.sensors import (
    SensorBank,
    SensorOutput,
    SensorReadingError,
    shape,
)

RATE_HZ = 60.0  # readings per second in the filter tests


def sensor(**fields: object) -> Sensor:
    """A sensor 'p' -> psi, input 0..100 -> output 0..1, unless `fields` say otherwise."""
    base: dict[str, object] = {
        "name": "p", "target": "psi", "input_range": (0.0, 100.0), "output_range": (0.0, 1.0)
    }  # fmt: skip
    return Sensor(**{**base, **fields})  # type: ignore[arg-type]


def one(bank: SensorBank, value: float, wall_s: float = 0.0, name: str = "p") -> float:
    out = bank.feed(name, [value], wall_s)
    assert out is not None
    return out.value


def test_output_names_target_value_and_hold() -> None:
    bank = SensorBank([sensor(target="direction/smile", timeout_s=7.0)])
    assert bank.feed("p", [50.0], 0.0) == SensorOutput("direction/smile", 0.5, 7.0)
    assert bank.names == ("p",)


def test_mapping_endpoints_and_clamping() -> None:
    bank = SensorBank([sensor(input_range=(0.0, 1023.0), output_range=(1.0, 0.3))])
    assert one(bank, 0.0) == pytest.approx(1.0)
    assert one(bank, 1023.0) == pytest.approx(0.3)
    assert one(bank, 511.5) == pytest.approx(0.65)
    assert one(bank, -50.0) == pytest.approx(1.0)  # clamped into the input range
    assert one(bank, 5000.0) == pytest.approx(0.3)


def test_decreasing_input_range_turns_the_sensor_round() -> None:
    bank = SensorBank([sensor(input_range=(100.0, 0.0), output_range=(-3.0, 3.0))])
    assert one(bank, 100.0) == pytest.approx(-3.0)
    assert one(bank, 0.0) == pytest.approx(3.0)
    assert one(bank, 25.0) == pytest.approx(1.5)
    assert one(bank, 250.0) == pytest.approx(-3.0)  # clamped at the range's top, 100


@pytest.mark.parametrize("curve", SENSOR_CURVES)
def test_each_curve_keeps_its_endpoints_and_rises(curve: str) -> None:
    u = np.linspace(0.0, 1.0, 201)
    values = np.array([shape(curve, x) for x in u])  # type: ignore[arg-type]
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert values[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(values) > 0)
    bank = SensorBank([sensor(curve=curve, output_range=(2.0, -2.0))])
    assert one(bank, 0.0) == pytest.approx(2.0)
    assert one(bank, 100.0, 1.0) == pytest.approx(-2.0)


def test_curve_shapes_in_the_middle() -> None:
    assert shape("linear", 0.5) == 0.5
    assert shape("ease_in", 0.5) == 0.25
    assert shape("ease_out", 0.5) == 0.75
    assert shape("smooth", 0.5) == 0.5 and shape("smooth", 0.25) == pytest.approx(0.15625)
    assert shape("log", 0.5) == pytest.approx(math.log10(5.5))
    assert shape("exp", shape("log", 0.3)) == pytest.approx(0.3)  # inverses
    assert shape("ease_in", 0.1) < 0.1 < shape("ease_out", 0.1)
    assert shape("exp", 0.1) < 0.1 < shape("log", 0.1)


def test_dead_band_ignores_small_changes_from_the_last_used_value() -> None:
    bank = SensorBank([sensor(dead_band=2.0)])
    assert one(bank, 50.0, 0.0) == pytest.approx(0.5)
    assert one(bank, 51.5, 0.1) == pytest.approx(0.5)  # |1.5| < 2: ignored
    assert one(bank, 48.1, 0.2) == pytest.approx(0.5)  # measured from 50, not from 51.5
    assert one(bank, 52.0, 0.3) == pytest.approx(0.52)  # 2 is not smaller than 2: used
    assert one(bank, 53.9, 0.4) == pytest.approx(0.52)  # from 52 now
    assert one(bank, 54.0, 0.5) == pytest.approx(0.54)


def test_index_picks_the_value_of_the_message() -> None:
    bank = SensorBank([sensor(index=2)])
    assert bank.feed("p", [10.0, 20.0, 30.0, 40.0], 0.0) == SensorOutput("psi", 0.3, 5.0)


def test_too_few_values_or_non_finite_raise_and_keep_the_state() -> None:
    bank = SensorBank([sensor(index=1, smoothing=Smoothing("exponential", time_constant_s=1.0))])
    with pytest.raises(SensorReadingError, match=r"sensor 'p': index 1 needs at least 2 value"):
        bank.feed("p", [10.0], 0.0)
    with pytest.raises(SensorReadingError, match=r"value 1 must be a finite number, got nan"):
        bank.feed("p", [0.0, math.nan], 0.0)
    out = bank.feed("p", [99.0, 0.0], 0.0)  # no error had any effect: still the first reading
    assert out is not None and out.value == 0.0
    with pytest.raises(SensorReadingError):
        bank.feed("p", [], 1.0)


def test_unknown_sensor_gives_none() -> None:
    bank = SensorBank([sensor()])
    assert bank.feed("nope", [1.0], 0.0) is None
    assert SensorBank([]).feed("p", [1.0], 0.0) is None


def one_euro_run(beta: float, values: np.ndarray) -> np.ndarray:
    """Filtered outputs for `values` sent at RATE_HZ, in input units (input = output range)."""
    smoothing = Smoothing("one_euro", min_cutoff_hz=1.0, beta=beta)
    bank = SensorBank([sensor(input_range=(0.0, 1023.0), output_range=(0.0, 1023.0),
                              smoothing=smoothing)])  # fmt: skip
    return np.array([one(bank, v, i / RATE_HZ) for i, v in enumerate(values)])


@pytest.mark.parametrize(("beta", "max_std"), [(0.0, 2.5), (0.01, 4.0)])
def test_one_euro_reduces_jitter_on_a_noisy_constant(beta: float, max_std: float) -> None:
    # 500 + N(0, 10) at 60 Hz for 10 s; after 2 s of settling the output's standard deviation
    # is 1.98 (beta 0) and 3.52 (beta 0.01, its cutoff rises with the noise's speed)
    noisy = 500.0 + np.random.default_rng(0).normal(0.0, 10.0, 600)
    out = one_euro_run(beta, noisy)[120:]
    assert np.std(noisy[120:]) > 9.0
    assert np.std(out) < max_std
    assert abs(np.mean(out) - 500.0) < 1.5


def test_one_euro_follows_a_ramp_with_small_lag() -> None:
    # 200 units/s: beta 0 lags like a 1 Hz low-pass, 1 / (2 pi) = 0.159 s; beta 0.01 raises the
    # cutoff to 1 + 0.01 * 200 = 3 Hz, so it lags 1 / (6 pi) = 0.053 s (12.7 and 10.6 units)
    t = np.arange(241) / RATE_HZ
    ramp = 100.0 + 200.0 * t
    lag_beta0_s = (ramp - one_euro_run(0.0, ramp))[-1] / 200.0
    lag_s = (ramp - one_euro_run(0.01, ramp))[-1] / 200.0
    assert lag_beta0_s == pytest.approx(1.0 / (2.0 * math.pi), rel=0.01)
    assert lag_s == pytest.approx(1.0 / (6.0 * math.pi), rel=0.01)
    assert lag_s < 0.06


def test_exponential_smoothing_with_irregular_steps_is_the_closed_form() -> None:
    tau_s = 0.3
    bank = SensorBank([sensor(smoothing=Smoothing("exponential", time_constant_s=tau_s))])
    assert one(bank, 0.0, 10.0) == 0.0  # the first reading is taken as is
    steps = np.random.default_rng(1).uniform(0.002, 0.25, 40)  # uneven message timing
    wall_s = 10.0 + np.cumsum(steps)
    for now in wall_s:
        out = one(bank, 100.0, float(now))
        expected = 1.0 - math.exp(-(now - 10.0) / tau_s)  # a step from 0 to 1 in output units
        assert out == pytest.approx(expected, abs=1e-12)


def test_same_time_stamps_count_as_a_small_step() -> None:
    bank = SensorBank([sensor(smoothing=Smoothing("exponential", time_constant_s=1.0))])
    one(bank, 0.0, 5.0)
    assert one(bank, 100.0, 5.0) == pytest.approx(1.0 - math.exp(-1e-3))  # MIN_STEP_S
    assert one(bank, 100.0, 4.0) > 1.0 - math.exp(-1e-3)  # a late reading still moves it on


def test_a_sensor_silent_past_its_timeout_starts_afresh() -> None:
    smoothing = Smoothing("exponential", time_constant_s=10.0)
    bank = SensorBank([sensor(smoothing=smoothing, timeout_s=2.0, dead_band=5.0)])
    one(bank, 0.0, 0.0)
    assert one(bank, 100.0, 1.0) < 0.1  # smoothed towards 1 slowly
    assert one(bank, 100.0, 3.5) == 1.0  # 2.5 s > timeout: no filter memory
    assert one(bank, 97.0, 10.0) == pytest.approx(0.97)  # nor dead-band reference
