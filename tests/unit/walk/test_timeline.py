"""Timeline: deterministic frame parameters from a show, its resolved latents and live values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from fake_latents import NUM_WS, W_DIM, FakeLatents, constant_ws
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.easing import ease
from installation.walk.timeline import FrameParams, Timeline, evaluate


def write_show(tmp_path: Path, sections: str, speed: float = 1.0) -> Show:
    """A show with one model 'm' and the given sections YAML."""
    (tmp_path / "m.pkl").write_bytes(b"")
    text = f"show: {{speed: {speed}}}\nmodels:\n  m: {{path: m.pkl}}\nsections:\n{sections}"
    path = tmp_path / "show.yaml"
    path.write_text(text)
    return load_show(path)


LINEAR = """\
  - name: a
    model: m
    loops: 1
    walk:
      path: linear
      seconds_per_keyframe: 4
      keyframes:
        - seed: 1
        - {seed: 2, hold_s: 2}
        - seed: 3
  - name: b
    model: m
    duration_s: 5
    walk:
      path: linear
      keyframes: [{seed: 4}, {seed: 4}]
"""


@pytest.fixture
def linear(tmp_path: Path) -> Timeline:
    """Section a: 0 -> 1 in 4 s, hold 1 for 2 s, 1 -> 2 in 4 s (10 s); section b: 5 s of 7."""
    show = write_show(tmp_path, LINEAR)
    latents = {"a": FakeLatents(constant_ws(0, 1, 2)), "b": FakeLatents(constant_ws(7, 7))}
    return Timeline(show, latents)


def value(frame: FrameParams) -> float:
    """The value of a constant-filled latent."""
    return float(frame.latent.flat[0])


def test_deterministic(linear: Timeline) -> None:
    """Two calls at the same time give equal frames."""
    for t in (0.0, 1.3, 7.77, 12.0, 123.4):
        assert linear.at(t).same_as(linear.at(t))


def test_keyframes_hit_holds_and_sections(linear: Timeline) -> None:
    """Keyframes at segment starts, constant holds, section b after 10 s, wrap at 15 s."""
    assert value(linear.at(0.0)) == 0.0
    assert value(linear.at(2.0)) == pytest.approx(0.5)
    assert value(linear.at(4.0)) == 1.0
    assert value(linear.at(5.0)) == 1.0 and value(linear.at(5.99)) == 1.0
    assert value(linear.at(6.0)) == 1.0
    assert value(linear.at(8.0)) == pytest.approx(1.5)
    frame = linear.at(10.0)
    assert (frame.section_index, frame.section_name, value(frame)) == (1, "b", 7.0)
    assert linear.at(14.9).section_name == "b"
    assert linear.at(15.0).section_name == "a" and value(linear.at(15.0)) == 0.0
    assert value(linear.at(17.0)) == pytest.approx(0.5)
    assert linear.at(-1.0).section_name == "b"
    assert linear.at(0.0).latent.shape == (NUM_WS, W_DIM)


def test_speed_scales_the_walk(tmp_path: Path) -> None:
    """At speed 2 a 10 s loop lasts 5 s of show time."""
    timeline = Timeline(
        write_show(tmp_path, LINEAR, speed=2.0),
        {"a": FakeLatents(constant_ws(0, 1, 2)), "b": FakeLatents(constant_ws(7, 7))},
    )
    assert value(timeline.at(1.0)) == pytest.approx(0.5)
    assert timeline.at(5.0).section_name == "b"


def test_easing_per_segment(tmp_path: Path) -> None:
    """Walk easing sine_in_out, keyframe easing overrides: mid-phase values differ as expected."""
    show = write_show(
        tmp_path,
        """\
  - name: a
    model: m
    loops: 1
    walk:
      path: linear
      easing: sine_in_out
      keyframes: [{seed: 1}, {seed: 2, easing: cubic_in}, {seed: 3}]
""",
    )
    timeline = Timeline(show, {"a": FakeLatents(constant_ws(0, 1, 2))})
    assert value(timeline.at(1.0)) == pytest.approx(ease("sine_in_out", 0.25))
    assert value(timeline.at(1.0)) != pytest.approx(0.25)
    assert value(timeline.at(2.0)) == pytest.approx(0.5)
    assert value(timeline.at(5.0)) == pytest.approx(1.0 + 0.25**3)


def test_closed_cubic_loop_is_continuous_at_the_wrap(tmp_path: Path) -> None:
    """A closed cubic walk returns to its first keyframe: values just before and at wrap agree."""
    show = write_show(
        tmp_path,
        """\
  - name: a
    model: m
    loops: 1
    walk:
      path: cubic
      closed: true
      seconds_per_keyframe: 2
      keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]
