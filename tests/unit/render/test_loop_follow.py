"""A followed clock (--sync) is not live input: the loop keeps its lookahead batches."""

from __future__ import annotations

from installation.walk.commands import FollowClock
from tests.unit.render.test_loop import make_loop, run_for


def test_follow_clock_messages_keep_the_lookahead() -> None:
    loop, renderer, clock, _frames, commands = make_loop(0.04, 0.012, fps=30.0, max_batch=8)
    run_for(loop, clock, 3.0)
    assert len(renderer.passes[-1]) > 1
    renderer.passes.clear()
    for _ in range(10):  # five a second, as a leader sends them
        show_s = loop.clock.show_time_s(clock.now_s)
        commands.put(FollowClock(show_s + 0.01, 1.0, False, clock.now_s, session=1))
        run_for(loop, clock, 0.2)
    assert max(len(p) for p in renderer.passes) > 1
    assert loop.player.follow_state is not None and loop.player.follow_state.is_locked
    assert loop.clock.rate != 1.0 or abs(loop.player.follow_state.offset_s) < 0.001
