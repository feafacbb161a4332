"""The MIDI mapping (walk/midi_map.py): ranges, curves, smoothing, soft takeover, commands, learn.

Pure: events and wall times in, OSC-table messages out; the sensors' code does the shaping.
"""

from __future__ import annotations

import math

import pytest

from installation.show.schema import Sensor, Smoothing
from installation.walk.midi_map import (
    PICKUP_TOLERANCE,
    SETTLE_S,
    MidiBinding,
    MidiEvent,
    MidiMap,
)
from installation.walk.sensors import SensorBank


def cc(value: int, number: int = 7, channel: int = 1) -> MidiEvent:
    return MidiEvent("cc", channel, number, value)


def values(outcome) -> list[float]:
    return [args[0] for _, args in outcome.messages]


PSI = MidiBinding("cc", 7, target="psi", output=(0.0, 2.0), pickup=False)


def test_a_cc_maps_linearly_onto_the_output_range_as_param_messages():
    midi = MidiMap([PSI])
    assert midi.feed(cc(0), 0.0, {}).messages == (("/param/psi", (0.0,)),)
    assert values(midi.feed(cc(127), 0.1, {})) == [2.0]
    assert values(midi.feed(cc(64), 0.2, {})) == [pytest.approx(2 * 64 / 127)]


@pytest.mark.parametrize("curve", ["ease_in", "ease_out", "smooth", "log", "exp"])
def test_curves_are_the_sensors_curves(curve):
    binding = MidiBinding("cc", 7, target="psi", output=(-1.0, 1.0), curve=curve, pickup=False)
    sensor = Sensor("s", "psi", (0.0, 127.0), (-1.0, 1.0), curve=curve)
    midi, bank = MidiMap([binding]), SensorBank([sensor])
    for step, value in enumerate((0, 20, 64, 100, 127)):
        expected = bank.feed("s", (value,), step * 0.1).value
        assert values(midi.feed(cc(value), step * 0.1, {})) == [pytest.approx(expected)]
    assert expected == pytest.approx(1.0)


def test_smoothing_is_the_sensors_smoothing_with_the_real_time_between_messages():
    smoothing = Smoothing("exponential", time_constant_s=0.5)
    binding = MidiBinding("cc", 7, target="psi", output=(0.0, 1.0), smoothing=smoothing,
                          pickup=False)  # fmt: skip
    midi = MidiMap([binding])
    assert values(midi.feed(cc(0), 0.0, {})) == [0.0]
    [smoothed] = values(midi.feed(cc(127), 0.5, {}))
    assert smoothed == pytest.approx(1.0 - math.exp(-1.0))  # one time constant later


def test_pitch_bend_spans_its_14_bit_range_and_a_decreasing_output():
    binding = MidiBinding("pitchbend", target="rotate_deg", output=(30.0, -30.0), pickup=False)
    midi = MidiMap([binding])
    assert values(midi.feed(MidiEvent("pitchbend", 3, 0, -8192), 0.0, {})) == [30.0]
    assert values(midi.feed(MidiEvent("pitchbend", 3, 0, 8191), 0.1, {})) == [-30.0]
    assert midi.feed(MidiEvent("pitchbend", 3, 0, 0), 0.2, {}).messages[0][0] == (
        "/param/rotate_deg"
    )


def test_channel_and_number_select_the_binding():
    midi = MidiMap([MidiBinding("cc", 7, channel=2, target="psi", output=(0, 1), pickup=False)])
    assert midi.feed(cc(10, channel=1), 0.0, {}).messages == ()
    assert midi.feed(cc(10, number=8, channel=2), 0.0, {}).messages == ()
    assert len(midi.feed(cc(10, channel=2), 0.0, {}).messages) == 1


def test_directions_go_to_their_own_address():
    binding = MidiBinding("cc", 1, target="direction/smile.v2", output=(-3, 3), pickup=False)
    [(address, _)] = MidiMap([binding]).feed(cc(127, number=1), 0.0, {}).messages
    assert address == "/direction/smile.v2"


def test_without_an_output_range_the_sections_live_range_applies():
    midi = MidiMap([MidiBinding("cc", 7, target="psi", pickup=False)])
    parameters = {"psi": {"low": -1.0, "high": 2.0}}
    assert values(midi.feed(cc(127), 0.0, parameters)) == [2.0]
    assert values(midi.feed(cc(0), 0.1, parameters)) == [-1.0]
    outcome = midi.feed(cc(64), 0.2, {"cutoff": {"low": 0, "high": 8}})  # not steered here
    assert outcome.messages == () and "psi is not steerable" in outcome.note


# -- soft takeover ---------------------------------------------------------------------------


TAKEOVER = MidiBinding("cc", 7, target="psi", output=(0.0, 1.0))


def board(value: float) -> dict:
    return {"psi": {"low": 0.0, "high": 1.0, "value": value}}


def test_a_fader_away_from_the_value_does_not_jump_until_it_crosses_it():
    midi = MidiMap([TAKEOVER])
    for step, position in enumerate((0, 10, 30, 60)):  # the show is at 0.8: below it, nothing
        outcome = midi.feed(cc(position), step * 0.1, board(0.8))
        assert outcome.messages == () and "waiting to pick up psi at 0.8" in outcome.note
    assert values(midi.feed(cc(110), 0.5, board(0.8))) == [pytest.approx(110 / 127)]  # crossed
    assert values(midi.feed(cc(20), 0.6, board(0.86))) == [pytest.approx(20 / 127)]  # follows


def test_a_fader_within_the_tolerance_picks_up_at_once():
    midi = MidiMap([TAKEOVER])
    near = round((0.5 + PICKUP_TOLERANCE / 2) * 127)
    assert values(midi.feed(cc(near), 0.0, board(0.5))) == [pytest.approx(near / 127)]


