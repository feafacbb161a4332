"""Sound features as sensor readings: what the show's `sensors:` block maps onto live parameters.

The live input (control/audio_in.py) and a render to music (run/offline_sound.py) publish the
same readings, made here from the analyser's Features, one set per hop:

| sensor | value |
|---|---|
| `audio.level` | RMS level, dBFS (-120 .. 0; a full-scale sine is -3) |
| `audio.bass`, `audio.mid`, `audio.high` | band energy, dB (same scale) |
| `audio.flux` | onset strength (spectral flux, 0 .. a few hundred) |
| `audio.onset` | 1 at an onset, decaying to 0 with PULSE_DECAY_S (an envelope to map) |
| `audio.beat` | 1 at a beat, decaying likewise |
| `audio.tempo` | the tempo, BPM (0 until one is found) |
| `audio.beat_phase` | 0 at a beat .. 1 just before the next |
"""

from __future__ import annotations

import math

from installation.audio.analysis import BANDS_HZ, Features

PREFIX = "audio."
PULSE_DECAY_S = 0.15  # time constant of the onset and beat envelopes
SENSOR_NAMES = ("level", *(name for name, _, _ in BANDS_HZ), "flux", "onset", "beat", "tempo",
                "beat_phase")  # fmt: skip


class SoundSensors:
    """Features -> {sensor name (without PREFIX): value}, keeping the pulses' envelopes."""

    def __init__(self) -> None:
        self._onset_s = -math.inf
        self._beat_s = -math.inf

    def readings(self, features: Features) -> dict[str, float]:
        """The sensor values at the end of the hop `features` describes."""
        now_s = features.time_s
        if features.onset_s is not None:
            self._onset_s = features.onset_s
        if features.is_beat:
            self._beat_s = now_s
        values = {"level": features.level_db}
        values.update((name, value) for (name, _, _), value in zip(BANDS_HZ, features.bands_db,
                                                                  strict=True))  # fmt: skip
        values.update(
            flux=features.flux,
            onset=pulse(now_s - self._onset_s),
            beat=pulse(now_s - self._beat_s),
            tempo=features.tempo_bpm,
            beat_phase=features.beat_phase,
        )
        return values


def pulse(age_s: float) -> float:
    """An envelope that is 1 at an event and decays with PULSE_DECAY_S."""
    return math.exp(-max(age_s, 0.0) / PULSE_DECAY_S) if age_s < 20 * PULSE_DECAY_S else 0.0