""",
    )
    rng = np.random.default_rng(0)
    keyframes = rng.standard_normal((3, NUM_WS, W_DIM)).astype(np.float32)
    timeline = Timeline(show, {"a": FakeLatents(keyframes)})
    np.testing.assert_allclose(timeline.at(0.0).latent, keyframes[0], atol=1e-6)
    np.testing.assert_allclose(timeline.at(2.0).latent, keyframes[1], atol=1e-6)
    np.testing.assert_allclose(timeline.at(4.0).latent, keyframes[2], atol=1e-6)
    before, after = timeline.at(6.0 - 1e-6).latent, timeline.at(6.0).latent
    np.testing.assert_allclose(before, after, atol=1e-4)


def test_slerp_and_noise_loop(tmp_path: Path) -> None:
    """Slerp keeps the norm of equal-norm keyframes; a noise loop is periodic around its centre."""
    show = write_show(
        tmp_path,
        """\
  - name: s
    model: m
    loops: 1
    walk: {path: slerp, keyframes: [{seed: 1}, {seed: 2}]}
  - name: n
    model: m
    loops: 1
    walk: {path: noise_loop, seconds_per_keyframe: 8, noise: {seed: 3, radius: 0.5}}
""",
    )
    a = np.tile(np.array([1.0, 0.0, 0.0], dtype=np.float32), (NUM_WS, 1))
    b = np.tile(np.array([0.0, 1.0, 0.0], dtype=np.float32), (NUM_WS, 1))
    centre = constant_ws(2.0)
    timeline = Timeline(show, {"s": FakeLatents(np.stack([a, b])), "n": FakeLatents(centre)})
    mid = timeline.at(2.0).latent
    np.testing.assert_allclose(np.linalg.norm(mid, axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(mid[0], [math.sqrt(0.5), math.sqrt(0.5), 0.0], atol=1e-6)
    start, later, wrapped = (timeline.at(t).latent for t in (4.0, 7.0, 12.0 - 1e-9))
    assert not np.allclose(start, later)
    np.testing.assert_allclose(start, wrapped, atol=1e-6)
    assert np.all(start == start[0])  # the same offset on every ws row


AUTOMATED = """\
  - name: a
    model: m
    duration_s: 20
    live:
      psi: {range: [0.3, 1.2]}
      translate_x: {range: [-0.5, 0.5]}
    automation:
      psi: {keys: [[0, 0.5], [10, 1.0]], easing: sine_in_out}
      cutoff: {keys: [[0, 2]]}
      noise_strength: {keys: [[0, 0.0], [4, 1.0]]}
      rotate_deg: {lfo: {period_s: 8, amplitude: 10, center: 1, phase: 0.25}}
    mixing:
      - {layers: [2, 3], from: {seed: 9}}
    directions:
      - {file: dir.npy, layers: [0, 1], intensity: {keys: [[0, 0], [10, 2]]}}
    walk:
      path: linear
      keyframes: [{seed: 1}, {seed: 1}]
