"""The MIDI input (control/midi.py) on real MIDI ports: a dummy JACK server (tests/jack_server.py),
a virtual output port sending, MidiControl receiving. Plus the router and the missing-library
message.
"""

from __future__ import annotations

import logging
import queue
import sys
import time

import pytest
from jack_server import jack  # noqa: F401  (fixture)

from installation import app, cli
from installation.control.midi import INSTALL_HINT, MidiControl, choose_port, import_mido
from installation.control.router import CommandRouter
from installation.errors import ControlError
from installation.run.midi_file import MidiMapError, read_bindings, write_bindings
from installation.settings import AppSettings
from installation.walk.commands import JumpSection, MidiLearn, SetLive, SetPaused
from installation.walk.midi_map import MidiBinding, MidiMap

WAIT_S = 10.0


def wait_for(condition, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def drain(commands: queue.SimpleQueue, count: int) -> list:
    """The next `count` commands (waits for them)."""
    return [commands.get(timeout=WAIT_S) for _ in range(count)]


def virtual_output(name: str):
    import mido

    return mido.Backend("mido.backends.rtmidi/UNIX_JACK").open_output(name, virtual=True)


def cc(control: int, value: int, channel: int = 0):
    import mido

    return mido.Message("control_change", channel=channel, control=control, value=value)


def test_auto_skips_through_ports_and_names_match_in_part():
    names = ["Midi Through:Midi Through Port-0 14:0", "nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"]
    assert choose_port(names, "auto") == names[1]
    assert choose_port(names, "nanokontrol") == names[1]
    assert choose_port(names[:1], "auto") is None
    assert choose_port(names, "launchpad") is None


def test_without_mido_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mido", None)  # import mido raises ImportError
    with pytest.raises(ControlError) as caught:
        import_mido()
    assert str(caught.value) == INSTALL_HINT
    assert "pip install latent-walk[midi]" in INSTALL_HINT


def test_the_router_sends_midi_learn_to_its_route_and_the_rest_to_the_queue():
    commands: queue.SimpleQueue = queue.SimpleQueue()
    learned = []
    router = CommandRouter(commands)
    router.put(MidiLearn("psi"))  # no route yet: a plain command
    router.route(MidiLearn, learned.append)
    router.put(MidiLearn("cutoff"))
    router.put(SetPaused(True))
    assert learned == [MidiLearn("cutoff")]
    assert [commands.get_nowait(), commands.get_nowait()] == [MidiLearn("psi"), SetPaused(True)]


def test_ccs_and_notes_from_a_real_port_become_commands(jack):  # noqa: F811
    out = virtual_output("lw-fader")
    commands: queue.SimpleQueue = queue.SimpleQueue()
    bindings = [MidiBinding("cc", 7, target="psi", output=(0.0, 2.0)),
                MidiBinding("note", 60, channel=10, send="/show/next")]  # fmt: skip
    midi = MidiControl("lw-fader", MidiMap(bindings), commands, api="jack")
    try:
        midi.start()
        wait_for(lambda: midi.port_name is not None)
        import mido

        out.send(cc(7, 127))
        out.send(mido.Message("note_on", channel=9, note=60, velocity=100))
        out.send(mido.Message("note_on", channel=0, note=60, velocity=100))  # channel 1: none
        out.send(mido.Message("sysex", data=[1, 2, 3]))  # ignored
        assert drain(commands, 2) == [SetLive("psi", 2.0), JumpSection(1)]
        time.sleep(0.2)
        assert commands.empty() and midi.counters.sent == 2
    finally:
        midi.stop()
        out.close()
    assert midi.is_running is False


def test_learn_binds_the_next_control_and_saves_the_file(jack, tmp_path):  # noqa: F811
    path = tmp_path / "show.midi.yaml"
    write_bindings(path, [MidiBinding("note", 60, send="/show/next")])
    out = virtual_output("lw-knobs")
    commands: queue.SimpleQueue = queue.SimpleQueue()
    router = CommandRouter(commands)
    notes: dict[str, str] = {}

    def save(bindings) -> str:
        write_bindings(path, bindings)
        return str(path)

    midi = MidiControl("knobs", MidiMap(read_bindings(path)), router,
                       lambda: {"cutoff": {"low": 0.0, "high": 8.0}}, api="jack", save=save,
                       report=notes.__setitem__)  # fmt: skip
    router.route(MidiLearn, midi.learn)
    try:
        midi.start()
        wait_for(lambda: midi.port_name is not None)
        router.put(MidiLearn("psy"))
        wait_for(lambda: "midi_learn" in notes)
        assert notes["midi_learn"].startswith("refused: MIDI learn: 'psy' is not a live")
        router.put(MidiLearn("cutoff"))
        wait_for(lambda: notes["midi_learn"].startswith("waiting"))
        out.send(cc(74, 10, channel=2))  # bound, not sent
        wait_for(lambda: notes["midi_learn"].startswith("cc 74 ch 3 -> cutoff"))
        assert notes["midi_learn"] == f"cc 74 ch 3 -> cutoff (saved to {path})"
        assert read_bindings(path) == [MidiBinding("note", 60, send="/show/next"),
                                       MidiBinding("cc", 74, 3, target="cutoff")]  # fmt: skip
        out.send(cc(74, 127, channel=2))
        assert drain(commands, 1) == [SetLive("cutoff", 8.0)]
        assert notes["midi_in"] == "RtMidiOut Client:lw-knobs"
    finally:
        midi.stop()
        out.close()


def test_a_port_that_goes_and_comes_back_is_one_line_and_a_retry(jack, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, "installation.control.midi")
    commands: queue.SimpleQueue = queue.SimpleQueue()
    binding = MidiBinding("cc", 1, target="psi", output=(0.0, 1.0), pickup=False)
    midi = MidiControl("lw-later", MidiMap([binding]), commands, api="jack",
                       backoff=lambda attempt: 0.2)  # fmt: skip
    try:
        midi.start()  # the port is not there yet: the show would go on
        wait_for(lambda: any("no input port 'lw-later'" in r.message for r in caplog.records))
        out = virtual_output("lw-later")
        wait_for(lambda: midi.port_name is not None)
        out.send(cc(1, 127))
        assert drain(commands, 1) == [SetLive("psi", 1.0)]
        out.close()  # unplugged
        wait_for(lambda: midi.port_name is None)
        time.sleep(1.0)  # a few retries
        out = virtual_output("lw-later")
        wait_for(lambda: midi.port_name is not None)
        out.send(cc(1, 0))
        assert drain(commands, 1) == [SetLive("psi", 0.0)]
        out.close()
    finally:
        midi.stop()
    warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert len([m for m in warnings if "is gone" in m]) == 1
    assert len([m for m in warnings if "no input port" in m]) == 1  # once, not per retry
    assert midi.counters.opened == 2


def test_midi_ports_lists_the_inputs(jack, capsys):  # noqa: F811
    out = virtual_output("lw-listed")
    try:
        assert cli.main(["midi-ports", "--api", "jack"]) == 0
    finally:
        out.close()
    assert "RtMidiOut Client:lw-listed   (--midi-in auto picks this one)" in capsys.readouterr().out


def test_without_midi_in_a_learn_is_one_warning_and_goes_nowhere(caplog):
    commands: queue.SimpleQueue = queue.SimpleQueue()
    router = app.command_router(commands)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "installation.app"):
        router.put(MidiLearn("psi"))
    assert commands.empty()
    assert caplog.messages == ["/midi/learn psi: there is no MIDI input (run_show.py --midi-in "
                               "NAME|auto)"]  # fmt: skip
    assert app.start_midi(AppSettings(), router, app.StatusBoard()) is None


