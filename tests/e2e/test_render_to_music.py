"""`latent-walk render SHOW --audio SONG --out video.mp4` in a real process: the song's onsets
drive psi through the show's sensors, the song is muxed as AAC, and decoding the MP4 shows the
frames reacting within one frame of the sound's onsets (issue 17's A/V sync check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from synthetic_sound import click_track, write_wav

from installation.audio.files import probe
from installation.audio.track import analyse_file
from tiny_models import tiny_show_tree

REPO = Path(__file__).resolve().parents[2]
FPS = 25
SHOW_TEXT = f"""\
show:
  output: {{size_px: [64, 64], fps: {FPS}}}
models:
  tiny: {{path: ../assets/demo/demo-sg3.safetensors}}
sections:
  - name: still
    model: tiny
    duration_s: 60
    walk: {{space: w, path: linear, keyframes: [{{seed: 3}}, {{seed: 3}}]}}
    live:
      psi: {{range: [0, 2], slew_s: 0, hold_s: 60}}
sensors:
  audio.onset:                 # 1 at each onset, decaying: the image flashes from the average
    target: psi
    input: [0, 1]
    output: [0, 2]
    timeout_s: 60
"""


def test_a_render_to_music_reacts_to_the_onsets_in_sync(tmp_path):
    show = tiny_show_tree(tmp_path, SHOW_TEXT)
    samples, clicks = click_track(100.0, 6.0, first_s=0.53)
    song = write_wav(tmp_path / "song.wav", samples, channels=2)
    out = tmp_path / "video.mp4"
    done = subprocess.run([sys.executable, "-m", "installation", "render", str(show),
                           "--audio", str(song), "--out", str(out), "--batch", "4"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "render: song.wav: 0:06, " in done.stderr and ", 10 onsets" in done.stderr
    info = probe(out)  # the MP4's own sound track
    assert info.codec == "aac" and abs(info.duration_s - 6.0) < 0.1
    heard = analyse_file(out).onsets_s  # onsets of the muxed AAC, as a player plays it
    assert len(heard) == len(clicks) and np.max(np.abs(heard - clicks)) < 0.02
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    width, height = meta["size"]
    frames = np.stack([np.frombuffer(f, np.uint8).reshape(height, width, 3).astype(int)
                       for f in reader])  # fmt: skip
    assert len(frames) == 6 * FPS
    quiet = np.median(frames, axis=0)  # the average image: most frames are far from an onset
    distance = np.abs(frames - quiet).mean(axis=(1, 2, 3))
    threshold = (np.median(distance) + distance.max()) / 2
    flashes = np.flatnonzero((distance[1:] > threshold) & (distance[:-1] <= threshold)) + 1
    assert len(flashes) == len(clicks)
    # the first frame that reacts is the first one at or after the onset in the MP4's sound
    assert np.all(np.abs(flashes / FPS - heard) <= 1.0 / FPS)


def test_a_bad_sound_file_stops_the_render_before_anything_is_written(tmp_path):
    show = tiny_show_tree(tmp_path, SHOW_TEXT)
    song = tmp_path / "song.mp3"
    song.write_bytes(b"ID3" + bytes(500))  # a tag and nothing after it
    out = tmp_path / "video.mp4"
    done = subprocess.run([sys.executable, "-m", "installation", "render", str(show),
                           "--audio", str(song), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {song}: ")
    assert not out.exists()