def test_an_unknown_value_takes_the_first_move_and_without_pickup_every_move_jumps():
    assert len(MidiMap([TAKEOVER]).feed(cc(100), 0.0, {}).messages) == 1
    jumping = MidiMap([MidiBinding("cc", 7, target="psi", output=(0.0, 1.0), pickup=False)])
    assert len(jumping.feed(cc(100), 0.0, board(0.1)).messages) == 1


def test_while_the_show_glides_what_midi_sent_is_the_reference():
    midi = MidiMap([TAKEOVER])
    midi.feed(cc(127), 0.0, board(1.0))  # picked up at 1.0
    # the board still shows the glide's start; MIDI's own last value counts for SETTLE_S
    assert len(midi.feed(cc(100), 0.1, board(0.2)).messages) == 1
    assert len(midi.feed(cc(90), 0.2, board(0.3)).messages) == 1


def test_another_source_moving_the_value_makes_the_fader_pick_up_again():
    midi = MidiMap([TAKEOVER])
    midi.feed(cc(127), 0.0, board(1.0))
    later = SETTLE_S + 1.0  # OSC set psi to 0.2 meanwhile: the board shows it
    assert midi.feed(cc(120), later, board(0.2)).messages == ()
    assert midi.feed(cc(60), later + 0.1, board(0.2)).messages == ()  # still above 0.2
    assert len(midi.feed(cc(10), later + 0.2, board(0.2)).messages) == 1  # crossed it


def test_two_bindings_of_one_parameter_hand_over_with_pickup():
    other = MidiBinding("cc", 8, target="psi", output=(0.0, 1.0))
    midi = MidiMap([TAKEOVER, other])
    midi.feed(cc(127), 0.0, {})  # fader 7 took psi to 1.0
    assert midi.feed(cc(0, number=8), 0.1, {}).messages == ()  # fader 8 is at 0: no jump
    assert len(midi.feed(cc(126, number=8), 0.2, {}).messages) == 1  # within tolerance of 1.0
    assert values(midi.feed(cc(40, number=8), 0.3, {})) == [pytest.approx(40 / 127)]
    assert midi.feed(cc(120), 0.4, {}).messages == ()  # fader 7 lost it; 0.94 is not 0.31


# -- commands --------------------------------------------------------------------------------


def test_a_note_sends_its_address_on_note_on_only():
    midi = MidiMap([MidiBinding("note", 60, send="/show/next")])
    assert midi.feed(MidiEvent("note", 1, 60, 100), 0.0, {}).messages == (("/show/next", ()),)
    assert midi.feed(MidiEvent("note", 1, 60, 0), 0.1, {}).messages == ()  # note-off
    assert midi.feed(MidiEvent("note", 1, 61, 100), 0.2, {}).messages == ()


def test_a_cc_button_presses_when_it_goes_to_64_or_above():
    midi = MidiMap([MidiBinding("cc", 20, send="/preset/recall", args=("calm", 2))])
    sent = [midi.feed(cc(v, number=20), 0.0, {}).messages for v in (0, 127, 127, 0, 100)]
    press = (("/preset/recall", ("calm", 2)),)
    assert sent == [(), press, (), (), press]


def test_toggle_args_alternate_with_args():
    binding = MidiBinding("note", 40, send="/show/blackout", args=(1, 2), toggle_args=(0, 2))
    midi = MidiMap([binding])
    presses = [midi.feed(MidiEvent("note", 1, 40, 90), i, {}).messages for i in range(3)]
    assert presses == [(("/show/blackout", (1, 2)),), (("/show/blackout", (0, 2)),),
                       (("/show/blackout", (1, 2)),)]  # fmt: skip


def test_a_note_can_steer_a_parameter_with_its_velocity():
    midi = MidiMap([MidiBinding("note", 36, target="noise_strength", output=(0, 1), pickup=False)])
    assert values(midi.feed(MidiEvent("note", 1, 36, 127), 0.0, {})) == [1.0]
    assert midi.feed(MidiEvent("note", 1, 36, 0), 0.1, {}).messages == ()  # release: stays


# -- learn -----------------------------------------------------------------------------------


def test_learn_binds_the_next_control_moved_and_replaces_its_old_binding():
    old = MidiBinding("cc", 21, channel=2, send="/show/next")
    keep = MidiBinding("note", 60, send="/show/prev")
    midi = MidiMap([old, keep])
    midi.learn("cutoff")
    assert midi.feed(MidiEvent("note", 2, 60, 100), 0.0, {}).messages == (("/show/prev", ()),)
    outcome = midi.feed(cc(40, number=21, channel=2), 0.1, {})  # the control moved: bound
    assert outcome.messages == ()
    assert outcome.learned == MidiBinding("cc", 21, 2, target="cutoff")
    assert midi.bindings == (keep, outcome.learned) and midi.learning is None
    steered = midi.feed(cc(127, number=21, channel=2), 0.2, {"cutoff": {"low": 0, "high": 8}})
    assert steered.messages == (("/param/cutoff", (8.0,)),)


def test_learn_of_the_pitch_bend_and_of_an_unknown_parameter():
    midi = MidiMap()
    midi.learn("rotate_deg")
    learned = midi.feed(MidiEvent("pitchbend", 5, 0, 100), 0.0, {}).learned
    assert learned == MidiBinding("pitchbend", 0, 5, target="rotate_deg")
    with pytest.raises(ValueError, match="'psy' is not a live parameter"):
        midi.learn("psy")
    assert midi.learning is None
    midi.learn("psi")
    midi.learn(None)  # cancelled
    assert midi.feed(cc(1), 0.0, {}).learned is None