def test_a_broken_mapping_file_stops_the_start_with_its_lines(tmp_path):
    show = tmp_path / "gallery.yaml"
    (tmp_path / "gallery.midi.yaml").write_text("controls:\n  - cc: 7\n    target: psy\n",
                                                 encoding="utf-8")  # fmt: skip
    settings = AppSettings(show_path=show, midi_in="auto", midi_api="jack")
    router = app.command_router(queue.SimpleQueue())  # type: ignore[arg-type]
    with pytest.raises(MidiMapError, match=r"gallery.midi.yaml:3: controls\[0\].target: 'psy'"):
        app.start_midi(settings, router, app.StatusBoard())


def test_hostile_bytes_and_a_flood_leave_the_input_working(jack, caplog):  # noqa: F811
    import rtmidi

    out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK)
    out.open_virtual_port("lw-hostile")
    commands: queue.SimpleQueue = queue.SimpleQueue()
    binding = MidiBinding("cc", 7, target="psi", output=(0.0, 1.0), pickup=False)
    midi = MidiControl("lw-hostile", MidiMap([binding]), commands, api="jack")
    try:
        midi.start()
        wait_for(lambda: midi.port_name is not None)
        for data in ([0xB0, 0xFF, 0xFF], [0xB0], [0xFE], [0x90, 200, 1], [0xF0, 1, 2, 0xF7],
                     [0xE0, 0x7F], [0xC0, 5]):  # fmt: skip
            out.send_message(data)
            time.sleep(0.01)
        for value in range(3000):  # a flood (paced to what a JACK period carries)
            out.send_message([0xB0, 7, value % 127])
            if value % 50 == 0:
                time.sleep(0.006)
        time.sleep(0.2)
        out.send_message([0xB0, 7, 127])
        deadline = time.monotonic() + WAIT_S
        last = None
        while last != SetLive("psi", 1.0):
            assert time.monotonic() < deadline, last
            last = commands.get(timeout=WAIT_S)
        assert last == SetLive("psi", 1.0) and midi.is_running
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        midi.stop()
        out.close_port()
