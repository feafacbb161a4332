"""RenderLoop with a fake clock: slots, lookahead batches, pacing, live input, pause, jumps."""

import math
import queue
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from stub_timeline import stub_params

from installation.render import loop as loop_module
from installation.render.frame import Frame
from installation.render.loop import LoopSettings, RenderLoop, put_newest
from installation.walk.commands import (
    GoToSection,
    HoldSection,
    JumpSection,
    Seek,
    SetPaused,
    TogglePause,
)


class FakeClock:
    """Wall time that only moves when told to."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


class FakeTimeline:
    """Two sections of 2 s and 3 s, looping; active() as a plain Timeline answers it."""

    def __init__(self) -> None:
        self.lengths_s = [2.0, 3.0]
        self.show = SimpleNamespace(sections=[SimpleNamespace(name="a"), SimpleNamespace(name="b")])

    def active(self, t_s: float):
        return 0.0, self

    def at(self, t_s: float, live=None):
        return stub_params(t_s)


class CostRenderer:
    """Advances the fake clock by a per-pass cost: `fixed_s + per_frame_s * n` per batch."""

    def __init__(self, clock: FakeClock, fixed_s: float, per_frame_s: float) -> None:
        self.clock, self.fixed_s, self.per_frame_s = clock, fixed_s, per_frame_s
        self.timeline = FakeTimeline()
        self.passes: list[list[float]] = []
        self.ready_wall_s: dict[int, float] = {}
        self.fail_next = 0

    def render_batch(self, slots, params=None, epoch=0):
        cost_s = self.fixed_s + self.per_frame_s * len(slots)
        self.clock.now_s += cost_s
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("boom")
        self.passes.append([t for _, t in slots])
        pixels = np.zeros((2, 2, 3), np.uint8)
        frames = []
        for index, t_s in slots:
            self.ready_wall_s[index] = self.clock.now_s
            frames.append(Frame(pixels, index, t_s, cost_s * 1000 / len(slots), epoch=epoch))
        return frames


def make_loop(fixed_s, per_frame_s, **settings):
    clock = FakeClock()
    renderer = CostRenderer(clock, fixed_s, per_frame_s)
    frames: queue.Queue[Frame] = queue.Queue(maxsize=1000)
    commands: queue.SimpleQueue = queue.SimpleQueue()
    loop = RenderLoop(renderer, frames, commands, LoopSettings(**settings), clock)
    loop._start(threading.Event())
    return loop, renderer, clock, frames, commands


def run_for(loop, clock, seconds_s: float, oversleep_s: float = 0.0) -> None:
    """Step the loop for `seconds_s` of fake wall time, sleeping as it asks (plus oversleep_s)."""
    end_s = clock.now_s + seconds_s
    while clock.now_s < end_s:
        wait_s = loop.step()
        if wait_s > 0:
            clock.now_s += wait_s + oversleep_s


def drain(frames: queue.Queue) -> list[Frame]:
    out = []
    while not frames.empty():
        out.append(frames.get_nowait())
    return out


def test_first_frame_starts_the_clock_at_the_start_time():
    loop, renderer, clock, frames, _ = make_loop(0.5, 0.0, fps=30.0, start_s=12.0)
    assert loop.clock.show_time_s(clock.now_s) == 12.0  # warm-up does not make frame 0 late
    assert drain(frames)[0].show_time_s == 12.0
    assert loop.cost_s == {}  # the warm-up pass is not an estimate


def test_fast_generation_renders_every_slot_on_time_without_running_ahead():
    loop, renderer, clock, frames, _ = make_loop(0.0, 0.005, fps=30.0)
    run_for(loop, clock, 2.0)
    times = [f.show_time_s for f in drain(frames)]
    np.testing.assert_allclose(np.diff(times), 1 / 30, atol=1e-9)  # every display slot, no drift
    assert max(len(p) for p in renderer.passes) == 1  # keeping up: no lookahead needed
    for index, ready_s in renderer.ready_wall_s.items():
        if index < 2:
            continue  # frame 1 is the first measured pass: no cost estimate yet, it may be late
        due_s = loop.clock.wall_time_s(times[index])
        assert ready_s <= due_s + 1e-9  # never late
        assert due_s - ready_s < 0.02  # never far ahead of the show clock


@pytest.mark.parametrize("is_blending", [False, True])
def test_waking_a_little_late_still_renders_every_slot(is_blending):
    # sleeps overshoot by 1.5 ms (an OS timer); frames cost 27 ms of a 33 ms slot
    loop, renderer, clock, frames, _ = make_loop(0.0, 0.027, fps=30.0, max_batch=1,
                                                 is_blending=is_blending)  # fmt: skip
    run_for(loop, clock, 3.0, oversleep_s=0.0015)
    times = [f.show_time_s for f in drain(frames)][2:]
    np.testing.assert_allclose(np.diff(times), 1 / 30, atol=1e-6)  # no slot skipped


def test_slow_generation_batches_ahead_and_gains_throughput():
    # a pass costs 40 ms + 12 ms per frame: one frame 52 ms, eight frames 17 ms each
    single, _, single_clock, single_frames, _ = make_loop(0.04, 0.012, fps=30.0, max_batch=1)
    run_for(single, single_clock, 5.0)
    batched, renderer, clock, frames, _ = make_loop(0.04, 0.012, fps=30.0, max_batch=8,
                                                   latency_budget_s=0.3)  # fmt: skip
    run_for(batched, clock, 5.0)
    n_single, n_batched = len(drain(single_frames)), len(out := drain(frames))
    assert n_batched > 1.5 * n_single
    assert max(len(p) for p in renderer.passes) > 1
    # every frame after the warm-up is ready before its show time and on the display slot grid
    for frame in out[2:]:
        assert renderer.ready_wall_s[frame.index] <= batched.clock.wall_time_s(frame.show_time_s)
        slot = frame.show_time_s * 30
        assert abs(slot - round(slot)) < 1e-6


def test_batches_stay_within_the_latency_budget():
    loop, renderer, clock, _, _ = make_loop(0.04, 0.012, fps=30.0, max_batch=16,
                                            latency_budget_s=0.1)  # fmt: skip
    run_for(loop, clock, 5.0)
    assert max(len(p) for p in renderer.passes) * 0.012 + 0.04 <= 0.1 + 0.04  # est. per pass


def test_live_input_shortens_batches_to_one_frame():
    loop, renderer, clock, frames, commands = make_loop(0.04, 0.012, fps=30.0, max_batch=8)
    run_for(loop, clock, 3.0)
    assert len(renderer.passes[-1]) > 1
    commands.put(SetPaused(False))  # any command counts as live input
    renderer.passes.clear()
    run_for(loop, clock, loop_module.LIVE_HOLD_S - 0.5)
    assert {len(p) for p in renderer.passes} == {1}


def test_pause_freezes_the_clock_and_renders_one_still():
    loop, renderer, clock, frames, commands = make_loop(0.0, 0.005, fps=30.0)
    run_for(loop, clock, 1.0)
    drain(frames)
    commands.put(TogglePause())
    loop.step()
    paused_show_s = loop.clock.show_time_s(clock.now_s)
    assert loop.clock.is_paused
    for _ in range(5):
        clock.now_s += loop.step()
    still = drain(frames)
    assert [f.show_time_s for f in still] == [paused_show_s]  # exactly one still
    assert loop.clock.show_time_s(clock.now_s + 10) == paused_show_s
    commands.put(TogglePause())
    run_for(loop, clock, 0.5)
    assert not loop.clock.is_paused and loop.clock.anchor_show_s == paused_show_s  # continuous
    assert loop.clock.show_time_s(clock.now_s) > paused_show_s + 0.45


def test_section_jumps_seek_to_section_starts_in_a_new_epoch():
    loop, renderer, clock, frames, commands = make_loop(0.0, 0.005, fps=30.0)
    run_for(loop, clock, 0.5)  # in section a (0-2 s)
    commands.put(JumpSection(+1))
    loop.step()
    assert loop.clock.epoch == 1
    assert loop.clock.anchor_show_s == pytest.approx(2.0)
    commands.put(JumpSection(+1))  # b -> a of the next pass
    loop.step()
    assert loop.clock.anchor_show_s == pytest.approx(5.0)
    commands.put(JumpSection(-1))  # back to b of the first pass
    loop.step()
    assert loop.clock.anchor_show_s == pytest.approx(2.0)
    commands.put(GoToSection("a"))
    commands.put(Seek(4.25))
    loop.step()
    assert loop.clock.epoch == 5 and loop.clock.anchor_show_s == pytest.approx(4.25)
    drain(frames)
    run_for(loop, clock, 0.2)
    new = drain(frames)
    assert new and all(f.epoch == 5 and f.show_time_s >= 4.25 for f in new)


def test_a_held_section_plays_again_and_again_then_the_show_goes_on_where_it_was():
    loop, renderer, clock, frames, commands = make_loop(0.0, 0.005, fps=30.0)
    run_for(loop, clock, 0.5)  # in section a (0-2 s)
    was_s = loop.clock.show_time_s(clock.now_s)
    commands.put(HoldSection("b"))  # b is 2-5 s
    loop.step()
    assert loop.clock.anchor_show_s == pytest.approx(2.0)
    drain(frames)
    run_for(loop, clock, 7.0)  # more than two plays of b
    held = drain(frames)
    times_s = [f.show_time_s for f in held]
    assert times_s and all(2.0 <= t_s < 5.0 for t_s in times_s)  # never into a of the next pass
    assert max(times_s) > 4.9 and loop.clock.epoch >= 3  # played to its end, started again twice
    commands.put(HoldSection(None))
    loop.step()
    assert loop.player.hold_s is None
    assert loop.clock.anchor_show_s == pytest.approx(was_s, abs=0.01)
    commands.put(HoldSection("nope"))  # no such section: logged, nothing held
    loop.step()
    assert loop.player.hold_s is None


def test_go_to_unknown_section_is_logged_and_ignored(caplog):
    loop, renderer, clock, frames, commands = make_loop(0.0, 0.005, fps=30.0)
    commands.put(GoToSection("nope"))
    commands.put(GoToSection(7))
    loop.step()
    assert loop.clock.epoch == 0
    assert "no such section (have: a, b)" in caplog.text and "out of range 0..1" in caplog.text


def test_failed_pass_is_counted_and_the_loop_goes_on(monkeypatch):
    monkeypatch.setattr(loop_module, "RETRY_DELAY_S", 0.0)
    loop, renderer, clock, frames, _ = make_loop(0.0, 0.005, fps=30.0)
    renderer.fail_next = 2
    run_for(loop, clock, 1.0)
    assert loop.stats.failed == 2 and loop.stats.generated > 20


def test_max_frames_limits_generation():
    loop, renderer, clock, frames, _ = make_loop(0.04, 0.012, fps=30.0, max_frames=7)
    while not loop.is_done:
        clock.now_s += loop.step()
    assert loop.stats.generated == 7 and len(drain(frames)) == 7


def test_put_newest_drops_the_oldest_when_full():
    frames: queue.Queue[Frame] = queue.Queue(maxsize=2)
    made = [Frame(np.zeros((1, 1, 3), np.uint8), i, 0.0, 0.0) for i in range(3)]
    assert not put_newest(frames, made[0]) and not put_newest(frames, made[1])
    assert put_newest(frames, made[2])
    assert [frames.get_nowait().index for _ in range(2)] == [1, 2]


def test_loop_thread_stops_on_event():
    clock = FakeClock()
    renderer = CostRenderer(clock, 0.0, 0.0)
    frames: queue.Queue[Frame] = queue.Queue(maxsize=4)
    loop = RenderLoop(renderer, frames, queue.SimpleQueue(), LoopSettings(fps=30.0), clock)
    stopping = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stopping,))
    thread.start()
    stopping.set()
    thread.join(5)
    assert not thread.is_alive() and math.isfinite(loop.clock.anchor_wall_s)


def test_a_replacement_loop_takes_over_the_clock_and_the_live_overrides():
    loop, renderer, clock, frames, commands = make_loop(0.0, 0.005, fps=30.0)
    loop.player.noise_mode, loop.player.mixing = "random", ("ws", 4, None)
    run_for(loop, clock, 0.5)
    fresh = CostRenderer(clock, 0.0, 0.005)
    new = RenderLoop(fresh, frames, commands, LoopSettings(fps=30.0), clock, resume_from=loop)
    assert (new.player.noise_mode, new.player.mixing) == ("random", ("ws", 4, None))
    assert new.stats is loop.stats and new.next_index == loop.next_index
