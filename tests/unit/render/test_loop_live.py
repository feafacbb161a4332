"""RenderLoop live control with a fake clock: SetLive per-slot values, SetSpeed, Blackout."""

import logging
import queue
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from stub_timeline import stub_params

from installation.render.frame import Frame
from installation.render.loop import LoopSettings, RenderLoop
from installation.show.schema import LIVE_DEFAULT_HOLD_S, LIVE_DEFAULT_SLEW_S, LiveParam
from installation.walk.commands import Blackout, SetLive, SetSpeed
from installation.walk.player import SPEED_RANGE

FPS = 30.0
OPEN_START_S, STRICT_START_S = 0.0, 100.0
STRICT_PSI = LiveParam("psi", (0.3, 1.2), slew_s=1.0, hold_s=2.0)
STRICT_SPEED = LiveParam("speed", (0.5, 2.0))


class FakeClock:
    """Wall time that only moves when told to."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


class LiveTimeline:
    """Section 'open' (no live block) 0-100 s, 'strict' (psi and speed listed) 100-200 s.

    Records each frame's live values, with the wall time its pass started."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.records: list[tuple[float, dict, float]] = []  # (show time, live, started wall)
        self.lengths_s = [100.0, 100.0]
        self.show = SimpleNamespace(
            sections=[
                SimpleNamespace(name="open", live=()),
                SimpleNamespace(name="strict", live=(STRICT_PSI, STRICT_SPEED)),
            ]
        )

    def active(self, t_s: float):
        return 0.0, self

    def at(self, t_s: float, live=None):
        assert live is not None
        self.records.append((t_s, dict(live), self.clock.now_s))
        return stub_params(t_s)


class RecordingRenderer:
    """Costs `per_frame_s` of fake wall time per frame; records each slot's live values."""

    def __init__(self, clock: FakeClock, per_frame_s: float) -> None:
        self.clock, self.per_frame_s = clock, per_frame_s
        self.timeline = LiveTimeline(clock)
        self.records = self.timeline.records  # (show time, live, started wall) per frame

    def render_batch(self, slots, params=None, epoch=0):
        assert params is not None and len(params) == len(slots)
        self.clock.now_s += self.per_frame_s * len(slots)
        pixels = np.zeros((2, 2, 3), np.uint8)
        frames = []
        for index, t_s in slots:
            frames.append(Frame(pixels, index, t_s, self.per_frame_s * 1000, epoch=epoch))
        return frames


def make_loop(start_s: float = OPEN_START_S, per_frame_s: float = 0.005, **settings):
    clock = FakeClock()
    renderer = RecordingRenderer(clock, per_frame_s)
    frames: queue.Queue[Frame] = queue.Queue(maxsize=10000)
    commands: queue.SimpleQueue = queue.SimpleQueue()
    loop_settings = LoopSettings(fps=FPS, start_s=start_s, **settings)
    loop = RenderLoop(renderer, frames, commands, loop_settings, clock)
    loop._start(threading.Event())
    return loop, renderer, clock, frames, commands


def run_for(loop, clock, seconds_s: float) -> None:
    """Step the loop for `seconds_s` of fake wall time, sleeping as it asks."""
    end_s = clock.now_s + seconds_s
    while clock.now_s < end_s:
        wait_s = loop.step()
        if wait_s > 0:
            clock.now_s += wait_s


def drain(frames: queue.Queue) -> list[Frame]:
    out = []
    while not frames.empty():
        out.append(frames.get_nowait())
    return out


def ramp(elapsed_s: float, duration_s: float) -> float:
    return min(max(elapsed_s / duration_s, 0.0), 1.0)


def display_wall_s(loop: RenderLoop, show_s: float, started_s: float) -> float:
    """When the frame for show_s is on screen (never before its pass started)."""
    return max(loop.clock.wall_time_s(show_s), started_s)


def test_set_live_values_reach_each_slot_as_at_its_display_time():
    loop, renderer, clock, frames, commands = make_loop()
    run_for(loop, clock, 0.5)
    renderer.records.clear()
    commands.put(SetLive("psi", 0.2))
    sent_wall_s = clock.now_s  # applied at the start of the next step
    run_for(loop, clock, 1.0)
    assert len(renderer.records) >= 25
    weights = []
    for show_s, live, started_s in renderer.records:
        assert set(live) == {"psi"}
        value, weight = live["psi"]
        shown_s = display_wall_s(loop, show_s, started_s)
        assert shown_s > started_s  # rendered ahead of its display time
        assert value == pytest.approx(0.2)
        assert weight == pytest.approx(ramp(shown_s - sent_wall_s, LIVE_DEFAULT_SLEW_S))
        weights.append(weight)
    assert 0.0 < weights[0] < 0.2  # the very next slot already carries it, barely in
    assert all(b > a for a, b in zip(weights, weights[1:], strict=False) if a < 1.0)
    assert any(0.4 < w < 0.6 for w in weights) and weights[-1] == 1.0


