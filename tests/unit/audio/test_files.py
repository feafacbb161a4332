"""Sound files: the real decoder (the bundled ffmpeg) on files the tests write; every bad file is
one line naming it, and a file is streamed in blocks, never read whole."""

from __future__ import annotations

import struct
import subprocess

import numpy as np
import pytest
from PIL import Image
from synthetic_sound import RATE_HZ, click_track, tone_bursts, write_wav

from installation.audio.analysis import ANALYSIS_RATE_HZ
from installation.audio.files import BLOCK_S, AudioError, ffmpeg_exe, probe, read_blocks
from installation.audio.track import analyse_file


def wav_header(rate: int, data_bytes: int) -> bytes:
    """A 16-bit mono WAV header that claims `data_bytes` of sound."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " +
            struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_bytes))  # fmt: skip


def test_a_click_track_file_gives_tempo_onsets_and_beats(tmp_path):
    samples, clicks = click_track(120.0, 16.0)
    track = analyse_file(write_wav(tmp_path / "clicks.wav", samples, channels=2))
    assert track.info.sample_rate == RATE_HZ and track.duration_s == pytest.approx(16.0, abs=0.01)
    assert abs(track.tempo_bpm - 120.0) <= 1.0
    assert len(track.onsets_s) == len(clicks)
    assert np.max(np.abs(track.onsets_s - clicks)) <= 0.015  # the bar: +-15 ms offline
    beats = track.beats_s
    assert len(beats) >= len(clicks) - 2
    assert np.max(np.min(np.abs(beats[:, None] - clicks[None, :]), axis=1)) <= 0.015


def test_features_at_a_time_are_those_heard_by_then(tmp_path):
    samples = tone_bursts([1.0], 2.0)
    track = analyse_file(write_wav(tmp_path / "one.wav", samples))
    assert track.at(0.99)["level"] == -120.0  # silence before the burst: causal
    assert track.at(1.03)["level"] > -20.0
    assert track.at(0.0) == dict.fromkeys(track.at(0.0), 0.0)
    assert list(track.onsets_between(0.5, 1.5)) == pytest.approx([1.0], abs=0.015)


def test_other_formats_decode_the_same(tmp_path):
    samples, clicks = click_track(100.0, 8.0)
    source = write_wav(tmp_path / "clicks.wav", samples)
    flac = tmp_path / "clicks.flac"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(source), str(flac)], check=True)
    track = analyse_file(flac)
    assert track.info.codec == "flac" and abs(track.tempo_bpm - 100.0) <= 1.0
    assert np.max(np.abs(track.onsets_s - clicks)) <= 0.015


def test_a_file_is_streamed_in_blocks(tmp_path):
    path = write_wav(tmp_path / "long.wav", np.zeros(10 * RATE_HZ))
    sizes = [len(block) for block in read_blocks(probe(path))]
    assert max(sizes) == round(BLOCK_S * ANALYSIS_RATE_HZ) and len(sizes) == 10


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.wav", b"", "the sound file is empty"),
        ("noise.mp3", bytes(range(256)) * 40, "not a sound file ffmpeg can decode"),
        ("rate.wav", wav_header(1, 20) + bytes(20), "a sample rate of 1 Hz; sound files need at "
         "least 8000 Hz"),
    ],
)  # fmt: skip
def test_bad_files_give_one_line_naming_the_file(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError) as caught:
        analyse_file(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_a_ten_hour_file_is_refused_before_it_is_decoded(tmp_path):
    path = tmp_path / "ten_hours.wav"
    data_bytes = 10 * 3600 * 8000 * 2  # 576 MB of 8 kHz 16-bit: a sparse file, zeros on disk
    with open(path, "wb") as out:
        out.write(wav_header(8000, data_bytes))
        out.truncate(44 + data_bytes)
    with pytest.raises(AudioError) as caught:
        analyse_file(path)
    assert str(caught.value) == f"{path}: 10:00:00 long; a sound file is at most 4:00:00"


def test_a_picture_a_folder_and_a_missing_file(tmp_path):
    picture = tmp_path / "picture.png"
    Image.new("RGB", (8, 8)).save(picture)
    with pytest.raises(AudioError, match=r"picture.png: it holds no sound stream$"):
        probe(picture)
    with pytest.raises(AudioError, match="not a regular file"):
        probe(tmp_path)
    with pytest.raises(AudioError, match="nothing.wav: cannot read the sound file: No such file"):
        probe(tmp_path / "nothing.wav")


def test_a_truncated_file_decodes_what_is_there_or_says_why(tmp_path):
    samples, _ = click_track(120.0, 4.0)
    whole = write_wav(tmp_path / "whole.wav", samples).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) // 2])  # header says 4 s, 2 s are there
    track = analyse_file(cut)
    assert track.rows.shape[0] * track.hop_s == pytest.approx(2.0, abs=0.05)
