"""A player process for the live sound tests: a JACK client that plays a click track.

    python tests/sound_player.py --bpm 120 --seconds 4

Opens PortAudio's default output (the JACK server named by JACK_DEFAULT_SERVER), plays silence,
prints "ready <client ports>" once its stream runs, waits for a line "go" on stdin (the test
connects its ports meanwhile), prints "playing <perf_counter>" and plays the clicks, then exits.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np
import sounddevice as sd

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_sound import click_track  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--first", type=float, default=0.25)
    args = parser.parse_args()
    rate = int(sd.query_devices(None, "output")["default_samplerate"])
    samples, _ = click_track(args.bpm, args.seconds, args.first, rate)
    samples = samples.astype(np.float32)
    position = [-1]  # -1: silence until "go"
    done = threading.Event()

    def callback(out, frames, when, status):
        start = position[0]
        if start < 0:
            out.fill(0)
            return
        chunk = samples[start : start + frames]
        out[: len(chunk), 0] = chunk
        out[len(chunk) :, 0] = 0
        position[0] = start + frames
        if start + frames >= len(samples):
            done.set()

    with sd.OutputStream(channels=1, samplerate=rate, dtype="float32", callback=callback):
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return
        position[0] = 0
        print(f"playing {time.perf_counter():.6f}", flush=True)
        done.wait(args.seconds + 10)
        time.sleep(0.2)


if __name__ == "__main__":
    main()