def test_live_values_hold_then_give_way_with_the_sections_slew_and_hold():
    loop, renderer, clock, frames, commands = make_loop(start_s=STRICT_START_S)
    run_for(loop, clock, 0.2)
    renderer.records.clear()
    commands.put(SetLive("psi", 5.0))  # the loop sends it raw; the timeline clamps it
    sent_wall_s = clock.now_s
    run_for(loop, clock, STRICT_PSI.slew_s + STRICT_PSI.hold_s + 0.5)
    seen = {"rise": 0, "hold": 0, "fall": 0, "gone": 0}
    for show_s, live, started_s in renderer.records:
        since_s = display_wall_s(loop, show_s, started_s) - sent_wall_s
        if since_s >= STRICT_PSI.hold_s + STRICT_PSI.slew_s:
            assert live == {}
            seen["gone"] += 1
            continue
        value, weight = live["psi"]
        assert value == pytest.approx(5.0)
        if since_s < STRICT_PSI.slew_s:
            assert weight == pytest.approx(since_s / STRICT_PSI.slew_s)
            seen["rise"] += 1
        elif since_s < STRICT_PSI.hold_s:
            assert weight == pytest.approx(1.0)
            seen["hold"] += 1
        else:
            fall = (since_s - STRICT_PSI.hold_s) / STRICT_PSI.slew_s
            assert weight == pytest.approx(1.0 - fall)
            seen["fall"] += 1
    assert all(count > 5 for count in seen.values()), seen


def test_default_hold_applies_without_a_live_block():
    loop, renderer, clock, frames, commands = make_loop()
    commands.put(SetLive("direction/grain", 3.0))  # directions are allowed without a block
    sent_wall_s = clock.now_s
    loop.step()
    assert loop.player.live.tracks["direction/grain"].slew_s == LIVE_DEFAULT_SLEW_S
    assert loop.player.live.tracks["direction/grain"].hold_s == LIVE_DEFAULT_HOLD_S
    assert loop.player.live.at(sent_wall_s + LIVE_DEFAULT_HOLD_S) == {"direction/grain": (3.0, 1.0)}
    assert loop.player.live.at(sent_wall_s + LIVE_DEFAULT_HOLD_S + LIVE_DEFAULT_SLEW_S) == {}


@pytest.mark.parametrize(
    ("start_s", "name"),
    [(STRICT_START_S, "rotate_deg"), (STRICT_START_S, "direction/grain"), (0.0, "nope")],
)
def test_a_name_the_section_does_not_allow_is_logged_once_and_not_sent(caplog, start_s, name):
    caplog.set_level(logging.WARNING, logger="installation.render.loop")
    loop, renderer, clock, frames, commands = make_loop(start_s=start_s)
    run_for(loop, clock, 0.2)
    renderer.records.clear()
    for _ in range(3):
        commands.put(SetLive(name, 10.0))
        run_for(loop, clock, 0.2)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and name in r.message]
    assert len(warnings) == 1
    assert "not steerable" in warnings[0].message
    assert loop.player.live.tracks == {}
    assert renderer.records and all(live == {} for _, live, _ in renderer.records)


def test_set_speed_doubles_show_time_per_wall_second_from_that_moment():
    loop, renderer, clock, frames, commands = make_loop()
    run_for(loop, clock, 1.0)
    before = loop.clock
    drain(frames)
    commands.put(SetSpeed(2.0))
    changed_wall_s = clock.now_s
    changed_show_s = before.show_time_s(changed_wall_s)
    run_for(loop, clock, 1.0)
    after = loop.clock
    assert after.rate == 2.0 and after.epoch == before.epoch  # no seek: frames stay valid
    assert after.show_time_s(changed_wall_s) == pytest.approx(changed_show_s)  # continuous
    for seconds_s in (0.25, 0.5, 3.0):
        assert after.show_time_s(changed_wall_s + seconds_s) == pytest.approx(
            changed_show_s + 2.0 * seconds_s
        )
    new = [f for f in drain(frames) if f.show_time_s > changed_show_s]
    assert len(new) >= 25  # still a frame per display slot, not per show slot
    show_times = [f.show_time_s for f in new]
    wall_times = [after.wall_time_s(t) for t in show_times]
    np.testing.assert_allclose(np.diff(show_times), 2.0 / FPS, atol=1e-9)
    np.testing.assert_allclose(np.diff(wall_times), 1.0 / FPS, atol=1e-9)
    slots = (np.array(wall_times) - loop.grid_wall_s) * FPS
    np.testing.assert_allclose(slots, np.round(slots), atol=1e-6)  # on the display's slot grid


