"""Section navigation: section_index_at, section_jump_s, section_start_in_pass_s, active segments.

Playlist lengths are plain numbers (the functions take lengths, not a show); a pass of [2, 3, 5]
lasts 10 s with sections starting at 0, 2 and 5 s of each pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest

from fake_latents import FakeLatents, constant_ws
from installation.show.load import validate_text
from installation.walk.paths import segment_at
from installation.walk.switching import SwitchingTimeline
from installation.walk.timeline import (
    Timeline,
    section_index_at,
    section_jump_s,
    section_start_in_pass_s,
)

LENGTHS = [2.0, 3.0, 5.0]  # starts 0, 2, 5; a pass is 10 s


@pytest.mark.parametrize(
    ("t_s", "index"),
    [(0.0, 0), (1.5, 0), (2.0, 1), (4.75, 1), (5.0, 2), (9.5, 2), (10.0, 0), (32.0, 1)],
)
def test_section_index_at_follows_borders_and_passes(t_s: float, index: int) -> None:
    """A time on a border belongs to the section starting there; the playlist loops."""
    assert section_index_at(LENGTHS, t_s) == index


@pytest.mark.parametrize(
    ("t_s", "delta", "expected_s"),
    [
        (1.0, 1, 2.0),  # inside section 0 -> section 1
        (3.0, 1, 5.0),  # inside section 1 -> section 2
        (7.0, 1, 10.0),  # last section -> first of the next pass
        (7.0, 2, 12.0),  # two places, across the pass border
        (1.0, 4, 12.0),  # more than a whole pass ahead
        (23.0, 1, 25.0),  # pass 2, section 1 -> section 2
        (2.0, 1, 5.0),  # exactly on the border of section 1
        (10.0, 1, 12.0),  # exactly on a pass border
    ],
)
def test_jump_forward(t_s: float, delta: int, expected_s: float) -> None:
    """Forward jumps land on the start of the section delta places on, in later passes too."""
    assert section_jump_s(LENGTHS, t_s, delta) == expected_s


@pytest.mark.parametrize(
    ("t_s", "delta", "expected_s"),
    [
        (3.0, -1, 0.0),  # inside section 1 -> section 0
        (7.0, -1, 2.0),  # inside section 2 -> section 1
        (7.0, -2, 0.0),
        (11.5, -1, 5.0),  # first section of pass 1 -> last of pass 0
        (12.5, -1, 10.0),  # pass 1 section 1 -> pass 1 section 0
        (23.0, -2, 15.0),  # pass 2 section 1 -> pass 1 section 2
        (5.0, -1, 2.0),  # exactly on the border of section 2
        (20.0, -1, 15.0),  # exactly on a pass border
        (35.0, -4, 22.0),  # more than a whole pass back
    ],
)
def test_jump_backward(t_s: float, delta: int, expected_s: float) -> None:
    """Backward jumps land on the start of the section delta places back, across passes."""
    assert section_jump_s(LENGTHS, t_s, delta) == expected_s


@pytest.mark.parametrize(("t_s", "delta"), [(0.0, -1), (1.0, -1), (1.0, -2), (1.0, -7)])
def test_jump_back_from_the_first_section_wraps_to_a_non_negative_time(
    t_s: float, delta: int
) -> None:
    """Back from section 0 of the first pass: the target section of pass 0, never t < 0."""
    jumped_s = section_jump_s(LENGTHS, t_s, delta)
    assert 0.0 <= jumped_s < 10.0
    assert section_index_at(LENGTHS, jumped_s) == delta % len(LENGTHS)
    assert jumped_s == section_start_in_pass_s(LENGTHS, 0.0, delta % len(LENGTHS))


def test_jump_zero_goes_to_the_start_of_the_current_section() -> None:
    """delta 0 restarts the section playing at t_s."""
    assert section_jump_s(LENGTHS, 7.0, 0) == 5.0
    assert section_jump_s(LENGTHS, 33.0, 0) == 32.0


def test_jump_lands_where_the_timeline_plays_the_target_section() -> None:
    """Every jump lands on a time at which segment_at reports the target section at phase 0."""
    for t_s in (0.0, 0.5, 2.0, 4.0, 5.0, 9.75, 10.0, 27.0):
        start = section_index_at(LENGTHS, t_s)
        for delta in range(-5, 6):
            jumped_s = section_jump_s(LENGTHS, t_s, delta)
            index, phase = segment_at(LENGTHS, jumped_s, loop=True)
            assert index == (start + delta) % len(LENGTHS), (t_s, delta)
            assert phase == 0.0
            assert jumped_s >= 0.0


ZERO_MIDDLE = [2.0, 0.0, 3.0]  # section 1 takes no time: segment_at never reports it


def test_zero_length_sections_are_never_playing() -> None:
    """segment_at (and section_index_at) skip a zero-length section: its border is the next's."""
    assert section_index_at(ZERO_MIDDLE, 2.0) == 2
    assert section_index_at(ZERO_MIDDLE, 1.99) == 0
    assert section_index_at([0.0, 2.0, 3.0], 0.0) == 1
    assert section_index_at([0.0, 2.0, 3.0], 5.0) == 1


def test_jump_forward_over_a_zero_length_section_lands_on_the_next_playing_one() -> None:
    """Forward one place from section 0 plays section 2 (section 1 is skipped)."""
    jumped_s = section_jump_s(ZERO_MIDDLE, 1.0, 1)
    assert jumped_s == 2.0
    assert section_index_at(ZERO_MIDDLE, jumped_s) == 2


