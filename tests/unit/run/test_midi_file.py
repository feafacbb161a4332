"""The MIDI mapping file (run/midi_file.py): reading, exact error lines, bounds, atomic writing."""

from __future__ import annotations

import pytest

from installation.run.midi_file import (
    MAX_MIDI_BYTES,
    MidiMapError,
    midi_path,
    read_bindings,
    write_bindings,
)
from installation.show.schema import Smoothing
from installation.walk.midi_map import MidiBinding

GOOD = """\
controls:
  - cc: 7
    channel: 1
    target: psi
    output: [0.3, 1.2]
    curve: smooth
    smoothing: {kind: exponential, time_constant_s: 0.05}
  - note: 60
    send: /show/next
  - note: 61
    send: /show/blackout
    args: [1, 2]
    toggle_args: [0, 2]
  - pitchbend: true
    channel: 16
    target: direction/smile
    output: [-3, 3]
    pickup: false
"""


def write(tmp_path, text: str):
    path = tmp_path / "show.midi.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_path_is_beside_the_show(tmp_path):
    assert midi_path(tmp_path / "gallery.yaml") == tmp_path / "gallery.midi.yaml"


def test_a_good_file_gives_its_bindings_and_writes_back_the_same(tmp_path):
    bindings = read_bindings(write(tmp_path, GOOD))
    assert bindings == [
        MidiBinding("cc", 7, 1, target="psi", output=(0.3, 1.2), curve="smooth",
                    smoothing=Smoothing("exponential", time_constant_s=0.05)),
        MidiBinding("note", 60, send="/show/next"),
        MidiBinding("note", 61, send="/show/blackout", args=(1, 2), toggle_args=(0, 2)),
        MidiBinding("pitchbend", 0, 16, target="direction/smile", output=(-3.0, 3.0),
                    pickup=False),
    ]  # fmt: skip
    out = tmp_path / "out.midi.yaml"
    write_bindings(out, bindings)
    assert read_bindings(out) == bindings
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_no_file_and_an_empty_file_have_no_bindings(tmp_path):
    assert read_bindings(tmp_path / "none.midi.yaml") == []
    assert read_bindings(write(tmp_path, "# nothing yet\n")) == []
    assert read_bindings(write(tmp_path, "controls:\n")) == []


def test_every_problem_is_one_line_with_file_line_and_field(tmp_path):
    path = write(tmp_path, """\
controls:
  - cc: 200
    target: psy
  - note: 60
    send: /show/nope
  - note: 61
    send: /show/blackout
    curve: smooth
  - cc: 3
    note: 4
    target: psi
  - pitchbend: true
    send: /show/next
  - cc: 5
    channel: 17
    target: psi
    smoothing: {kind: expo}
  - note: 62
    send: /show/speed
    args: [fast]
  - cc: 9
  - cc: 9
    target: psi
    output: [1, 1]
""")
    with pytest.raises(MidiMapError) as caught:
        read_bindings(path)
    assert str(caught.value).splitlines() == [
        f"{path}:2: controls[0].cc: must be at most 127, got 200",
        f"{path}:3: controls[0].target: 'psy' is not one of psi, cutoff, noise_strength, "
        "translate_x, translate_y, rotate_deg, speed, direction/<name>; did you mean 'psi'?",
        f"{path}:5: controls[1].send: unknown OSC address '/show/nope' (see docs/osc.md)",
        f"{path}:8: controls[2].curve: only with target",
        f"{path}:9: controls[3]: needs exactly one of cc, note, pitchbend; got cc, note",
        f"{path}:12: controls[4]: the pitch bend can steer a target, not send a command",
        f"{path}:15: controls[5].channel: must be at most 16, got 17",
        f"{path}:17: controls[5].smoothing.kind: 'expo' is not one of none, exponential, "
        "one_euro",
        f"{path}:20: controls[6].args: /show/speed: argument 1 (speed) must be a number (int, "
        "float, bool or a numeric string), got 'fast'",
        f"{path}:21: controls[7]: needs exactly one of target (a live parameter) and send (an "
        "OSC address)",
        f"{path}:24: controls[8].output: must be [from, to] (two different numbers), got [1, 1]",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("controls: [{cc: 1, target: psi}]\nextra: 1\n", ":2: extra: unknown key"),
        ("a: &x [1]\nb: *x\n", "anchors"),
        ("controls: {cc: 1}\n", ":1: controls: must be a list"),
        ("controls: [[[[[[1]]]]]]\n", "nest"),
        ("controls: [{cc: 1, target: psi}\n", "syntax"),
    ],
)  # fmt: skip
def test_broken_files_are_refused_with_one_clear_line_each(tmp_path, text, problem):
    with pytest.raises(MidiMapError, match=problem) as caught:
        read_bindings(write(tmp_path, text))
    assert all(line.startswith(str(tmp_path)) for line in str(caught.value).splitlines())


def test_the_file_size_is_capped(tmp_path):
    path = write(tmp_path, "# " + "x" * MAX_MIDI_BYTES + "\n")
    with pytest.raises(MidiMapError, match="KiB"):
        read_bindings(path)


def test_a_folder_that_cannot_be_written_is_one_error_and_nothing_is_left(tmp_path):
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    with pytest.raises(MidiMapError, match="cannot write"):
        write_bindings(tmp_path / "file" / "show.midi.yaml", [MidiBinding("note", 1, send="/x")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_writing_replaces_the_file_whole(tmp_path):
    path = write(tmp_path, GOOD)
    write_bindings(path, [MidiBinding("cc", 1, target="psi")])
    assert read_bindings(path) == [MidiBinding("cc", 1, target="psi")]
    assert path.read_text(encoding="utf-8").startswith("# MIDI mapping of show.yaml")
