"""CommandQueue: values merge to the latest per parameter, expensive commands are throttled, the
queue stays bounded, and a render loop's drain ends while a storm keeps putting."""

import queue
import threading
import time
from types import SimpleNamespace

import pytest

from installation.control.mailbox import SHOW_CHANGE_INTERVAL_S, CommandQueue, merge_key
from installation.render.loop import LoopSettings, RenderLoop
from installation.walk.commands import (
    Blackout,
    GlideTo,
    GoToSection,
    HoldSection,
    JumpSection,
    LoadShow,
    ReloadShow,
    Seek,
    SensorInput,
    SetLive,
    SetPaused,
    SetSpeed,
    TogglePause,
)


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 50.0

    def __call__(self) -> float:
        return self.now_s


def take_all(commands: CommandQueue) -> list:
    taken = []
    while True:
        try:
            taken.append(commands.get_nowait())
        except queue.Empty:
            return taken


def test_a_storm_of_values_leaves_one_command_per_parameter_and_the_last_value_wins() -> None:
    commands = CommandQueue()
    for step in range(10_000):
        commands.put(SetLive("psi", step / 10_000))
        commands.put(SetLive("direction/smile", -step))
        commands.put(SensorInput("proximity", (float(step), 1.0)))
        commands.put(SetSpeed(1 + step % 3))
        assert commands.qsize() <= 4
    assert take_all(commands) == [
        SetLive("psi", 0.9999), SetLive("direction/smile", -9999),
        SensorInput("proximity", (9999.0, 1.0)), SetSpeed(1 + 9999 % 3),
    ]  # fmt: skip
    c = commands.counters
    assert (c.put, c.merged, c.taken, c.most_pending) == (40_000, 39_996, 4, 4)


def test_a_merged_command_moves_behind_what_was_sent_before_it() -> None:
    commands = CommandQueue()
    commands.put(SetLive("psi", 0.1))
    commands.put(JumpSection(1))
    commands.put(SetLive("psi", 0.5))  # sent after the jump: applies after it
    assert take_all(commands) == [JumpSection(1), SetLive("psi", 0.5)]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ([JumpSection(1), JumpSection(1), JumpSection(1)], [JumpSection(3)]),
        ([JumpSection(1), JumpSection(-1)], [JumpSection(0)]),  # next, prev: this section's start
        ([JumpSection(1), Seek(90.0)], [Seek(90.0)]),
        ([Seek(90.0), GoToSection("intro")], [GoToSection("intro")]),
        ([TogglePause(), TogglePause()], []),
        ([SetPaused(True), TogglePause()], [SetPaused(False)]),
        ([TogglePause(), SetPaused(True)], [SetPaused(True)]),
        ([ReloadShow()] * 50, [ReloadShow()]),
        ([LoadShow("lobby"), ReloadShow()], [LoadShow("lobby")]),
        ([ReloadShow(), LoadShow("lobby"), LoadShow("hall")], [LoadShow("hall")]),
        ([SetLive("speed", 2.0), SetSpeed(0.5)], [SetSpeed(0.5)]),
        ([Blackout(0.0), Blackout(1.0, 3.0)], [Blackout(1.0, 3.0)]),
        ([GlideTo(seed=1), GlideTo(latent="x")], [GlideTo(latent="x")]),
        ([HoldSection("a"), HoldSection(None)], [HoldSection("a"), HoldSection(None)]),
    ],
)
def test_waiting_commands_merge_into_what_they_do_together(sent, expected) -> None:
    commands = CommandQueue(expensive_interval_s=0.0, show_change_interval_s=0.0)
    for command in sent:
        commands.put(command)
    assert take_all(commands) == expected


def test_jumps_that_add_up_stay_bounded() -> None:
    commands = CommandQueue(expensive_interval_s=0.0)
    for _ in range(5000):
        commands.put(JumpSection(1))
    assert take_all(commands) == [JumpSection(1000)]


def test_distinct_names_beyond_the_cap_are_dropped_and_counted(caplog) -> None:
    commands = CommandQueue(max_pending=8)
    for index in range(100):
        commands.put(SetLive(f"direction/d{index}", 1.0))
    commands.put(SetLive("direction/d0", 2.0))  # merges with a waiting one: never dropped
    assert commands.qsize() == 8
    assert commands.counters.dropped == 92
    assert [r.getMessage() for r in caplog.records].count(
        "command dropped: 8 commands are waiting for the render thread dropped=1"
    ) == 1  # then once a minute  # fmt: skip
    assert take_all(commands)[-1] == SetLive("direction/d0", 2.0)


