"""LFO shapes: the waves' values at known points, their bounds, sample-and-hold's determinism,
and the show file's `shape` field with its errors."""

from __future__ import annotations

import numpy as np
import pytest

from installation.errors import ShowError
from installation.show.load import validate_text
from installation.show.schema import LFO_SHAPES, Lfo
from installation.walk.timeline import evaluate, wave


@pytest.mark.parametrize(
    ("shape", "points"),
    [
        ("sine", {0.0: 0.0, 0.25: 1.0, 0.5: 0.0, 0.75: -1.0}),
        ("triangle", {0.0: 0.0, 0.125: 0.5, 0.25: 1.0, 0.5: 0.0, 0.75: -1.0, 0.875: -0.5}),
        ("saw", {0.0: 0.0, 0.25: 0.5, 0.49: 0.98, 0.5: -1.0, 0.75: -0.5}),
        ("square", {0.0: 1.0, 0.49: 1.0, 0.5: -1.0, 0.99: -1.0}),
    ],
)
def test_waves_at_known_points(shape, points):
    for cycles, expected in points.items():
        assert wave(shape, cycles) == pytest.approx(expected, abs=1e-9)
        assert wave(shape, cycles + 3.0) == pytest.approx(expected, abs=1e-9)  # periodic


def test_every_wave_stays_within_one():
    cycles = np.linspace(-3.0, 3.0, 2001)
    for shape in LFO_SHAPES:
        values = [wave(shape, c, seed=7) for c in cycles]
        assert min(values) >= -1.0 and max(values) <= 1.0
        assert max(values) - min(values) > 1.0  # it moves


def test_sample_and_hold_holds_per_cycle_and_depends_on_the_seed():
    levels = [wave("sample_hold", k + 0.1, seed=5) for k in range(50)]
    assert all(wave("sample_hold", k + 0.9, seed=5) == levels[k] for k in range(50))
    assert len(set(levels)) == 50 and abs(np.mean(levels)) < 0.3
    assert levels != [wave("sample_hold", k + 0.1, seed=6) for k in range(50)]
    lfo = Lfo(period_s=2.0, amplitude=0.5, center=1.0, shape="sample_hold", seed=5)
    assert evaluate(lfo, 3.0) == pytest.approx(1.0 + 0.5 * levels[1])  # cycle 1 of 2 s


BODY = """models:
  m: {path: m.pkl}
sections:
  - name: a
    model: m
    duration_s: 5
    walk: {path: noise_loop}
    automation:
      psi: {lfo: LFO}
"""


def test_the_show_file_takes_a_shape_and_names_a_wrong_one(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"")
    text = BODY.replace("LFO", "{period_s: 4, amplitude: 0.3, center: 0.7, shape: square}")
    show = validate_text(text, tmp_path / "s.yaml")
    assert show.sections[0].automation.psi == Lfo(4.0, 0.3, 0.7, 0.0, "square", 0)
    bad = BODY.replace("LFO", "{period_s: 4, shape: sawtooth, seed: -1}")
    with pytest.raises(ShowError) as caught:
        validate_text(bad, tmp_path / "s.yaml")
    assert str(caught.value).splitlines() == [
        f"{tmp_path}/s.yaml:9: sections[0].automation.psi.lfo.shape: 'sawtooth' is not one of "
        "sine, triangle, saw, square, sample_hold",
        f"{tmp_path}/s.yaml:9: sections[0].automation.psi.lfo.seed: must be an integer >= 0, "
        "got -1",
    ]
