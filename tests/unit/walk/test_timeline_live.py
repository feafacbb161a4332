"""Timeline live input: allowed names and ranges, blending scheduled -> live by weight."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fake_latents import NUM_WS, W_DIM, FakeLatents, constant_ws
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.timeline import (
    DIRECTION_LIVE_RANGE,
    LIVE_DEFAULT_RANGES,
    Timeline,
    live_range,
)


def write_show(tmp_path: Path, sections: str, model: str = "path: m.pkl") -> Show:
    """A show with one model 'm' (default psi 1, full cutoff), a direction file and `sections`."""
    (tmp_path / "m.pkl").write_bytes(b"")
    np.save(tmp_path / "dir.npy", np.ones(W_DIM, dtype=np.float32))
    text = f"models:\n  m: {{{model}}}\nsections:\n{sections}"
    path = tmp_path / "show.yaml"
    path.write_text(text)
    return load_show(path)


# Each section lasts 10 s: open (w, no live block) 0-10, z (z, no live block) 10-20,
# automated (w, live block) 20-40, listed (w, live block with a direction) 40-50.
SECTIONS = """\
  - name: open
    model: m
    duration_s: 10
    directions:
      - {file: dir.npy, layers: [0, 1], intensity: 1}
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
  - name: z
    model: m
    duration_s: 10
    directions:
      - {file: dir.npy, layers: [0, 0], intensity: 2}
    walk: {space: z, path: linear, keyframes: [{seed: 1}, {seed: 1}]}
  - name: automated
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
    directions:
      - {file: dir.npy, layers: [0, 1], intensity: 1}
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
  - name: listed
    model: m
    duration_s: 10
    live:
      direction/dir: {range: [0, 2]}
    directions:
      - {file: dir.npy, layers: [0, 1], intensity: 1}
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
"""
OPEN_S, Z_S, AUTOMATED_S, LISTED_S = 5.0, 15.0, 25.0, 45.0  # mid-section show times
W_AVG = 1.0
KEYFRAME = 3.0


@pytest.fixture
def timeline(tmp_path: Path) -> Timeline:
    """ws keyframes all 3 with w_avg 1 (psi p gives 1 + 2p); the direction adds to column 1."""
    show = write_show(tmp_path, SECTIONS)
    direction = np.tile(np.array([0.0, 1.0, 0.0]), (NUM_WS, 1))
    w_avg = np.full(W_DIM, W_AVG)

    def w_latents() -> FakeLatents:
        return FakeLatents(constant_ws(KEYFRAME, KEYFRAME), directions=(direction,), w_avg=w_avg)

    z = np.full((2, 5), 0.25, dtype=np.float32)  # [K, z_dim]
    return Timeline(
        show,
        {
            "open": w_latents(),
            "z": FakeLatents(z, directions=(np.ones((NUM_WS, W_DIM)),), w_avg=w_avg),
            "automated": w_latents(),
            "listed": w_latents(),
        },
    )


def truncated(psi: float) -> float:
    """A keyframe row value after truncation by psi."""
    return W_AVG + psi * (KEYFRAME - W_AVG)


def automated_psi() -> float:
    """The AUTOMATED section's scheduled psi at AUTOMATED_S (sine_in_out halfway: 0.75)."""
    return 0.75


def test_live_ranges_follow_the_live_block(timeline: Timeline) -> None:
    open_, _, automated, listed = timeline.show.sections
    for name, value_range in LIVE_DEFAULT_RANGES.items():
        assert live_range(open_, name) == value_range
    assert live_range(open_, "direction/dir") == DIRECTION_LIVE_RANGE
    assert live_range(open_, "direction/0") == DIRECTION_LIVE_RANGE
    assert live_range(open_, "speed") is None and live_range(open_, "nope") is None
    assert live_range(automated, "psi") == (0.3, 1.2)
    assert live_range(automated, "translate_x") == (-0.5, 0.5)
    for name in ("cutoff", "noise_strength", "translate_y", "rotate_deg", "direction/dir"):
        assert live_range(automated, name) is None
    assert live_range(listed, "direction/dir") == (0.0, 2.0)
    assert live_range(listed, "direction/0") is None and live_range(listed, "psi") is None


