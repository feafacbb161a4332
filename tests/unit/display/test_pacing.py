"""FramePacer: frames shown on time, never ahead of the show clock; skips, late, stale, blending.

The pacer never reads a clock, so every test drives it with plain numbers as a fake display clock.
Times are chosen exactly representable (or computed as k / rate) so comparisons are exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from installation.display.pacing import MAX_BLEND_GAP_S, MAX_PENDING, FramePacer, Pick
from installation.render.frame import Frame

PIXELS = np.zeros((2, 2, 3), np.uint8)
PERIOD_S = 1.0 / 60.0


def frame(index: int, show_time_s: float, epoch: int = 0) -> Frame:
    """A tiny packed frame numbered `index` for show time `show_time_s`."""
    return Frame(PIXELS, index, show_time_s, 1.0, epoch=epoch)


def shown(pick: Pick | None) -> int | None:
    """The index of the frame a pick puts on screen (None before the first)."""
    return None if pick is None else pick.frame.index


def test_no_frame_is_shown_before_its_show_time() -> None:
    """Nothing at all until the first frame is due; a later frame waits for its own time."""
    pacer = FramePacer()
    pacer.add(frame(0, 1.0))
    pacer.add(frame(1, 2.0))
    assert pacer.pick(0.0, 0, PERIOD_S) is None
    assert pacer.pick(0.9990234375, 0, PERIOD_S) is None
    assert pacer.counters.shown == 0
    assert shown(pacer.pick(1.0, 0, PERIOD_S)) == 0
    assert shown(pacer.pick(1.5, 0, PERIOD_S)) == 0
    assert shown(pacer.pick(1.9990234375, 0, PERIOD_S)) == 0
    assert len(pacer.pending) == 1


def test_each_frame_is_shown_once_its_time_comes() -> None:
    """Ticking exactly on each frame's time shows it then, counted once, held across ticks."""
    pacer = FramePacer()
    for index in range(4):
        pacer.add(frame(index, index * 0.25))
    assert shown(pacer.pick(0.0, 0, PERIOD_S)) == 0
    assert shown(pacer.pick(0.125, 0, PERIOD_S)) == 0
    assert shown(pacer.pick(0.25, 0, PERIOD_S)) == 1
    assert shown(pacer.pick(0.5, 0, PERIOD_S)) == 2
    assert shown(pacer.pick(0.75, 0, PERIOD_S)) == 3
    assert shown(pacer.pick(10.0, 0, PERIOD_S)) == 3  # nothing new: the last image stays
    assert pacer.counters.shown == 4
    assert pacer.counters.skipped == 0


def test_when_several_are_due_the_newest_is_shown_and_the_rest_skipped() -> None:
    """Three frames due at one tick: the latest goes on screen, the two before it are skipped."""
    pacer = FramePacer()
    for index, time_s in enumerate((0.0, 0.125, 0.25, 0.5)):
        pacer.add(frame(index, time_s))
    assert shown(pacer.pick(0.375, 0, PERIOD_S)) == 2
    assert pacer.counters.shown == 1
    assert pacer.counters.skipped == 2
    assert [f.index for f in pacer.pending] == [3]


@pytest.mark.parametrize(
    ("tick_s", "is_late"),
    [(1.0, False), (1.125, False), (1.25, False), (1.25 + 2.0**-20, True), (3.0, True)],
)
def test_late_only_when_shown_more_than_one_period_after_its_time(
    tick_s: float, is_late: bool
) -> None:
    """Period 0.25 s: shown up to exactly one period after its time is on time, later is late."""
    pacer = FramePacer()
    pacer.add(frame(0, 1.0))
    assert shown(pacer.pick(tick_s, 0, 0.25)) == 0
    assert pacer.counters.late == int(is_late)


def test_skipped_frames_are_not_counted_late() -> None:
    """Late counts frames put on screen, not the ones skipped over."""
    pacer = FramePacer()
    for index in range(3):
        pacer.add(frame(index, index * 0.25))
    pacer.pick(0.5, 0, 0.25)
    assert (pacer.counters.shown, pacer.counters.skipped, pacer.counters.late) == (1, 2, 0)


