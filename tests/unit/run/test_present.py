"""The main thread's own bookkeeping: --duration counts show time played, not the position."""

from installation.display.presenter import NEXT_SECTION, PAUSE, QUIT, TOGGLE_OVERLAY
from installation.run.present import handle_events
from installation.run.present_state import PresentState
from installation.walk.commands import JumpSection, TogglePause


def test_duration_counts_played_time_not_jumps():
    state = PresentState(started_s=0.0)
    for show_s in (0.0, 0.5, 1.0):
        state.count_played(show_s, epoch=0)
    state.count_played(50.0, epoch=1)  # a section jump: not played time
    state.count_played(50.25, epoch=1)
    state.count_played(50.25, epoch=1)  # paused: nothing more
    assert state.played_s == 1.25


def test_keys_become_commands_and_quit_ends():
    import queue

    commands: queue.SimpleQueue = queue.SimpleQueue()
    state = PresentState(started_s=0.0)
    assert handle_events([PAUSE, NEXT_SECTION, TOGGLE_OVERLAY], commands, state)
    assert [commands.get_nowait(), commands.get_nowait()] == [TogglePause(), JumpSection(1)]
    assert state.is_overlay_on
    assert not handle_events([QUIT], commands, state) and state.quit_reason == "quit"