def test_no_live_input_leaves_the_schedule(timeline: Timeline) -> None:
    frame = timeline.at(OPEN_S)
    assert (frame.psi, frame.cutoff, frame.noise_strength) == (None, None, None)
    assert (frame.translate_xy, frame.rotate_deg) == ((0.0, 0.0), 0.0)
    np.testing.assert_array_equal(frame.latent[0], [3.0, 4.0, 3.0])  # direction intensity 1
    np.testing.assert_array_equal(frame.latent[2], [3.0, 3.0, 3.0])
    assert timeline.at(OPEN_S, {}).same_as(frame)


@pytest.mark.parametrize(
    ("live", "psi"),
    [
        (0.5, 0.5),  # a plain number: weight 1
        ((0.5, 1.0), 0.5),
        ((0.5, 0.5), 0.75),  # halfway from the model entry's psi 1.0
        ((0.5, 0.0), 1.0),  # weight 0: the model entry's psi
        (5.0, 2.0),  # default range -1..2
        ((5.0, 0.5), 1.5),
        (-3.0, -1.0),
    ],
)
def test_live_psi_without_a_live_block(timeline: Timeline, live: object, psi: float) -> None:
    frame = timeline.at(OPEN_S, {"psi": live})
    assert frame.psi == pytest.approx(psi)
    row = truncated(psi)
    np.testing.assert_allclose(frame.latent[0], [row, row + 1.0, row], rtol=1e-6)
    np.testing.assert_allclose(frame.latent[2:], np.full((2, W_DIM), row), rtol=1e-6)


@pytest.mark.parametrize(
    ("live", "psi"),
    [
        (0.9, 0.9),
        ((1.2, 1.0), 1.2),
        ((1.2, 0.5), 0.975),  # halfway from the automation's 0.75
        ((5.0, 0.5), 0.975),  # clamped to the block's 1.2 first
        ((1.2, 0.0), 0.75),  # weight 0: the automation
        ((-1.0, 1.0), 0.3),
    ],
)
def test_live_psi_in_a_section_with_a_live_block(
    timeline: Timeline, live: object, psi: float
) -> None:
    frame = timeline.at(AUTOMATED_S, {"psi": live})
    assert frame.psi == pytest.approx(psi)
    assert frame.cutoff == 2  # automation: only rows 0-1 are truncated
    row = truncated(psi)
    np.testing.assert_allclose(frame.latent[0], [row, row + 1.0, row], rtol=1e-6)
    np.testing.assert_allclose(frame.latent[2:], np.full((2, W_DIM), KEYFRAME), rtol=1e-6)


def test_a_live_block_allows_only_what_it_lists(timeline: Timeline) -> None:
    scheduled = timeline.at(AUTOMATED_S)
    expected_deg = 1.0 + 10.0 * math.sin(2.0 * math.pi * (5.0 / 8.0 + 0.25))
    assert scheduled.rotate_deg == pytest.approx(expected_deg)
    unlisted = {
        "rotate_deg": 90.0,
        "cutoff": (4.0, 1.0),
        "noise_strength": 3.0,
        "translate_y": 0.5,
        "direction/dir": 5.0,
        "direction/0": 5.0,
        "speed": 2.0,
        "nope": 1.0,
    }
    assert timeline.at(AUTOMATED_S, unlisted).same_as(scheduled)
    frame = timeline.at(AUTOMATED_S, {**unlisted, "translate_x": (0.4, 0.5)})
    assert frame.translate_xy == pytest.approx((0.2, 0.0))
    assert timeline.at(AUTOMATED_S, {"translate_x": 2.0}).translate_xy == (0.5, 0.0)
    assert frame.rotate_deg == pytest.approx(expected_deg)
    assert (frame.cutoff, frame.noise_strength) == (2, pytest.approx(1.0))
    np.testing.assert_array_equal(frame.latent, scheduled.latent)


