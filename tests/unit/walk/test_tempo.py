"""Beat time: sections that count in beats follow the music's tempo (walk/tempo.py, the Player,
the timeline), and the show file's beats (beats_per_keyframe, period_beats, tempo_bpm)."""

from __future__ import annotations

import numpy as np
import pytest

from fake_latents import FakeLatents, constant_ws
from installation.errors import ShowError
from installation.show.load import validate_text
from installation.walk.commands import SetTempo, StepKeyframe
from installation.walk.player import Player
from installation.walk.tempo import BeatTime
from installation.walk.timeline import Timeline


def test_beat_time_follows_rate_changes_and_restarts_at_a_seek():
    beats = BeatTime()
    assert beats.at(10.0) == 10.0  # no tempo yet: beat time is show time
    assert beats.set_rate(10.0, 2.0) and beats.at(12.0) == 14.0
    assert not beats.set_rate(11.0, 2.001)  # under 0.2 %: no breakpoint
    assert beats.set_rate(12.0, 0.5) and beats.at(14.0) == 15.0
    assert beats.since(9.0, 14.0) == pytest.approx(15.0 - 9.0)  # before 10 s: rate 1
    beats.set_rate(14.0, 100.0)
    assert beats.rate == 4.0  # clamped to 4x
    beats.restart(3.0)
    assert beats.at(3.0) == 3.0 and beats.at(4.0) == 7.0 and beats.rate == 4.0
    assert beats.at(1.0) == 1.0  # before the seek's breakpoint: as written


SHOW = """show: {tempo_bpm: 120}
models:
  m: {path: m.pkl}
sections:
  - name: beats
    model: m
    duration_s: 60
    walk: {space: w, path: linear, beats_per_keyframe: 4,
           keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}
    automation:
      psi: {lfo: {period_beats: 8, amplitude: 0.2, center: 0.7}}
  - name: seconds
    model: m
    duration_s: 60
    walk: {space: w, path: linear, seconds_per_keyframe: 2, keyframes: [{seed: 1}, {seed: 2}]}
"""


def load(tmp_path, text=SHOW):
    (tmp_path / "m.pkl").write_bytes(b"")
    return validate_text(text, tmp_path / "s.yaml")


def test_beats_become_seconds_at_the_show_tempo(tmp_path):
    show = load(tmp_path)
    beats, seconds = show.sections
    assert beats.walk.seconds_per_keyframe == 2.0 and beats.follows_tempo
    assert beats.automation.psi.period_s == 4.0  # 8 beats at 120 BPM
    assert not seconds.follows_tempo and seconds.walk.beats_per_keyframe is None
    faster = load(tmp_path, SHOW.replace("tempo_bpm: 120", "tempo_bpm: 60"))
    assert faster.sections[0].walk.seconds_per_keyframe == 4.0


def test_beats_and_seconds_together_are_an_error(tmp_path):
    text = SHOW.replace("beats_per_keyframe: 4,", "beats_per_keyframe: 4, seconds_per_keyframe: 1,")
    text = text.replace("period_beats: 8,", "period_beats: 8, period_s: 2,")
    with pytest.raises(ShowError) as caught:
        load(tmp_path, text)
    lines = str(caught.value).splitlines()
    assert any("walk.beats_per_keyframe: give seconds_per_keyframe or beats_per_keyframe, not "
               "both" in line for line in lines)  # fmt: skip
    assert any("psi.lfo: give period_s or period_beats (one of them)" in line for line in lines)


def player_for(show) -> Player:
    latents = {name: FakeLatents(constant_ws(0.0, 1.0)) for name in ("beats", "seconds")}
    player = Player(Timeline(show, latents))
    player.start_clock(100.0, 0.0, None)
    return player


def test_a_faster_tempo_walks_a_beat_section_faster_and_leaves_the_others(tmp_path):
    show = load(tmp_path)
    steady, following = player_for(show), player_for(show)
    following.apply(SetTempo(240.0), 100.0)  # twice the show's 120 BPM, from show time 0
    # 1 s at 240 BPM is 4 beats: the frame the steady player shows at 2 s
    at_1s = following.params_at(1.0, 101.0)
    np.testing.assert_array_equal(at_1s.latent, steady.params_at(2.0, 102.0).latent)
    assert at_1s.psi == pytest.approx(steady.params_at(2.0, 102.0).psi)  # the LFO too
    # the section that counts in seconds is not warped
    np.testing.assert_array_equal(following.params_at(61.0, 161.0).latent,
                                  steady.params_at(61.0, 161.0).latent)  # fmt: skip


def test_tempo_changes_keep_the_beats_already_walked(tmp_path):
    show = load(tmp_path)
    player, steady = player_for(show), player_for(show)
    player.apply(SetTempo(240.0), 100.0)  # 2x for 1 s: 2 beat seconds
    player.apply(SetTempo(60.0), 101.0)  # then 0.5x: at 3 s, 2 + 1 = 3 beat seconds
    assert player.live_at(3.0, 103.0)["beat_time"] == (0.0, pytest.approx(3.0))
    np.testing.assert_array_equal(player.params_at(3.0, 103.0).latent,
                                  steady.params_at(3.0, 103.0).latent)  # fmt: skip
    assert player.live_at(2.0, 102.0)["beat_time"] == (0.0, pytest.approx(2.5))
    player.seek(103.0, 10.0)  # a seek starts beat time afresh at the new show time
    assert player.live_at(10.0, 103.0)["beat_time"] == (0.0, pytest.approx(10.0))


def test_next_and_previous_keyframe_cut_to_the_walks_keyframes(tmp_path):
    show = load(tmp_path)  # section beats: keyframes at 0, 2, 4 s (4 beats at 120 BPM)
    player = player_for(show)
    assert player.apply(StepKeyframe(1), 100.5).seek_s == pytest.approx(2.0)
    assert player.apply(StepKeyframe(1), 102.0).seek_s == pytest.approx(4.0)
    assert player.apply(StepKeyframe(-1), 102.1).seek_s == pytest.approx(0.0)  # just past 2
    assert player.apply(StepKeyframe(-1), 103.0).seek_s == pytest.approx(2.0)
    # past the last keyframe the open walk starts again (4 s: keyframe 0): next is keyframe 1
    assert player.apply(StepKeyframe(1), 104.5).seek_s == pytest.approx(6.0)
    # at 2x the tempo the walk is at beat second 3 at show time 1.5: the next keyframe, walk
    # second 4, is reached after the seek at show time 4 (beat time restarts there)
    player.apply(SetTempo(240.0), 100.0)
    assert player.apply(StepKeyframe(1), 101.5).seek_s == pytest.approx(4.0)
    assert player.apply(StepKeyframe(1), 161.0).seek_s == pytest.approx(62.0)  # 2nd section