"""


@pytest.fixture
def automated(tmp_path: Path) -> Timeline:
    """One 20 s section with automation, live params, mixing and a direction."""
    np.save(tmp_path / "dir.npy", np.ones(W_DIM, dtype=np.float32))
    show = write_show(tmp_path, AUTOMATED)
    w_avg = np.array([1.0, 1.0, 1.0])
    direction = np.tile(np.array([0.0, 1.0, 0.0]), (NUM_WS, 1))
    latents = FakeLatents(
        keyframes=constant_ws(3.0, 3.0),
        mixing_sources=(np.full((NUM_WS, W_DIM), -5.0),),
        directions=(direction,),
        w_avg=w_avg,
    )
    return Timeline(show, {"a": latents})


def test_automation_curves_and_lfo(automated: Timeline) -> None:
    """Curve values at known times (eased, clamped), LFO value, cutoff rounding."""
    frame = automated.at(5.0)
    assert frame.psi == pytest.approx(0.75)
    assert frame.cutoff == 2
    assert frame.noise_strength == pytest.approx(1.0)
    assert automated.at(2.0).noise_strength == pytest.approx(0.5)
    assert automated.at(15.0).psi == pytest.approx(1.0)
    assert automated.at(0.0).rotate_deg == pytest.approx(11.0)  # sin(2π·0.25) = 1
    assert automated.at(4.0).rotate_deg == pytest.approx(-9.0)
    assert frame.translate_xy == (0.0, 0.0)


def test_psi_mixing_and_direction_applied_to_ws(automated: Timeline) -> None:
    """Rows [:cutoff] truncated by psi, rows 2-3 exactly the source, direction added to rows 0-1."""
    frame = automated.at(5.0)  # psi 0.75, cutoff 2, intensity 1
    truncated = 1.0 + 0.75 * (3.0 - 1.0)
    np.testing.assert_allclose(frame.latent[0], [truncated, truncated + 1.0, truncated])
    np.testing.assert_allclose(frame.latent[1], [truncated, truncated + 1.0, truncated])
    np.testing.assert_array_equal(frame.latent[2:], np.full((2, W_DIM), -5.0))
    at_zero = automated.at(0.0).latent  # intensity 0, psi 0.5
    np.testing.assert_allclose(at_zero[0], [2.0, 2.0, 2.0])


def test_live_overrides_and_clamps(automated: Timeline) -> None:
    """Live values replace automation for listed params, clamped; unlisted ones are ignored."""
    assert automated.at(5.0, {"psi": 0.9}).psi == pytest.approx(0.9)
    assert automated.at(5.0, {"psi": 5.0}).psi == pytest.approx(1.2)
    assert automated.at(5.0, {"psi": -1.0}).psi == pytest.approx(0.3)
    assert automated.at(5.0, {"translate_x": 2.0}).translate_xy == (0.5, 0.0)
    expected_deg = 1.0 + 10.0 * math.sin(2.0 * math.pi * (5.0 / 8.0 + 0.25))  # not a live param
    assert automated.at(5.0, {"rotate_deg": 90.0}).rotate_deg == pytest.approx(expected_deg)
    assert automated.at(5.0, {}).same_as(automated.at(5.0))


TRANSITIONS = """\
  - name: a
    model: m
    duration_s: 10
    transition: {kind: crossfade, duration_s: 4}
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
  - name: b
    model: m
    duration_s: 10
    transition: {kind: image_crossfade, duration_s: 2}
    walk: {path: linear, keyframes: [{seed: 2}, {seed: 2}]}
  - name: c
    model: m
    duration_s: 10
    walk: {path: linear, keyframes: [{seed: 3}, {seed: 3}]}
"""


def smoothstep(x: float | np.ndarray) -> float | np.ndarray:
    """3x^2 - 2x^3: the crossfade weight at progress x through the window."""
    return x * x * (3 - 2 * x)


def test_crossfade_in_w_and_image_crossfade(tmp_path: Path) -> None:
    """The crossfade weight eases 0 -> 1 (smoothstep) over the window; image crossfade gives the
    partner."""
    show = write_show(tmp_path, TRANSITIONS)
    latents = {
        "a": FakeLatents(constant_ws(0.0, 0.0)),
        "b": FakeLatents(constant_ws(1.0, 1.0)),
        "c": FakeLatents(constant_ws(2.0, 2.0)),
    }
    timeline = Timeline(show, latents)
    assert value(timeline.at(5.9)) == 0.0
    assert value(timeline.at(6.0)) == 0.0
    assert value(timeline.at(7.0)) == pytest.approx(smoothstep(0.25))
    assert value(timeline.at(9.0)) == pytest.approx(smoothstep(0.75))
    assert value(timeline.at(10.0)) == 1.0 and timeline.at(10.0).section_name == "b"
    assert timeline.at(7.0).crossfade is None
    assert timeline.at(17.9).crossfade is None
    weights = []
    for t in (18.0, 18.5, 19.0, 19.999):
        frame = timeline.at(t)
        assert frame.crossfade is not None and value(frame) == 1.0
        partner, weight = frame.crossfade
        assert partner.section_name == "c" and value(partner) == 2.0
        weights.append(weight)
    np.testing.assert_allclose(weights, smoothstep(np.array([0.0, 0.25, 0.5, 0.9995])), atol=1e-9)
    assert timeline.at(29.0).crossfade is None  # c cuts back to a


def test_z_walk_gives_z_and_ws_edits(tmp_path: Path) -> None:
    """A z walk interpolates z vectors; its mixing and directions are left for after mapping."""
    np.save(tmp_path / "dir.npy", np.ones(W_DIM, dtype=np.float32))
    show = write_show(
        tmp_path,
        """\
  - name: z
    model: m
    loops: 1
    walk: {space: z, path: linear, keyframes: [{seed: 1}, {seed: 2}]}
    mixing: [{layers: fine, from: {mean: true}}]
    directions: [{file: dir.npy, layers: [0, 0], intensity: 2}]