def test_live_cutoff_noise_and_camera_defaults(timeline: Timeline) -> None:
    frame = timeline.at(OPEN_S, {"cutoff": 2.0, "psi": 0.5})
    assert frame.cutoff == 2
    row = truncated(0.5)
    np.testing.assert_allclose(frame.latent[1], [row, row + 1.0, row], rtol=1e-6)
    np.testing.assert_allclose(frame.latent[2:], np.full((2, W_DIM), KEYFRAME), rtol=1e-6)
    assert timeline.at(OPEN_S, {"cutoff": 100.0}).cutoff == 32  # default range 0..32
    assert timeline.at(OPEN_S, {"cutoff": -5.0}).cutoff == 0
    assert timeline.at(OPEN_S, {"cutoff": (0.0, 0.5)}).cutoff == 2  # from the full 4 rows
    assert timeline.at(OPEN_S, {"cutoff": (0.0, 0.0)}).cutoff == NUM_WS
    assert timeline.at(OPEN_S, {"noise_strength": 2.0}).noise_strength == pytest.approx(2.0)
    assert timeline.at(OPEN_S, {"noise_strength": 9.0}).noise_strength == pytest.approx(5.0)
    noise = timeline.at(OPEN_S, {"noise_strength": (3.0, 0.5)}).noise_strength
    assert noise == pytest.approx(2.0)  # halfway from 1
    camera = timeline.at(
        OPEN_S, {"translate_x": 0.3, "translate_y": 5.0, "rotate_deg": (90.0, 0.5)}
    )
    assert camera.translate_xy == pytest.approx((0.3, 1.0))
    assert camera.rotate_deg == pytest.approx(45.0)  # halfway from 0
    assert timeline.at(OPEN_S, {"rotate_deg": 400.0}).rotate_deg == pytest.approx(360.0)
    assert timeline.at(OPEN_S, {"translate_x": (-4.0, 0.5)}).translate_xy == (-0.5, 0.0)


def test_a_z_section_reacts_to_psi(timeline: Timeline) -> None:
    scheduled = timeline.at(Z_S)
    assert scheduled.space == "z" and scheduled.psi is None
    for live, psi in ((0.5, 0.5), ((0.5, 0.5), 0.75), ((0.5, 0.0), 1.0), (9.0, 2.0)):
        frame = timeline.at(Z_S, {"psi": live})
        assert frame.psi == pytest.approx(psi)  # the renderer truncates after mapping z
        np.testing.assert_array_equal(frame.latent, scheduled.latent)


def test_a_w_section_reacts_to_psi(timeline: Timeline) -> None:
    scheduled = timeline.at(OPEN_S).latent
    steered = timeline.at(OPEN_S, {"psi": 0.5}).latent
    np.testing.assert_allclose(steered - scheduled, np.full((NUM_WS, W_DIM), -1.0), rtol=1e-6)


@pytest.mark.parametrize(
    ("live", "intensity"),
    [
        ({"direction/dir": 3.0}, 3.0),
        ({"direction/0": 3.0}, 3.0),
        ({"direction/dir": (5.0, 0.5)}, 3.0),  # halfway from the scheduled 1
        ({"direction/0": (5.0, 0.0)}, 1.0),
        ({"direction/dir": 50.0}, 20.0),  # default range -20..20
        ({"direction/0": -50.0}, -20.0),
        ({"direction/1": 3.0}, 1.0),  # no such direction
        ({"direction/other": 3.0}, 1.0),
    ],
)
def test_live_direction_intensity_by_stem_and_index(
    timeline: Timeline, live: dict, intensity: float
) -> None:
    frame = timeline.at(OPEN_S, live)
    expected = np.full((NUM_WS, W_DIM), KEYFRAME)
    expected[0:2, 1] += intensity
    np.testing.assert_allclose(frame.latent, expected, rtol=1e-6)


def test_live_direction_in_a_z_section_changes_the_ws_edits(timeline: Timeline) -> None:
    scheduled = timeline.at(Z_S).ws_edits
    assert scheduled is not None and scheduled.delta is not None
    np.testing.assert_array_equal(scheduled.delta[0], [2.0, 2.0, 2.0])
    edits = timeline.at(Z_S, {"direction/dir": (4.0, 0.5)}).ws_edits
    assert edits is not None and edits.delta is not None
    np.testing.assert_allclose(edits.delta[0], [3.0, 3.0, 3.0])  # 2 + 0.5 * (4 - 2)
    np.testing.assert_array_equal(edits.delta[1:], 0.0)


