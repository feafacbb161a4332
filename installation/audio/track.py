"""A whole sound file analysed: its features at any time, its onsets, its tempo and its beats.

`analyse_file` streams the file through the live Analyzer (audio/analysis.py), so a render to
music hears what the live show would have heard, and keeps one small row of sensor readings per
hop (audio/sensors.py; about 86 rows a second, ~3 MB an hour). `AudioTrack.at(t)` is the row of
the last hop that ended at or before t: frame-exact and causal. The beats of the whole file
come from a dynamic-programming beat tracker over its onset strength at the file's tempo
(Ellis 2007, "Beat tracking by dynamic programming", §2-3): each beat is the best mix of strong
onset and a spacing close to the beat period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from installation.audio.analysis import ANALYSIS_RATE_HZ, Analyzer, tempo_from_flux
from installation.audio.files import AudioInfo, probe, read_blocks
from installation.audio.sensors import SENSOR_NAMES, SoundSensors, pulse

BEAT_TIGHTNESS = 100.0  # Ellis 2007 §3.2: how strongly beats keep to the period (100 in §4)


@dataclass
class AudioTrack:
    """An analysed sound file (see the module docstring)."""

    info: AudioInfo
    hop_s: float
    rows: np.ndarray  # [hops, len(SENSOR_NAMES)] float32: row k, the hop ending at (k+1)*hop_s
    onsets_s: np.ndarray  # refined onset times, ascending
    tempo_bpm: float  # of the whole file (0: none found)
    beats_s: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def duration_s(self) -> float:
        return self.info.duration_s

    def at(self, time_s: float) -> dict[str, float]:
        """The sensor readings heard by time_s: name -> value (zeros before the first hop).

        The onset and beat pulses start at the events' own times (the whole file is known):
        a frame at or after an onset reacts to it, where live sound reacts once the onset is
        detected, a few hops later."""
        index = math.floor(time_s / self.hop_s + 1e-9) - 1
        if index < 0 or len(self.rows) == 0:
            values = dict.fromkeys(SENSOR_NAMES, 0.0)
        else:
            row = self.rows[min(index, len(self.rows) - 1)]
            values = {name: float(value) for name, value in zip(SENSOR_NAMES, row, strict=True)}
        values["onset"] = _pulse_at(self.onsets_s, time_s)
        values["beat"] = _pulse_at(self.beats_s, time_s)
        return values

    def onsets_between(self, start_s: float, end_s: float) -> np.ndarray:
        """Onset times in [start_s, end_s)."""
        low, high = np.searchsorted(self.onsets_s, [start_s, end_s])
        return self.onsets_s[low:high]

    def beats_between(self, start_s: float, end_s: float) -> np.ndarray:
        """Beat times in [start_s, end_s)."""
        low, high = np.searchsorted(self.beats_s, [start_s, end_s])
        return self.beats_s[low:high]


def analyse_file(path: str | Path) -> AudioTrack:
    """Probe, stream and analyse a sound file (AudioError on any problem)."""
    info = probe(path)
    analyzer = Analyzer(ANALYSIS_RATE_HZ)
    sensors = SoundSensors()
    rows: list[np.ndarray] = []
    onsets: list[float] = []
    for block in read_blocks(info):
        found = analyzer.feed(block)
        readings = [sensors.readings(features) for features in found]
        rows.append(np.asarray([[r[name] for name in SENSOR_NAMES] for r in readings],
                               np.float32).reshape(-1, len(SENSOR_NAMES)))  # fmt: skip
        onsets += [f.onset_s for f in found if f.onset_s is not None]
    table = np.concatenate(rows) if rows else np.zeros((0, len(SENSOR_NAMES)), np.float32)
    flux = table[:, SENSOR_NAMES.index("flux")].astype(np.float64)
    tempo_bpm = tempo_from_flux(flux, analyzer.hop_s) if len(flux) else 0.0
    beats = track_beats(flux, analyzer.hop_s, tempo_bpm) if tempo_bpm > 0 else np.zeros(0)
    return AudioTrack(info, analyzer.hop_s, table, np.asarray(onsets), tempo_bpm,
                      _snap(beats, np.asarray(onsets), analyzer.hop_s))  # fmt: skip


def _pulse_at(events_s: np.ndarray, time_s: float) -> float:
    """The envelope of the last event at or before time_s (0 without one)."""
    index = int(np.searchsorted(events_s, time_s + 1e-9)) - 1
    return pulse(time_s - float(events_s[index])) if index >= 0 else 0.0


def track_beats(flux: np.ndarray, hop_s: float, tempo_bpm: float) -> np.ndarray:
    """Beat times (s) through the onset strength `flux` at `tempo_bpm` (Ellis 2007's DP)."""
    period = 60.0 / tempo_bpm / hop_s  # hops per beat
    strength = np.asarray(flux, np.float64)
    spread = float(np.std(strength))
    if len(strength) < 2 * period or spread <= 0:
        return np.zeros(0)
    strength = strength / spread
    count = len(strength)
    score = strength.copy()
    back = np.full(count, -1)
    offsets = np.arange(-round(2 * period), -round(period / 2) + 1)  # candidates before t
    penalty = -BEAT_TIGHTNESS * np.log(-offsets / period) ** 2
    for t in range(count):
        earlier = t + offsets
        ok = earlier >= 0
        if not ok.any():
            continue
        candidates = score[earlier[ok]] + penalty[ok]
        best = int(np.argmax(candidates))
        if candidates[best] > 0:
            score[t] += candidates[best]
            back[t] = int(earlier[ok][best])
    last_period = score[max(0, count - round(period)) :]
    t = count - len(last_period) + int(np.argmax(last_period))
    beats = []
    while t >= 0:
        beats.append(t)
        t = back[t]
    # a hop's row is its end: the beat sits in the hop's samples, at its middle on average
    return (np.asarray(beats[::-1], np.float64) + 0.5) * hop_s


def _snap(beats_s: np.ndarray, onsets_s: np.ndarray, hop_s: float) -> np.ndarray:
    """Each beat moved to an onset within two hops of it (the onsets are sample-precise)."""
    if len(onsets_s) == 0 or len(beats_s) == 0:
        return beats_s
    index = np.clip(np.searchsorted(onsets_s, beats_s), 1, len(onsets_s) - 1)
    nearest = np.where(np.abs(onsets_s[index - 1] - beats_s) <= np.abs(onsets_s[index] - beats_s),
                       onsets_s[index - 1], onsets_s[index])  # fmt: skip
    if len(onsets_s) == 1:
        nearest = np.full_like(beats_s, onsets_s[0])
    return np.where(np.abs(nearest - beats_s) <= 2 * hop_s, nearest, beats_s)