def test_every_jump_over_zero_length_sections_moves_to_another_playing_section() -> None:
    """Skipping as segment_at does: +-1 always changes the playing section, +-2 goes two on."""
    assert section_jump_s(ZERO_MIDDLE, 3.0, -1) == 0.0  # section 2 -> section 0
    assert section_jump_s(ZERO_MIDDLE, 1.0, 2) == 5.0  # section 0 -> 2 -> next pass's 0
    assert section_jump_s([2.0, 3.0, 0.0], 1.0, -1) == 2.0  # wraps back to section 1, not 0


@pytest.mark.parametrize(
    ("t_s", "index", "expected_s"),
    [
        (0.0, 0, 0.0),
        (1.0, 2, 5.0),  # pass 0
        (9.75, 1, 2.0),
        (30.0, 0, 30.0),  # pass 3, on its first border
        (33.0, 1, 32.0),  # pass 3
        (39.5, 2, 35.0),
    ],
)
def test_section_start_in_pass(t_s: float, index: int, expected_s: float) -> None:
    """Start of section `index` in the pass playing at t_s (not necessarily the current one)."""
    assert section_start_in_pass_s(LENGTHS, t_s, index) == expected_s


def test_section_start_in_pass_before_time_zero_is_in_pass_zero() -> None:
    """Negative show times count as pass 0 (a start never goes negative)."""
    assert section_start_in_pass_s(LENGTHS, -4.0, 1) == 2.0


class StandIn:
    """A stand-in timeline: a show with a reload setting, section lengths and a labelled .at."""

    def __init__(self, name: str, lengths_s: list[float], when: str, crossfade_s: float) -> None:
        self.name = name
        self.lengths_s = lengths_s
        reload = SimpleNamespace(when=when, crossfade_s=crossfade_s)
        self.show = SimpleNamespace(settings=SimpleNamespace(reload=reload))

    def at(self, t_s: float, live: Mapping[str, float] | None = None) -> tuple[str, float]:
        """(name, own time): enough to tell which timeline answered."""
        return self.name, t_s


def test_switching_timeline_active_is_the_first_until_a_switch() -> None:
    """Without a scheduled switch, every time belongs to the first timeline from 0."""
    old = StandIn("old", [4.0, 6.0], "now", 0.0)
    switching = SwitchingTimeline(old)  # type: ignore[arg-type]
    for t_s in (0.0, 5.0, 123.0):
        assert switching.active(t_s) == (0.0, old)


def test_switching_timeline_active_before_and_after_a_section_end_switch() -> None:
    """Switch at the old show's next boundary (10 s): old before it, new from it on."""
    old = StandIn("old", [4.0, 6.0], "now", 0.0)
    new = StandIn("new", [5.0], "section_end", 1.0)
    switching = SwitchingTimeline(old)  # type: ignore[arg-type]
    assert switching.schedule(new, new.show, 5.0) == 10.0  # type: ignore[arg-type]
    for t_s in (0.0, 5.0, 9.99):
        assert switching.active(t_s) == (0.0, old)
    for t_s in (10.0, 10.5, 11.0, 100.0):  # during the fade too: its time is t - 10
        assert switching.active(t_s) == (10.0, new)


def test_switching_timeline_active_with_two_chained_switches() -> None:
    """A second switch during the first one's fade: each time picks the latest started segment."""
    old = StandIn("old", [4.0, 6.0], "now", 0.0)
    new = StandIn("new", [5.0], "now", 1.0)
    newer = StandIn("newer", [3.0], "now", 0.0)
    switching = SwitchingTimeline(old)  # type: ignore[arg-type]
    switching.schedule(new, new.show, 2.0)  # type: ignore[arg-type]
    switching.schedule(newer, newer.show, 2.5)  # type: ignore[arg-type]
    assert switching.active(1.5) == (0.0, old)
    assert switching.active(2.0) == (2.0, new)
    assert switching.active(2.25) == (2.0, new)
    assert switching.active(2.5) == (2.5, newer)
    assert switching.active(50.0) == (2.5, newer)


def test_switching_timeline_active_after_a_finished_switch_is_superseded() -> None:
    """A switch after the previous fade is over: from the request time on, the newest plays."""
    old = StandIn("old", [4.0, 6.0], "now", 0.0)
    new = StandIn("new", [5.0], "now", 1.0)
    newer = StandIn("newer", [3.0], "section_end", 0.0)
    switching = SwitchingTimeline(old)  # type: ignore[arg-type]
    switching.schedule(new, new.show, 2.0)  # type: ignore[arg-type]
    assert switching.schedule(newer, newer.show, 6.0) == 7.0  # type: ignore[arg-type]
    assert switching.active(6.0) == (2.0, new)
    assert switching.active(6.99) == (2.0, new)
    assert switching.active(7.0) == (7.0, newer)


def test_plain_timeline_active_is_itself_from_time_zero(tmp_path: Path) -> None:
    """Timeline.active answers (0.0, self) at any time, like a switching one without switches."""
    (tmp_path / "m.pkl").write_bytes(b"")
    text = (
        "models:\n  m: {path: m.pkl}\nsections:\n"
        "  - name: a\n    model: m\n    duration_s: 4\n"
        "    walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}\n"
    )
    show = validate_text(text, tmp_path / "show.yaml")
    timeline = Timeline(show, {"a": FakeLatents(constant_ws(0.0, 1.0))})
    for t_s in (0.0, 3.5, 40.0):
        assert timeline.active(t_s) == (0.0, timeline)
