"""Supervision policy with a fake clock: hang deadline, backoff, degrade ladder, giving up; the
fault-injection SPEC parser and injector; a RenderLoop that is abandoned or carries on a clock."""

import queue
import threading

import numpy as np
import pytest
from stub_timeline import StubTimeline

from installation.faults import (
    Fault,
    FaultInjector,
    FaultyRenderer,
    InjectedFault,
    parse_faults,
)
from installation.render.frame import Frame
from installation.render.loop import LoopSettings, RenderLoop
from installation.run.recovery import (
    Heartbeat,
    RecoveryPlanner,
    RecoveryPolicy,
    RenderChoices,
    degraded,
    ladder,
    thread_stack,
)
from installation.walk.clock import ClockState


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def supervisor(clock: FakeClock, **policy) -> RecoveryPlanner:
    choices = RenderChoices(max_batch=8, precision="fast", kernels="cuda", render_fps=30.0)
    return RecoveryPlanner(RecoveryPolicy(**policy), choices, wall_clock=clock)


def test_hang_deadline_is_the_minimum_or_k_times_the_slowest_pass_and_longer_at_startup():
    policy = RecoveryPolicy(hang_min_s=20, hang_pass_factor=10, startup_allowance_s=300)
    assert policy.hang_deadline_s("pass", 0.5) == 20
    assert policy.hang_deadline_s("pass", 3.0) == 30
    assert policy.hang_deadline_s("first frame", 0.0) == 300
    assert policy.hang_deadline_s("reload", 0.0) == 300
    fixed = RecoveryPolicy.from_settings(hang_timeout_s=2.0, recovery_limit=None)
    assert fixed.hang_deadline_s("pass", 3.0) == 2.0  # --hang-timeout is the deadline itself


def test_a_silent_thread_is_a_hang_only_after_its_deadline():
    clock = FakeClock()
    sup = supervisor(clock, hang_min_s=20)
    beat = Heartbeat(0, wall_clock=clock)
    beat.pass_done(0.1)
    clock.now_s += 19.9
    assert sup.failure(beat, is_alive=True) is None
    clock.now_s += 0.2
    reason = sup.failure(beat, is_alive=True)
    assert reason is not None and reason.startswith("hang") and "during wait" in reason
    assert sup.failure(beat, is_alive=False) is None  # an ended thread is not hung


def test_the_first_frame_has_the_startup_allowance():
    clock = FakeClock()
    sup = supervisor(clock, hang_min_s=20, startup_allowance_s=300)
    beat = Heartbeat(0, wall_clock=clock)
    beat.beat("first frame")
    clock.now_s += 250
    assert sup.failure(beat, is_alive=True) is None
    clock.now_s += 51
    assert sup.failure(beat, is_alive=True) is not None


def test_failed_passes_in_a_row_and_a_crash_call_for_recovery():
    clock = FakeClock()
    sup = supervisor(clock, failed_passes_limit=3)
    beat = Heartbeat(0, wall_clock=clock)
    for _ in range(2):
        beat.pass_failed(RuntimeError("boom"))
    assert sup.failure(beat, is_alive=True) is None
    beat.pass_done(0.1)  # a good pass resets the count
    for _ in range(3):
        beat.pass_failed(RuntimeError("boom"))
    assert sup.failure(beat, is_alive=True) == "3 failed passes in a row"
    assert "RuntimeError: boom" in beat.last_error
    crashed = Heartbeat(1, wall_clock=clock)
    crashed.crashed(ValueError("bug"))
    assert sup.failure(crashed, is_alive=False) == "render thread crashed"