def test_expensive_commands_go_at_most_once_per_interval_while_cheap_ones_pass() -> None:
    clock = FakeClock()
    commands = CommandQueue(expensive_interval_s=0.5, show_change_interval_s=0.5, clock=clock)
    commands.put(ReloadShow())
    commands.put(JumpSection(1))
    assert take_all(commands) == [ReloadShow(), JumpSection(1)]  # the first of each: at once
    for _ in range(100):  # a burst of reloads and moves meanwhile
        commands.put(ReloadShow())
        commands.put(JumpSection(1))
    commands.put(SetLive("psi", 0.3))
    assert take_all(commands) == [SetLive("psi", 0.3)]  # the expensive ones wait, merged
    assert commands.qsize() == 2
    clock.now_s += 0.49
    assert take_all(commands) == []
    clock.now_s += 0.01
    # one reload for the whole burst, and no jump lost
    assert take_all(commands) == [ReloadShow(), JumpSection(100)]
    commands.put(Seek(3.0))
    assert take_all(commands) == []  # a move went 0 s ago
    clock.now_s += 0.5
    assert take_all(commands) == [Seek(3.0)]
    assert commands.empty()


def test_a_costly_kind_waits_four_times_what_it_cost_and_show_changes_longer() -> None:
    clock = FakeClock()
    commands = CommandQueue(clock=clock)  # the defaults: 0.5 s, a show change 5 s
    commands.put(Seek(1.0))
    assert commands.get_nowait() == Seek(1.0)
    clock.now_s += 0.3  # applying it took the render thread 0.3 s (a slow machine)
    commands.put(Seek(2.0))
    commands.put(SetLive("psi", 1.0))
    assert take_all(commands) == [SetLive("psi", 1.0)]
    clock.now_s += 0.9 - 1e-6  # the next move: 4 x 0.3 s after the last one went
    assert take_all(commands) == []
    clock.now_s += 1e-6
    assert take_all(commands) == [Seek(2.0)]
    commands.put(ReloadShow())
    assert take_all(commands) == [ReloadShow()]
    commands.put(ReloadShow())
    clock.now_s += SHOW_CHANGE_INTERVAL_S - 1e-6
    assert take_all(commands) == []
    clock.now_s += 1e-6
    assert take_all(commands) == [ReloadShow()]


def test_get_waits_for_a_throttled_command_to_come_due() -> None:
    commands = CommandQueue(expensive_interval_s=0.05)
    commands.put(Seek(1.0))
    commands.put(Seek(2.0))
    assert commands.get(timeout=10.0) == Seek(2.0)  # merged, then due at once
    commands.put(Seek(3.0))
    assert commands.get(timeout=10.0) == Seek(3.0)  # due 0.05 s after the previous one
    with pytest.raises(queue.Empty):
        commands.get(timeout=0.01)


def test_a_blocked_get_wakes_for_a_put_from_another_thread() -> None:
    commands = CommandQueue()
    timer = threading.Timer(0.05, commands.put, args=(SetLive("psi", 0.7),))
    timer.start()
    assert commands.get(timeout=10.0) == SetLive("psi", 0.7)
    timer.join()


def test_every_command_kind_has_a_merge_key_but_hold_section() -> None:
    kinds = [SetLive("psi", 1), SensorInput("s", (1.0,)), SetSpeed(1), Blackout(1),
             SetPaused(True), TogglePause(), Seek(1), GoToSection(0), JumpSection(1),
             ReloadShow(), LoadShow("x"), GlideTo(seed=1)]  # fmt: skip
    assert all(merge_key(command) is not None for command in kinds)
    assert merge_key(HoldSection("a")) is None


def test_a_render_loops_drain_ends_while_a_storm_keeps_putting() -> None:
    commands = CommandQueue()
    # before its first frame the loop takes commands and drops them: only the drain is tested
    loop = RenderLoop(SimpleNamespace(timeline=None), queue.Queue(), commands,
                      LoopSettings(fps=30.0), time.monotonic)  # fmt: skip
    stop = threading.Event()

    def storm() -> None:
        value = 0
        while not stop.is_set():
            value += 1
            commands.put(SetLive("psi", value))
            commands.put(SensorInput("proximity", (float(value),)))

    thread = threading.Thread(target=storm)
    thread.start()
    try:
        for _ in range(50):
            before = loop.stats.commands
            loop._drain_commands()  # applies what waited when it began, not what comes meanwhile
            assert loop.stats.commands - before <= 2
    finally:
        stop.set()
        thread.join()
    assert loop.stats.commands > 0
