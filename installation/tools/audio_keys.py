"""`latent-walk audio-keys SONG`: the tempo, beats and onsets of a sound file, and a section whose
keyframes fall on its beats, to paste into a show and cut a walk to the music.

    latent-walk audio-keys song.wav          # summary + a section, a keyframe every 4 beats
    latent-walk audio-keys song.wav --every 8 --seeds 3,17,42 --model faces
    latent-walk audio-keys song.wav --list beats        # one time (s) per line
    latent-walk audio-keys song.wav --list onsets

The section starts at the song's time 0: its first keyframe holds until the first beat, and every
following keyframe sits on every --every-th beat (the segment leaving a keyframe lasts until the
next one's beat), so `render SHOW --audio song.wav` plays it in time with the song.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from installation.audio.files import AudioError
from installation.audio.track import AudioTrack, analyse_file
from installation.tools import common


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `audio-keys` subcommand's arguments."""
    p = sub.add_parser("audio-keys", help="tempo, beats and onsets of a sound file, and a "
                       "section whose keyframes fall on its beats")  # fmt: skip
    p.add_argument("audio", help="a sound file (WAV, FLAC, MP3, Ogg, AAC/M4A, ...)")
    p.add_argument("--every", type=common.positive_int, default=4, metavar="N",
                   help="a keyframe every N beats (default 4)")  # fmt: skip
    p.add_argument("--seeds", dest="key_seeds", default=None, metavar="LIST",
                   help="keyframe seeds, comma-separated, used in turn (default 1, 2, 3, ...)")
    p.add_argument("--model", default="MODEL", help="the section's model name (default MODEL)")
    p.add_argument("--name", default="music", help="the section's name (default music)")
    p.add_argument("--list", choices=("beats", "onsets"), default=None,
                   help="print only these times, one per line (seconds)")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        seeds = _seeds(args.key_seeds)
    except ValueError as err:
        print(f"audio-keys: --seeds: {err}", file=sys.stderr)
        return 2
    try:
        track = analyse_file(args.audio)
    except AudioError as err:
        print(f"audio-keys: {err}", file=sys.stderr)
        return 1
    if args.list is not None:
        times = track.beats_s if args.list == "beats" else track.onsets_s
        print("\n".join(f"{t:.3f}" for t in times))
        return 0
    print(summary(track))
    if len(track.beats_s) < 2:
        print("# too few beats for a beat-timed section", file=sys.stderr)
        return 1
    print(section_snippet(track, args.every, seeds, args.model, args.name))
    return 0


def _seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    seeds = [int(part) for part in text.split(",") if part.strip()]
    if not seeds or any(not 0 <= seed < 2**32 for seed in seeds):
        raise ValueError("expected seeds 0..4294967295, comma-separated")
    return seeds


def summary(track: AudioTrack) -> str:
    """The comment lines above the snippet."""
    info = track.info
    beats = track.beats_s
    first = f", first beat at {beats[0]:.3f} s" if len(beats) else ""
    return (f"# {info.path.name}: {info.duration_s:.2f} s, {info.codec} {info.sample_rate} Hz; "
            f"{track.tempo_bpm:.1f} BPM, {len(beats)} beats{first}, "
            f"{len(track.onsets_s)} onsets")  # fmt: skip


def section_snippet(track: AudioTrack, every: int, seeds: list[int] | None, model: str,
                    name: str) -> str:  # fmt: skip
    """A `sections:` YAML block: keyframes on every `every`-th beat, lasting the song."""
    marks = np.asarray(track.beats_s[::every], np.float64)
    ends = np.append(marks[1:], track.duration_s)
    lines = [
        f"# a keyframe every {every} beats ({every * 60.0 / track.tempo_bpm:.3f} s at "
        f"{track.tempo_bpm:.1f} BPM); paste under a show's sections:",
        "sections:",
        f"  - name: {name}",
        f"    model: {model}",
        f"    duration_s: {track.duration_s:.3f}",
        "    walk:",
        "      path: linear",
        "      easing: sine_in_out",
        "      keyframes:",
    ]
    for index, (start_s, end_s) in enumerate(zip(marks, ends, strict=True)):
        seed = seeds[index % len(seeds)] if seeds else index + 1
        hold = f", hold_s: {start_s:.3f}" if index == 0 and start_s > 0 else ""
        duration_s = max(end_s - start_s, 0.001)
        lines.append(f"        - {{seed: {seed}{hold}, duration_s: {duration_s:.3f}}}")
    return "\n".join(lines)