def test_60hz_display_of_24fps_frames_shows_each_once_without_drift_over_10_minutes() -> None:
    """Ten minutes of show time: 36 000 ticks at 60 Hz, 14 400 frames at 24 fps, fed ahead.

    At tick k (k / 60 s) the screen shows the latest frame i with i / 24 <= k / 60, i.e.
    i = floor(2 k / 5) in exact integers: every frame exactly once, none late, none skipped.
    """
    n_frames, n_ticks, lookahead = 24 * 600, 60 * 600, 6
    pacer = FramePacer()
    next_index = 0
    seen: list[int] = []
    for k in range(n_ticks):
        tick_s = k / 60
        while next_index < n_frames and next_index < (2 * k) // 5 + 1 + lookahead:
            pacer.add(frame(next_index, next_index / 24))
            next_index += 1
        pick = pacer.pick(tick_s, 0, PERIOD_S)
        assert pick is not None
        assert pick.frame.index == (2 * k) // 5, f"tick {k}"
        assert pick.frame.show_time_s <= tick_s
        if not seen or seen[-1] != pick.frame.index:
            seen.append(pick.frame.index)
    assert seen == list(range(n_frames))
    counters = pacer.counters
    assert counters.shown == n_frames
    assert (counters.late, counters.skipped, counters.stale, counters.overflow) == (0, 0, 0, 0)


def test_frames_arriving_out_of_order_are_sorted_by_show_time() -> None:
    """Pending frames are kept in show-time order whatever the arrival order."""
    pacer = FramePacer()
    for index, time_s in ((2, 0.5), (0, 0.0), (3, 0.75), (1, 0.25)):
        pacer.add(frame(index, time_s))
    assert [f.index for f in pacer.pending] == [0, 1, 2, 3]
    assert shown(pacer.pick(0.25, 0, 0.5)) == 1
    assert shown(pacer.pick(0.5, 0, 0.5)) == 2
    assert pacer.counters.skipped == 1


def test_seek_drops_pending_old_epoch_frames_and_keeps_the_last_image() -> None:
    """After a seek (epoch 0 -> 1) pending frames are stale; the screen keeps the last image."""
    pacer = FramePacer()
    for index in range(4):
        pacer.add(frame(index, index * 0.25))
    assert shown(pacer.pick(0.0, 0, PERIOD_S)) == 0
    pick = pacer.pick(40.0, 1, PERIOD_S)  # the clock jumped to 40 s in epoch 1
    assert shown(pick) == 0
    assert pick is not None and pick.blend_with is None
    assert pacer.counters.stale == 3
    assert len(pacer.pending) == 0
    assert pacer.counters.shown == 1


def test_late_old_epoch_arrivals_are_dropped_and_counted() -> None:
    """Old-epoch frames arriving after a seek never reach the screen, before or after a new one."""
    pacer = FramePacer()
    pacer.add(frame(0, 0.0))
    pacer.pick(0.0, 0, PERIOD_S)
    pacer.add(frame(1, 0.25))  # rendered before the seek, arrives after it
    assert shown(pacer.pick(40.0, 1, PERIOD_S)) == 0
    assert pacer.counters.stale == 1
    pacer.add(frame(10, 40.25, epoch=1))
    assert shown(pacer.pick(40.125, 1, PERIOD_S)) == 0  # not ahead of the clock either
    assert shown(pacer.pick(40.25, 1, PERIOD_S)) == 10
    pacer.add(frame(2, 40.5))  # epoch 0 again, with a time that would otherwise be due
    assert pacer.counters.stale == 2
    assert shown(pacer.pick(41.0, 1, PERIOD_S)) == 10
    assert pacer.counters.shown == 2


def test_new_epoch_frames_replace_the_old_image_after_a_backward_seek() -> None:
    """A seek back in show time: the new epoch's frame is shown at its (earlier) time."""
    pacer = FramePacer()
    pacer.add(frame(0, 100.0))
    pacer.pick(100.0, 0, PERIOD_S)
    pacer.add(frame(1, 5.0, epoch=1))
    assert shown(pacer.pick(4.5, 1, PERIOD_S)) == 0
    assert shown(pacer.pick(5.0, 1, PERIOD_S)) == 1
    assert pacer.counters.stale == 0