def test_backoff_doubles_to_its_maximum_and_restarts_after_a_healthy_period():
    policy = RecoveryPolicy(backoff_first_s=1, backoff_max_s=60)
    assert [policy.backoff_s(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    clock = FakeClock()
    sup = supervisor(clock, healthy_reset_s=600, recovery_limit=100, degrade_after=100)
    delays = []
    for _ in range(3):
        delays.append(sup.recover("x").delay_s)
        clock.now_s += 30
    clock.now_s += 600  # healthy for 10 minutes
    delays.append(sup.recover("x").delay_s)
    assert delays == [1, 2, 4, 1]


def test_degrade_ladder_steps_once_each_after_repeated_recoveries():
    clock = FakeClock()
    sup = supervisor(clock, degrade_after=2, recovery_limit=100)
    steps = [sup.recover(f"r{n}").degrade for n in range(8)]
    assert steps[:2] == [None, None]
    assert steps[2:6] == ["batch 8 -> 1", "precision fast -> exact", "kernels cuda -> reference",
                          "render fps 30 -> 15"]  # fmt: skip
    assert steps[6:] == [None, None]  # each step once; then plain restarts
    assert sup.choices.max_batch == 1 and sup.choices.kernels == "reference"
    assert sup.degrade_level == sum(step is not None for step in steps)
    summary = sup.summary()
    assert summary["recoveries"] == 8 and summary["supervision"] == "recovering"
    sup.running()
    assert sup.summary()["supervision"] == "degraded"
    assert summary["last_recovery_reason"] == "r7"


def test_cpu_ladder_has_no_kernels_step_and_stops_at_the_lowest_fps():
    cpu = RenderChoices(max_batch=1, precision="exact", kernels="torch", render_fps=8.0)
    assert ladder(cpu) == ["precision"]  # batch already 1; 8 / 2 < 5 fps
    assert ladder(cpu, taken={"precision"}) == []
    assert degraded(cpu, "precision")[0].precision == "fast"
    with pytest.raises(ValueError, match="unknown degrade step"):
        degraded(cpu, "resolution")


def test_too_many_recoveries_within_the_window_say_exit():
    clock = FakeClock()
    sup = supervisor(clock, recovery_limit=3, recovery_window_s=600)
    assert not sup.recover("a").is_exit
    clock.now_s += 700  # the first falls out of the window
    assert not sup.recover("b").is_exit
    assert not sup.recover("c").is_exit
    assert sup.recover("d").is_exit


def test_thread_stack_shows_where_a_thread_waits():
    release = threading.Event()

    def stuck_in_here() -> None:
        release.wait(10)

    thread = threading.Thread(target=stuck_in_here)
    thread.start()
    try:
        assert "stuck_in_here" in thread_stack(thread.ident)
    finally:
        release.set()
        thread.join()
    assert thread_stack(thread.ident) == "(the thread has ended)"


def test_parse_faults_reads_times_lengths_and_periods():
    assert parse_faults("raise@10, hang@30:25,oom@50:2,raise/every=60:5,raise@7*3") == [
        Fault("raise", 10.0), Fault("hang", 30.0, 25.0), Fault("oom", 50.0, 2.0),
        Fault("raise", 60.0, 5.0, every_s=60.0), Fault("raise", 7.0, count=3),
    ]  # fmt: skip
    for bad in ("explode@3", "raise", "hang@3", "raise@x", "raise/every=0", "", "raise@1*0",
                "raise@1*2.5"):  # fmt: skip
        with pytest.raises(ValueError, match="fault"):
            parse_faults(bad)


def test_injector_fires_one_pass_faults_once_and_windows_every_pass():
    clock = FakeClock()
    spec = "raise@1,raise@5:2,raise/every=20:1,raise@30*3"
    injector = FaultInjector(parse_faults(spec), wall_clock=clock)
    fired = []
    for step in range(0, 90):  # a pass every 0.5 s for 45 s
        clock.now_s = 100.0 + step * 0.5
        fault = injector.due()
        if fault is not None:
            fired.append(clock.now_s - 100.0)
    assert fired == [1.0, 5.0, 5.5, 6.0, 6.5, 20.0, 20.5, 30.0, 30.5, 31.0, 40.0, 40.5]


class SolidRenderer:
    """Renders solid frames; counts its passes."""

    timeline = None

    def __init__(self) -> None:
        self.passes = 0
        self.noise_mode_override = None

    def render_batch(self, slots, live=None, epoch=0):
        self.passes += 1
        return [Frame(np.zeros((4, 4, 3), np.uint8), i, t_s, gen_ms=1.0, epoch=epoch)
                for i, t_s in slots]  # fmt: skip


class SolidShowRenderer(SolidRenderer):
    """SolidRenderer with a schedule for a RenderLoop to follow."""

    def __init__(self) -> None:
        super().__init__()
        self.timeline = StubTimeline()


def test_faulty_renderer_raises_then_delegates_everything_else():
    clock = FakeClock()
    inner = SolidRenderer()
    faulty = FaultyRenderer(inner, FaultInjector(parse_faults("raise@0"), wall_clock=clock))
    with pytest.raises(InjectedFault):
        faulty.render_batch([(0, 0.0)])
    assert len(faulty.render_batch([(1, 0.1)])) == 1 and inner.passes == 1
    faulty.noise_mode_override = "random"  # the loop sets attributes on the renderer
    assert inner.noise_mode_override == "random" and faulty.timeline is None


def test_an_abandoned_loop_puts_no_frames_and_a_new_one_carries_the_clock_on():
    clock = FakeClock()
    frames: queue.Queue = queue.Queue()
    settings = LoopSettings(fps=10.0, max_batch=1)
    beat = Heartbeat(0, wall_clock=clock)
    old = RenderLoop(SolidShowRenderer(), frames, queue.SimpleQueue(), settings, clock,
                     heartbeat=beat)  # fmt: skip
    old._start(threading.Event())
    assert frames.qsize() == 1 and beat.activity == "wait"
    old.player.clock = ClockState(anchor_wall_s=clock.now_s, anchor_show_s=42.0, epoch=3, rate=2.0)
    beat.is_abandoned = True
    clock.now_s += 1.0
    assert old._render([43.0], epoch=3) == [] and frames.qsize() == 1
    new = RenderLoop(SolidShowRenderer(), frames, queue.SimpleQueue(), settings, clock,
                     heartbeat=Heartbeat(1, wall_clock=clock), resume_from=old)  # fmt: skip
    new._start(threading.Event())
    assert new.clock is not None
    assert new.clock.show_time_s(clock.now_s) == pytest.approx(44.0)  # 42 + 1 s at rate 2
    assert (new.clock.epoch, new.clock.rate) == (3, 2.0)
    assert new.stats is old.stats and new.stats.generated == 2


def test_an_injected_out_of_memory_counts_as_a_failed_pass(caplog):
    import torch

    clock = FakeClock()
    faulty = FaultyRenderer(SolidRenderer(), FaultInjector(parse_faults("oom@0*2"), clock))
    beat = Heartbeat(0, wall_clock=clock)
    for _ in range(2):
        with pytest.raises(torch.cuda.OutOfMemoryError) as caught:
            faulty.render_batch([(0, 0.0)])
        beat.pass_failed(caught.value)  # frees the CUDA cache where there is one; CPU: no-op
    assert beat.failed_in_row == 2 and "OutOfMemoryError" in beat.last_error
    assert len(faulty.render_batch([(1, 0.0)])) == 1  # the burst was 2 passes


def test_present_state_keeps_the_longest_wait_for_a_new_frame_but_not_while_paused():
    from installation.run.present_state import PresentState

    state = PresentState(started_s=0.0)
    for now_s, shown, paused in [(0.0, 1, False), (0.1, 2, False), (1.6, 2, False),
                                 (1.7, 3, False), (2.0, 3, True), (9.0, 3, True),
                                 (9.1, 4, False)]:  # fmt: skip
        state.count_gap(shown, now_s, paused)
    assert state.longest_gap_s == pytest.approx(1.6)  # 0.1 -> 1.7; the pause does not count


def test_isolated_faults_minutes_apart_each_wait_one_second_and_never_degrade():
    clock = FakeClock()
    sup = supervisor(clock, recovery_limit=100)  # the module's own reset period and ladder
    decisions = []
    for _ in range(10):
        decisions.append(sup.recover("x"))
        clock.now_s += 180  # a fault every 3 minutes (the soak's pattern)
    assert [d.delay_s for d in decisions] == [1.0] * 10
    assert all(d.degrade is None for d in decisions) and sup.degrade_level == 0
