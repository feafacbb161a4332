"""`latent-walk audio-keys`: the printed section loads as a show and its keyframes sit on beats."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_sound import click_track, write_wav

from installation.cli import main
from installation.show.load import load_show


def test_the_section_loads_and_its_keyframes_fall_on_every_fourth_beat(tmp_path, capsys):
    samples, clicks = click_track(120.0, 12.0, first_s=0.4)
    song = write_wav(tmp_path / "song.wav", samples)
    assert main(["audio-keys", str(song), "--model", "m", "--seeds", "5,9"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# song.wav: 12.00 s, pcm_s16le 44100 Hz; 120.")
    (tmp_path / "m.pkl").write_bytes(b"")
    (tmp_path / "show.yaml").write_text("models:\n  m: {path: m.pkl}\n" + printed)
    section = load_show(tmp_path / "show.yaml").sections[0]
    keyframes = section.walk.keyframes
    assert [k.seed for k in keyframes[:3]] == [5, 9, 5]
    reached = keyframes[0].hold_s + np.cumsum([0.0] + [k.duration_s for k in keyframes[:-1]])
    assert np.max(np.abs(reached - clicks[::4])) <= 0.015
    assert section.duration_s == pytest.approx(12.0, abs=0.01)


def test_lists_and_errors(tmp_path, capsys):
    samples, clicks = click_track(100.0, 6.0)
    song = write_wav(tmp_path / "song.wav", samples)
    assert main(["audio-keys", str(song), "--list", "onsets"]) == 0
    listed = [float(line) for line in capsys.readouterr().out.split()]
    assert np.max(np.abs(np.asarray(listed) - clicks)) <= 0.015
    assert main(["audio-keys", str(tmp_path / "none.wav")]) == 1
    assert "none.wav: cannot read the sound file" in capsys.readouterr().err
    assert main(["audio-keys", str(song), "--seeds", "x"]) == 2