def test_blend_mix_goes_linearly_from_0_to_1_between_two_frames() -> None:
    """With blending on, the current frame mixes towards the next by (t - t0) / (t1 - t0)."""
    pacer = FramePacer(is_blending=True)
    pacer.add(frame(0, 1.0))
    pacer.add(frame(1, 1.5))
    at_start = pacer.pick(1.0, 0, PERIOD_S)
    assert at_start == Pick(at_start.frame) and shown(at_start) == 0  # mix 0: no partner
    for tick_s, mix in ((1.125, 0.25), (1.25, 0.5), (1.375, 0.75), (1.5 - 2.0**-20, 1 - 2.0**-19)):
        pick = pacer.pick(tick_s, 0, PERIOD_S)
        assert pick is not None and shown(pick) == 0
        assert pick.blend_with is not None and pick.blend_with.index == 1
        assert pick.mix == pytest.approx(mix, abs=1e-12)
    at_end = pacer.pick(1.5, 0, PERIOD_S)
    assert shown(at_end) == 1 and at_end is not None and at_end.blend_with is None
    assert pacer.counters.shown == 2


def test_no_blend_when_blending_is_off() -> None:
    """is_blending False: the current frame alone, even halfway to the next one."""
    pacer = FramePacer(is_blending=False)
    pacer.add(frame(0, 1.0))
    pacer.add(frame(1, 1.5))
    pacer.pick(1.0, 0, PERIOD_S)
    assert pacer.pick(1.25, 0, PERIOD_S) == Pick(pacer.current)  # type: ignore[arg-type]


def test_no_blend_across_epochs() -> None:
    """The next pending frame belongs to a newer epoch: no blend towards it."""
    pacer = FramePacer(is_blending=True)
    pacer.add(frame(0, 1.0))
    pacer.add(frame(1, 1.5, epoch=1))
    assert shown(pacer.pick(1.0, 0, PERIOD_S)) == 0
    pick = pacer.pick(1.25, 0, PERIOD_S)
    assert pick is not None and pick.blend_with is None and pick.mix == 0.0


@pytest.mark.parametrize(
    ("gap_s", "is_blended"),
    [(MAX_BLEND_GAP_S, True), (MAX_BLEND_GAP_S + 0.5, False), (10.0, False)],
)
def test_no_blend_across_gaps_longer_than_max_blend_gap(gap_s: float, is_blended: bool) -> None:
    """A stall longer than MAX_BLEND_GAP_S is not crawled across; up to it, it is blended."""
    pacer = FramePacer(is_blending=True)
    pacer.add(frame(0, 1.0))
    pacer.add(frame(1, 1.0 + gap_s))
    pacer.pick(1.0, 0, PERIOD_S)
    pick = pacer.pick(1.0 + gap_s / 2, 0, PERIOD_S)
    assert pick is not None and shown(pick) == 0
    assert (pick.blend_with is not None) == is_blended
    assert pick.mix == (0.5 if is_blended else 0.0)


def test_no_blend_while_the_old_image_stays_after_a_seek() -> None:
    """After a seek the held old-epoch image is shown alone, not blended into new frames."""
    pacer = FramePacer(is_blending=True)
    pacer.add(frame(0, 1.0))
    pacer.pick(1.0, 0, PERIOD_S)
    pacer.add(frame(1, 1.5, epoch=1))
    pick = pacer.pick(1.25, 1, PERIOD_S)
    assert pick is not None and shown(pick) == 0 and pick.blend_with is None


def test_overflow_drops_the_oldest_pending_frames_and_counts_them() -> None:
    """Beyond MAX_PENDING frames, the oldest are dropped and counted as overflow."""
    pacer = FramePacer()
    extra = 3
    for index in range(MAX_PENDING + extra):
        pacer.add(frame(index, 1.0 + index / 64))
    assert len(pacer.pending) == MAX_PENDING
    assert pacer.counters.overflow == extra
    assert [f.index for f in pacer.pending] == list(range(extra, MAX_PENDING + extra))
    assert shown(pacer.pick(1.0 + extra / 64, 0, PERIOD_S)) == extra
    assert pacer.counters.skipped == 0