def test_a_speed_change_keeps_frames_on_the_display_slot_grid():
    loop, renderer, clock, frames, commands = make_loop()
    run_for(loop, clock, 1.0)
    before = loop.clock
    old = drain(frames)
    commands.put(SetSpeed(2.0))
    run_for(loop, clock, 0.5)
    after = loop.clock
    wall_times = [before.wall_time_s(f.show_time_s) for f in old[2:]]
    wall_times += [after.wall_time_s(f.show_time_s) for f in drain(frames)]
    np.testing.assert_allclose(np.diff(wall_times), 1.0 / FPS, atol=1e-9)  # no slot skipped
    slots = (np.array(wall_times) - before.anchor_wall_s) * FPS
    np.testing.assert_allclose(slots, np.round(slots), atol=1e-6)


def test_set_speed_is_clamped_to_the_speed_range_without_a_live_block():
    loop, renderer, clock, frames, commands = make_loop()
    for asked, rate in ((50.0, SPEED_RANGE[1]), (0.0, SPEED_RANGE[0]), (-3.0, SPEED_RANGE[0]),
                        (1.5, 1.5), (0.01, SPEED_RANGE[0])):  # fmt: skip
        commands.put(SetSpeed(asked))
        loop.step()
        assert loop.clock.rate == pytest.approx(rate)


def test_set_speed_is_clamped_to_the_sections_speed_range():
    loop, renderer, clock, frames, commands = make_loop(start_s=STRICT_START_S)
    for command, rate in (
        (SetSpeed(5.0), 2.0),
        (SetSpeed(0.1), 0.5),
        (SetSpeed(1.25), 1.25),
        (SetLive("speed", 9.0), 2.0),  # speed through SetLive goes the same way
        (SetLive("speed", 0.75), 0.75),
    ):
        commands.put(command)
        loop.step()
        assert loop.clock.rate == pytest.approx(rate)
    assert loop.player.live.tracks == {}  # speed is the clock's, not a live value


def test_blackout_fades_the_level_and_restores_at_once():
    loop, renderer, clock, frames, commands = make_loop()
    assert loop.fade.level_at(clock.now_s) == 1.0
    commands.put(Blackout(0.0, 2.0))
    started_s = clock.now_s
    loop.step()
    assert loop.fade.level_at(started_s) == pytest.approx(1.0)
    assert loop.fade.level_at(started_s + 1.0) == pytest.approx(0.5)
    assert loop.fade.level_at(started_s + 2.0) == pytest.approx(0.0)
    assert loop.fade.level_at(started_s + 60.0) == pytest.approx(0.0)
    clock.now_s = started_s + 3.0
    commands.put(Blackout(1.0, 0.0))
    loop.step()
    assert loop.fade.level_at(started_s + 3.0) == 1.0
    assert loop.fade.level_at(started_s + 100.0) == 1.0


def test_blackout_mid_fade_starts_from_the_current_level_and_clamps():
    loop, renderer, clock, frames, commands = make_loop()
    commands.put(Blackout(0.0, 2.0))
    started_s = clock.now_s
    loop.step()
    clock.now_s = started_s + 1.0  # halfway down
    commands.put(Blackout(1.0, 2.0))
    loop.step()
    assert loop.fade.level_at(started_s + 1.0) == pytest.approx(0.5)  # no jump
    assert loop.fade.level_at(started_s + 2.0) == pytest.approx(0.75)
    assert loop.fade.level_at(started_s + 3.0) == pytest.approx(1.0)
    for level, expected in ((5.0, 1.0), (-2.0, 0.0)):
        commands.put(Blackout(level, 0.0))
        loop.step()
        assert loop.fade.level_at(clock.now_s) == expected
    commands.put(Blackout(1.0, -1.0))  # a negative fade is immediate
    loop.step()
    assert loop.fade.level_at(clock.now_s) == 1.0