def test_a_listed_direction_is_clamped_to_its_range(timeline: Timeline) -> None:
    expected = np.full((NUM_WS, W_DIM), KEYFRAME)
    expected[0:2, 1] += 2.0
    np.testing.assert_allclose(timeline.at(LISTED_S, {"direction/dir": 5.0}).latent, expected)
    scheduled = timeline.at(LISTED_S)
    for unlisted in ({"direction/0": 5.0}, {"rotate_deg": 10.0}, {"translate_y": 0.5}):
        assert timeline.at(LISTED_S, unlisted).same_as(scheduled)
    # unlisted psi, cutoff, noise: the same picture; the fields come back as the values the
    # renderer would use anyway (entry psi 1, full cutoff, noise 1) instead of None
    frame = timeline.at(LISTED_S, {"psi": 0.5, "cutoff": 1.0, "noise_strength": 3.0})
    np.testing.assert_array_equal(frame.latent, scheduled.latent)
    assert frame.psi in (None, 1.0) and frame.cutoff in (None, NUM_WS)
    assert frame.noise_strength in (None, 1.0)


def test_tuples_and_plain_numbers(timeline: Timeline) -> None:
    for t_s in (OPEN_S, AUTOMATED_S):
        plain = timeline.at(t_s, {"psi": 0.9, "translate_x": 0.25})
        assert timeline.at(t_s, {"psi": (0.9, 1.0), "translate_x": (0.25, 1.0)}).same_as(plain)
        assert timeline.at(t_s, {"psi": 0.9, "translate_x": (0.25, 1.5)}).same_as(plain)
        zero = timeline.at(t_s, {"psi": (0.9, 0.0), "translate_x": (0.25, 0.0)})
        assert timeline.at(t_s, {"psi": (0.9, -1.0), "translate_x": (0.25, -1.0)}).same_as(zero)
    assert timeline.at(OPEN_S, {"psi": 1}).psi == 1.0  # an int is a plain number too


def test_weight_blends_continuously(timeline: Timeline) -> None:
    psis = [timeline.at(AUTOMATED_S, {"psi": (1.2, w / 10)}).psi for w in range(11)]
    np.testing.assert_allclose(psis, np.linspace(automated_psi(), 1.2, 11))


ENTRY_PSI = """\
  - name: open
    model: m
    duration_s: 10
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
  - name: strict
    model: m
    duration_s: 10
    live:
      translate_x: {range: [-0.5, 0.5]}
    walk: {path: linear, keyframes: [{seed: 1}, {seed: 1}]}
"""


@pytest.fixture
def entry_psi(tmp_path: Path) -> Timeline:
    """Model entry psi 0.5: w keyframes come resolved with it (render/resolve.py map_z)."""
    show = write_show(tmp_path, ENTRY_PSI, model="path: m.pkl, psi: 0.5")
    assert show.model("m").psi == 0.5
    latents = FakeLatents(constant_ws(KEYFRAME, KEYFRAME), w_avg=np.full(W_DIM, W_AVG))
    return Timeline(show, {"open": latents, "strict": latents})


def test_w_sections_blend_live_psi_from_no_further_truncation(entry_psi: Timeline) -> None:
    # w keyframes already carry the entry's psi 0.5, so the schedule's own psi here is 1
    assert entry_psi.at(OPEN_S, {"psi": (0.9, 0.5)}).psi == pytest.approx(0.95)
    assert entry_psi.at(OPEN_S, {"psi": 0.9}).psi == pytest.approx(0.9)


def test_zero_weight_live_psi_gives_the_scheduled_w_latent(entry_psi: Timeline) -> None:
    scheduled = entry_psi.at(OPEN_S).latent
    np.testing.assert_allclose(entry_psi.at(OPEN_S, {"psi": (0.9, 0.0)}).latent, scheduled)


def test_unlisted_live_psi_leaves_a_w_section_unchanged(entry_psi: Timeline) -> None:
    scheduled = entry_psi.at(Z_S).latent  # section 'strict' (10-20 s)
    np.testing.assert_allclose(entry_psi.at(Z_S, {"psi": 0.9}).latent, scheduled)
