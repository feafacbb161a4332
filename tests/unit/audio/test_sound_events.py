"""The show's `audio:` block: reading it (with file:line errors), checking its messages against
the OSC table at start, and a render to music firing them on the song's onsets frame-exactly."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_sound import click_track, write_wav
from two_section_show import renderer_for, write_show

from installation.audio.track import analyse_file
from installation.control.audio_events import check_messages
from installation.errors import ShowError
from installation.run.offline_sound import SoundDriver
from installation.show.load import validate_text
from installation.show.schema import AudioEvent, AudioMessage, AudioSettings

BODY = """models:
  m: {path: m.pkl}
sections:
  - {name: a, model: m, duration_s: 5, walk: {path: noise_loop}}
"""


def test_the_audio_block_reads_one_message_or_a_list(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"")
    text = BODY + ("audio:\n  input: default\n  on_beat: {every: 4, send: /show/next}\n"
                   "  on_onset:\n    min_interval_s: 0.5\n"
                   "    send: [[/latent/seed, 11, 2], [/preset/recall, calm]]\n")  # fmt: skip
    audio = validate_text(text, tmp_path / "s.yaml").audio
    assert audio == AudioSettings(
        "default",
        AudioEvent((AudioMessage("/latent/seed", (11, 2), 10),
                    AudioMessage("/preset/recall", ("calm",), 10)), 1, 0.5),
        AudioEvent((AudioMessage("/show/next", (), 7),), 4, 0.0),
    )  # fmt: skip
    assert validate_text(BODY, tmp_path / "s.yaml").audio == AudioSettings()


def test_audio_block_errors_name_line_and_field(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"")
    text = BODY + ("audio:\n"  # 5
                   "  on_beat: {every: 0, send: show/next}\n"  # 6
                   "  on_onset: {send: [[/psi, [1]]]}\n"  # 7
                   "  on_click: {send: /a}\n")  # 8 # fmt: skip
    with pytest.raises(ShowError) as caught:
        validate_text(text, tmp_path / "s.yaml")
    lines = [line.split("s.yaml:", 1)[1] for line in str(caught.value).splitlines()]
    assert lines[0].startswith("6: audio.on_beat.every: must be an integer >= 1")
    assert lines[1] == "6: audio.on_beat.send: must start with an OSC address like " \
        "/show/next, got 'show/next'"  # fmt: skip
    assert lines[2] == "7: audio.on_onset.send[0][1]: must be a number, a word or true/false"
    assert lines[3].startswith("8: audio.on_click: unknown key")


def test_messages_the_table_refuses_are_named_at_start(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"")
    text = BODY + "audio:\n  on_beat:\n    send: [[/show/nex], [/psi, high]]\n"
    problems = check_messages(validate_text(text, tmp_path / "s.yaml"))
    assert len(problems) == 2 and all(p.startswith(f"{tmp_path}/s.yaml:7: audio.on_beat.send: ")
                                      for p in problems)  # fmt: skip
    assert "/show/nex" in problems[0] and "/psi" in problems[1]


def test_a_render_to_music_jumps_sections_on_the_onsets(tmp_path):
    show_path = write_show(tmp_path)
    text = show_path.read_text(encoding="utf-8")
    show_path.write_text(text + "audio:\n  on_onset: {send: /show/next}\n", encoding="utf-8")
    samples, clicks = click_track(60.0, 4.0, first_s=0.53)  # clicks at 0.53, 1.53, 2.53, 3.53
    track = analyse_file(write_wav(tmp_path / "song.wav", samples))
    renderer = renderer_for(show_path)
    assert renderer.show.audio.on_onset is not None
    driver = SoundDriver(track, renderer.timeline, renderer, start_s=0.0)
    fps = 10.0
    sections = [driver.params([(i, i / fps)])[0].section_index for i in range(40)]
    changes = [i for i in range(1, 40) if sections[i] != sections[i - 1]]
    # the first frame at or after each onset is in the next section
    assert changes == [int(np.ceil(t * fps - 1e-9)) for t in clicks]
    assert driver.events_sent == 4


def test_validate_names_a_message_the_table_refuses(tmp_path, capsys):
    from installation.cli import main

    (tmp_path / "m.pkl").write_bytes(b"")
    (tmp_path / "s.yaml").write_text(BODY + "audio:\n  on_beat: {send: /show/nxt}\n")
    assert main(["validate", str(tmp_path / "s.yaml")]) == 1
    assert capsys.readouterr().err.startswith(f"{tmp_path}/s.yaml:6: audio.on_beat.send: ")


def test_a_render_to_music_hands_the_songs_tempo_to_beat_sections(tmp_path):
    show_path = write_show(tmp_path)
    text = show_path.read_text(encoding="utf-8").replace(
        "seconds_per_keyframe: 0.5,\n           keyframes: [{seed: 1}",
        "beats_per_keyframe: 1,\n           keyframes: [{seed: 1}", 1)  # fmt: skip
    show_path.write_text(text, encoding="utf-8")
    samples, _ = click_track(150.0, 6.0)
    driver = SoundDriver(analyse_file(write_wav(tmp_path / "song.wav", samples)),
                         renderer_for(show_path).timeline, None, start_s=0.0)  # fmt: skip
    assert driver.player.timeline.show.sections[0].follows_tempo
    driver.params([(i, i / 10.0) for i in range(50)])
    assert driver.player.beat_time.rate == pytest.approx(150.0 / 120.0, rel=0.01)
