"""The sound analysis against issue 17's bars, on sounds made here, with figures to quote.

- tempo of click tracks at 70..180 BPM, offline (a whole file) and live (the Analyzer's estimate
  at the end): error in BPM (bar: within 1 BPM at 120);
- onsets of tone bursts over noise, offline: error median and max (bar: within 15 ms);
- bands: a 60 Hz tone against a 5 kHz tone, in the bass and the high band (bar: >= 20 dB apart);
- speed: seconds of sound analysed per second of CPU (the live input needs well over 1).

    python benchmarks/audio_analysis.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from machine import cpu_description  # noqa: E402
from synthetic_sound import RATE_HZ, band_noise, click_track, tone, tone_bursts, write_wav  # noqa: E402

from installation.audio.analysis import Analyzer  # noqa: E402
from installation.audio.track import analyse_file  # noqa: E402


def live(samples: np.ndarray) -> list:
    analyzer = Analyzer(RATE_HZ)
    found = []
    for start in range(0, len(samples), 1024):
        found += analyzer.feed(samples[start : start + 1024])
    return found


def main() -> None:
    print(cpu_description())
    with tempfile.TemporaryDirectory() as tmp:
        print("\n| click track | offline BPM | error | live BPM | error |")
        print("|---:|---:|---:|---:|---:|")
        for bpm in (70.0, 90.0, 120.0, 128.0, 140.0, 174.0):
            samples, _ = click_track(bpm, 20.0)
            track = analyse_file(write_wav(Path(tmp) / "c.wav", samples))
            now = live(samples)[-1].tempo_bpm
            print(f"| {bpm:g} | {track.tempo_bpm:.2f} | {track.tempo_bpm - bpm:+.2f} | {now:.2f} "
                  f"| {now - bpm:+.2f} |")  # fmt: skip
        rng = np.random.default_rng(1)
        times = np.sort(rng.uniform(0.2, 29.5, 60))
        times = times[np.concatenate([[True], np.diff(times) > 0.12])]
        samples = tone_bursts(list(times), 30.0) + band_noise(30.0, 100, 8000, amplitude=0.02)
        track = analyse_file(write_wav(Path(tmp) / "b.wav", samples))
        errors = [np.min(np.abs(track.onsets_s - t)) * 1000 for t in times]
        print(f"\nonsets of {len(times)} tone bursts over noise (offline): found "
              f"{len(track.onsets_s)}, error median {np.median(errors):.2f} ms, max "
              f"{max(errors):.2f} ms (bar 15 ms)")  # fmt: skip
        low, high = live(tone(60.0, 2.0))[-1].bands_db, live(tone(5000.0, 2.0))[-1].bands_db
        print(f"bands: 60 Hz tone bass {low[0]:.1f} dB / high {low[2]:.1f} dB; 5 kHz tone bass "
              f"{high[0]:.1f} dB / high {high[2]:.1f} dB: apart by {low[0] - high[0]:.1f} dB "
              f"(bass) and {high[2] - low[2]:.1f} dB (high) (bar 20 dB)")  # fmt: skip
        samples, _ = click_track(120.0, 60.0)
        started = time.process_time()
        live(samples)
        cpu_s = time.process_time() - started
        print(f"speed: 60 s of 44.1 kHz sound analysed in {cpu_s:.2f} s of CPU "
              f"({60.0 / cpu_s:.0f}x real time)")  # fmt: skip


if __name__ == "__main__":
    main()
