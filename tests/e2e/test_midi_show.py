"""MIDI steering a running headless show over real MIDI ports (issue 16, MIDI).

A dummy JACK server (tests/jack_server.py) carries the ports: no sound card, no ALSA sequencer.
The show plays in-process (render thread + offscreen EGL presenter) with the MIDI input that
app.start_midi starts from the show's `<stem>.midi.yaml`; the presenter sends CCs and notes from
a virtual output port while frames are shown, and the frames that follow are checked.
"""

from __future__ import annotations

import itertools
import queue
import time

import numpy as np
from jack_server import jack  # noqa: F401  (fixture)
from two_section_show import renderer_for, write_show

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.settings import AppSettings
from installation.walk.commands import MidiLearn

MAPPING = """\
controls:
  - cc: 7
    target: psi
    output: [0, 1]
  - note: 60
    send: /show/next
"""


class MidiPresenter(OffscreenPresenter):
    """A real offscreen presenter that sends MIDI messages once N frames were shown."""

    def __init__(self, port, script: dict[int, list], stop_at: int):
        super().__init__()
        self.port, self.script, self.stop_at = port, dict(script), stop_at
        self.frames: list = []
        self.sent_at: dict[int, int] = {}  # frame count -> messages sent then

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        self.frames.append(frame)

    def poll(self) -> list[str]:
        for message in self.script.pop(len(self.frames), []):
            if callable(message):
                message()
            else:
                self.port.send(message)
            self.sent_at[len(self.frames)] = self.sent_at.get(len(self.frames), 0) + 1
        time.sleep(0.01)  # the midi thread gets its turn between frames
        return ["quit"] if len(self.frames) >= self.stop_at else []


def same(a, b) -> bool:
    return np.array_equal(np.asarray(a.pixels), np.asarray(b.pixels))


def moving(frames: list) -> bool:
    """Every frame differs from the one before."""
    return not any(same(a, b) for a, b in itertools.pairwise(frames))


def test_midi_ccs_and_notes_steer_a_running_show(jack, tmp_path):  # noqa: F811
    import mido

    show_path = write_show(tmp_path)
    (tmp_path / "show.midi.yaml").write_text(MAPPING, encoding="utf-8")
    out = mido.Backend("mido.backends.rtmidi/UNIX_JACK").open_output("lw-desk", virtual=True)
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, midi_in="auto", midi_api="jack")  # fmt: skip
    commands: queue.SimpleQueue = queue.SimpleQueue()
    router = app.command_router(commands)  # type: ignore[arg-type]
    board = app.StatusBoard()
    midi = app.start_midi(settings, router, board)
    assert midi is not None
    deadline = time.monotonic() + 10
    while midi.port_name is None:
        assert time.monotonic() < deadline, "the MIDI input did not open the port"
        time.sleep(0.02)
    learn = lambda: router.put(MidiLearn("psi"))  # noqa: E731
    cc = lambda number, value: mido.Message("control_change", control=number, value=value)  # noqa: E731
    script = {
        6: [cc(7, 0)],  # psi 0: the average image
        16: [learn, cc(21, 127)],  # learn psi: cc 21 is bound (this message sends nothing)
        18: [cc(21, 127)],  # soft takeover: psi is 0, the knob at 1: no jump
        36: [cc(21, 1)],  # the knob comes down to psi: picked up
        38: [cc(21, 127)],  # psi 1: the walk moves again
        58: [mido.Message("note_on", note=60, velocity=100)],  # next section
    }
    try:
        presenter = MidiPresenter(out, script, stop_at=66)
        try:
            assert app.play(settings, renderer_for(show_path), presenter, commands=commands,
                            board=board) == 0  # fmt: skip
        finally:
            presenter.close()
        status = board.status()
    finally:
        midi.stop()
        out.close()
    frames = presenter.frames
    assert moving(frames[:7])  # the walk moves
    # psi 0 maps every z to the average w: the same picture while it holds (a few frames late)
    still = next(i for i in range(6, 30) if same(frames[i], frames[i + 1]))
    assert still <= 20 and not same(frames[5], frames[still])
    assert all(same(frames[still], frame) for frame in frames[still:37])  # the knob did not jump
    # picked up, the learned cc 21 took psi back to 1: the walk moves again
    assert moving(frames[50:58])
    assert frames[0].section_name == "drift" and frames[-1].section_name == "second"
    assert status["midi_in"] == "RtMidiOut Client:lw-desk"
    assert status["midi_learn"].startswith("cc 21 ch 1 -> psi (saved to ")
    assert "cc: 21" in (tmp_path / "show.midi.yaml").read_text(encoding="utf-8")
    assert midi.counters.sent >= 3