""",
    )
    z = np.array([[0.0] * 5, [1.0] * 5], dtype=np.float32)  # [K, z_dim]
    latents = FakeLatents(
        z, mixing_sources=(np.zeros((NUM_WS, W_DIM)),), directions=(np.ones((NUM_WS, W_DIM)),)
    )
    frame = Timeline(show, {"z": latents}).at(1.0)
    assert frame.space == "z" and frame.latent.shape == (5,)
    np.testing.assert_allclose(frame.latent, 0.25)
    assert frame.ws_edits is not None and frame.ws_edits.delta is not None
    np.testing.assert_array_equal(frame.ws_edits.delta[0], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(frame.ws_edits.delta[1:], 0.0)
    assert frame.ws_edits.mixing[0][:2] == (NUM_WS, NUM_WS)  # fine = 8- : no rows of 4


def test_random_walk_passes_its_seeds(tmp_path: Path) -> None:
    """A closed random walk reaches keyframe k at k * seconds_per_keyframe and loops."""
    show = write_show(
        tmp_path,
        """\
  - name: r
    model: m
    loops: 1
    walk: {path: random_walk, closed: true, seconds_per_keyframe: 2,
           random_walk: {seed: 5, count: 3}}
""",
    )
    keyframes = np.random.default_rng(1).standard_normal((3, NUM_WS, W_DIM))
    timeline = Timeline(show, {"r": FakeLatents(keyframes)})
    for k in range(3):
        np.testing.assert_allclose(timeline.at(2.0 * k).latent, keyframes[k], atol=1e-6)
    np.testing.assert_allclose(timeline.at(6.0 - 1e-7).latent, keyframes[0], atol=1e-4)


def test_evaluate_signals() -> None:
    """Constants, clamped curves and LFOs."""
    from installation.show.schema import Curve, Lfo

    assert evaluate(1.5, 3.0) == 1.5
    curve = Curve(((1.0, 0.0), (3.0, 4.0)))
    assert (evaluate(curve, 0.0), evaluate(curve, 2.0), evaluate(curve, 9.0)) == (0.0, 2.0, 4.0)
    assert evaluate(Lfo(period_s=4.0, amplitude=2.0, center=1.0), 1.0) == pytest.approx(3.0)


@dataclass(frozen=True)
class RetimedLatents(FakeLatents):
    """FakeLatents with perceptual re-timing tables."""

    retime: tuple[np.ndarray, ...] | None = None


def test_retime_table_maps_segment_phase(tmp_path: Path) -> None:
    """Eased phase p goes to the path phase q where the segment's cumulative change reaches p
    (exactly at the table's points; between them on a monotone cubic, not a straight line)."""
    show = write_show(tmp_path, LINEAR)
    table_0 = np.array([0.0, 0.8, 1.0])  # 80 % of the change in the first half of segment 0
    latents = {
        "a": RetimedLatents(constant_ws(0, 1, 2), retime=(table_0, np.linspace(0, 1, 5))),
        "b": FakeLatents(constant_ws(7, 7)),
    }
    timeline = Timeline(show, latents)
    assert value(timeline.at(0.0)) == 0.0
    # Fritsch-Carlson slopes dq/dp at p = 0, 0.8, 1: 0.625, 1.0 (harmonic mean), 2.5
    assert value(timeline.at(0.4 * 4)) == pytest.approx(0.2125)  # p 0.4 -> q 0.2125 (linear 0.25)
    assert value(timeline.at(0.8 * 4)) == pytest.approx(0.5)  # p 0.8 -> q 0.5
    assert value(timeline.at(0.9 * 4)) == pytest.approx(0.7125)  # p 0.9 -> q 0.7125 (linear 0.75)
    assert value(timeline.at(4.0)) == 1.0
    assert value(timeline.at(8.0)) == pytest.approx(1.5)  # a uniform table changes nothing
    assert value(timeline.at(10.0)) == 7.0
