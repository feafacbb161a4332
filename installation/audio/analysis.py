"""Sound -> features, block by block: level, band energies, onset strength, onsets, tempo, beats.

One `Analyzer` serves the live input (blocks from the sound card as they come) and a file (the
same blocks, read from disk): the features of a file are what the live show would have heard.
Everything is causal: a feature at time t uses only samples up to t.

Per hop (HOP_S, about 11.6 ms):
- `level_db`: RMS of the hop's samples in dBFS (a full-scale sine is -3 dB), floor FLOOR_DB;
- `bands_db`: energy per band (BANDS_HZ: bass, mid, high) of a Hann-windowed FFT of the last
  N_FFT samples, in dB (the mean square of what the band holds: a full-scale sine in a band
  reads -3 dB there, like its level);
- `flux`: onset strength, the spectral flux: the sum of the rises of log-magnitude from the
  previous hop (Bello et al. 2005, "A tutorial on onset detection in music signals", §3.1.2);
- `onset_s`: the time of an onset found in this hop, else None. A rise of the flux over an
  adaptive threshold (median + MAD of the last ONSET_WINDOW_S), or of the hop's level by
  ONSET_LEVEL_RISE_DB over the quietest of the last hops (an attack over broadband noise, whose
  flux is high anyway), fires it, at most one per
  ONSET_REFRACTORY_S (and steady noise, whose flux flickers around its median, fires none); its
  time is then refined in the waveform: the first ENVELOPE_BLOCK of the
  recent samples whose energy reaches a quarter of their loudest block (an attack's start);
- `tempo_bpm` and `beat_phase` (0 at a beat .. 1): from the autocorrelation of the flux over the
  last TEMPO_WINDOW_S, weighted towards TEMPO_PRIOR_BPM (Ellis 2007, "Beat tracking by dynamic
  programming", §3.1), and the phase that lines a comb of beats up with the flux; `is_beat` on
  the hop where the phase wraps. No tempo (0, phase 0) until TEMPO_MIN_S of sound.

Hand-written on numpy's FFT rather than librosa: the few formulas above are all the show needs,
librosa's causal use is awkward (it analyses whole arrays), and it would pull numba and scipy
into a show install.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

ANALYSIS_RATE_HZ = 22050  # files are decoded to this; live input keeps its own rate
HOP_S = 256 / 22050  # ~11.6 ms between feature frames
FFT_HOPS = 4  # the FFT window is this many hops (~46 ms)
BANDS_HZ: tuple[tuple[str, float, float], ...] = (
    ("bass", 20.0, 250.0),
    ("mid", 250.0, 4000.0),
    ("high", 4000.0, 20000.0),
)
FLOOR_DB = -120.0
ONSET_WINDOW_S = 0.5  # the adaptive threshold looks back this far
ONSET_REFRACTORY_S = 0.05  # at most one onset per 50 ms
ONSET_MIN_FLUX = 1.0  # below this no onset (silence, hiss); flux of a click from silence: ~100
ONSET_MAD_K = 4.0  # threshold: median + this many scaled MADs ...
ONSET_RATIO = 1.5  # ... and at least this many times the median (steady noise flickers)
ONSET_LEVEL_RISE_DB = 9.0  # or: the hop's level this far above the quietest of the last few
ONSET_LEVEL_HOPS = 4  # ... hops (an attack over broadband noise barely moves the flux)
ONSET_MIN_LEVEL_DB = -60.0  # ... and at least this loud
ENVELOPE_BLOCK_S = 0.0015  # the waveform refinement's block (~1.5 ms)
TEMPO_WINDOW_S = 8.0
TEMPO_MIN_S = 2.0  # no tempo before this much sound
TEMPO_EVERY_S = 0.25  # re-estimate the tempo this often
TEMPO_RANGE_BPM = (60.0, 200.0)
TEMPO_PRIOR_BPM = 120.0  # the log-normal prior's centre (Ellis 2007: 120 BPM, 1 octave wide)
TEMPO_PRIOR_OCTAVES = 1.0
MIN_RATE_HZ, MAX_RATE_HZ = 8000, 384000


@dataclass(frozen=True)
class Features:
    """What one hop of sound sounded like (see the module docstring for each field)."""

    time_s: float  # the end of the hop: the newest sample's time
    level_db: float
    bands_db: tuple[float, ...]  # one per BANDS_HZ
    flux: float
    onset_s: float | None = None
    tempo_bpm: float = 0.0
    beat_phase: float = 0.0
    is_beat: bool = False


def hop_samples(sample_rate: int) -> int:
    """Samples per hop at `sample_rate`: a power of two near HOP_S."""
    return 1 << max(5, round(math.log2(sample_rate * HOP_S)))


def to_db(power: float) -> float:
    """Power (mean square, full scale 1) -> dB, floored at FLOOR_DB."""
    return max(10.0 * math.log10(power), FLOOR_DB) if power > 0 else FLOOR_DB


class Analyzer:
    """Turns mono float samples (-1..1) into Features, one per hop; feed any block size.

    Raises:
        ValueError: a sample rate outside MIN_RATE_HZ..MAX_RATE_HZ.
    """

    def __init__(self, sample_rate: int) -> None:
        if not MIN_RATE_HZ <= sample_rate <= MAX_RATE_HZ:
            raise ValueError(f"a sample rate of {sample_rate} Hz cannot be analysed "
                             f"({MIN_RATE_HZ}..{MAX_RATE_HZ} Hz)")  # fmt: skip
        self.sample_rate = int(sample_rate)
        self.hop = hop_samples(self.sample_rate)
        self.hop_s = self.hop / self.sample_rate
        self.n_fft = FFT_HOPS * self.hop
        self.window = np.hanning(self.n_fft + 2)[1:-1].astype(np.float32)  # no zero ends
        # bins' power -> the mean square of the signal they hold (Parseval, one-sided): a band
        # with a full-scale sine in it reads -3 dB, as the sine's level does
        self._band_scale = 2.0 / (self.n_fft * float(np.sum(self.window.astype(np.float64) ** 2)))
        freqs = np.fft.rfftfreq(self.n_fft, 1.0 / self.sample_rate)
        self._bands = [(freqs >= low) & (freqs < high) for _, low, high in BANDS_HZ]
        self._recent = np.zeros(self.n_fft + self.hop, np.float32)  # the newest samples
        self._pending = np.zeros(0, np.float32)  # samples of a hop not complete yet
        self._samples_seen = 0
        self._previous_log_mag: np.ndarray | None = None
        hops_per_s = 1.0 / self.hop_s
        self._flux_recent: deque[float] = deque(maxlen=max(4, round(ONSET_WINDOW_S * hops_per_s)))
        self._flux_tempo: deque[float] = deque(maxlen=round(TEMPO_WINDOW_S * hops_per_s))
        self._levels: deque[float] = deque(maxlen=ONSET_LEVEL_HOPS)
        self._was_above = False
        self._last_onset_s = -math.inf
        self._tempo_every = max(1, round(TEMPO_EVERY_S * hops_per_s))
        self._hops = 0
        self.tempo_bpm = 0.0
        self._beat_phase = 0.0

    @property
    def time_s(self) -> float:
        """The time of the newest sample analysed (complete hops only)."""
        return self._hops * self.hop_s

    def feed(self, samples: np.ndarray) -> list[Features]:
        """Analyse `samples` (mono, float, -1..1; any length); the Features of completed hops."""
        data = np.asarray(samples, np.float32).reshape(-1)
        if not np.isfinite(data).all():  # a broken driver: silence instead of NaN everywhere
            data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
        data = np.concatenate([self._pending, np.clip(data, -1.0, 1.0)])
        found = []
        start = 0
        while start + self.hop <= len(data):
            found.append(self._hop(data[start : start + self.hop]))
            start += self.hop
        self._pending = data[start:].copy()
        return found

    def _hop(self, new: np.ndarray) -> Features:
        """One hop's features; `new` holds its `hop` samples."""
        self._recent = np.concatenate([self._recent[self.hop :], new])
        self._hops += 1
        time_s = self._hops * self.hop_s
        level_db = to_db(float(np.mean(new.astype(np.float64) ** 2)))
        spectrum = np.fft.rfft(self._recent[-self.n_fft :] * self.window)
        power = (spectrum.real**2 + spectrum.imag**2) * self._band_scale
        bands_db = tuple(to_db(float(power[mask].sum())) for mask in self._bands)
        log_mag = np.log1p(1000.0 * np.sqrt(power))  # compressed magnitude (Bello §3.1.2)
        previous = self._previous_log_mag
        flux = 0.0 if previous is None else float(np.maximum(log_mag - previous, 0.0).sum())
        self._previous_log_mag = log_mag
        onset_s = self._onset(flux, level_db, time_s)
        self._flux_tempo.append(flux)
        if self._hops % self._tempo_every == 0:
            self._estimate_tempo()
        phase, is_beat = self._phase()
        return Features(time_s, level_db, bands_db, flux, onset_s, self.tempo_bpm, phase, is_beat)

    def _onset(self, flux: float, level_db: float, time_s: float) -> float | None:
        """The refined time of an onset whose rise (of the flux or the level) is in this hop,
        else None."""
        history = np.asarray(self._flux_recent, np.float64)
        self._flux_recent.append(flux)
        quietest_db = min(self._levels, default=level_db)
        self._levels.append(level_db)
        if len(history) < 3:
            return None
        median = float(np.median(history))
        mad = float(np.median(np.abs(history - median))) * 1.4826
        is_loud_rise = level_db >= ONSET_MIN_LEVEL_DB and level_db - quietest_db >= \
            ONSET_LEVEL_RISE_DB  # fmt: skip
        is_above = is_loud_rise or flux > max(ONSET_MIN_FLUX, median + ONSET_MAD_K * mad,
                                              ONSET_RATIO * median)  # fmt: skip
        is_rise = is_above and not self._was_above
        self._was_above = is_above
        if not is_rise or time_s - self._last_onset_s < ONSET_REFRACTORY_S:
            return None
        onset_s = self._attack_s(time_s)
        if onset_s - self._last_onset_s < ONSET_REFRACTORY_S:
            return None
        self._last_onset_s = onset_s
        return onset_s

    def _attack_s(self, time_s: float) -> float:
        """Where in the window's samples the attack starts (its first loud envelope block)."""
        block = max(8, round(ENVELOPE_BLOCK_S * self.sample_rate))
        recent = self._recent[-self.n_fft :].astype(np.float64)
        count = len(recent) // block
        energy = (recent[-count * block :] ** 2).reshape(count, block).mean(axis=1)
        loudest = float(energy.max())
        if loudest <= 0:
            return time_s
        first = int(np.argmax(energy >= 0.25 * loudest))
        return time_s - (count - first) * block / self.sample_rate

    def _estimate_tempo(self) -> None:
        """Autocorrelation of the recent flux, weighted by the tempo prior -> tempo_bpm."""
        if len(self._flux_tempo) * self.hop_s < TEMPO_MIN_S:
            return
        self.tempo_bpm = tempo_from_flux(np.asarray(self._flux_tempo), self.hop_s)

    def _phase(self) -> tuple[float, bool]:
        """(beat phase now, whether a beat fell in this hop) from the comb fit of the flux."""
        if self.tempo_bpm <= 0:
            return 0.0, False
        period = 60.0 / self.tempo_bpm / self.hop_s  # hops per beat
        flux = np.asarray(self._flux_tempo, np.float64)
        since = beats_ago(flux, period)
        phase = (since / period) % 1.0
        is_beat = phase < self._beat_phase  # wrapped
        self._beat_phase = phase
        return phase, is_beat


def tempo_from_flux(flux: np.ndarray, hop_s: float) -> float:
    """The tempo (BPM) whose beat period best repeats in the onset-strength curve `flux`.

    The autocorrelation of the mean-removed flux over lags of TEMPO_RANGE_BPM, weighted by a
    log-normal prior around TEMPO_PRIOR_BPM; the peak refined by a parabola through its
    neighbours. 0 when there is no repetition at all (silence).
    """
    x = np.asarray(flux, np.float64) - float(np.mean(flux))
    low_bpm, high_bpm = TEMPO_RANGE_BPM
    min_lag = max(1, math.floor(60.0 / high_bpm / hop_s))
    max_lag = min(len(x) - 2, math.ceil(60.0 / low_bpm / hop_s))
    if max_lag <= min_lag + 2 or not np.any(x):
        return 0.0
    size = 1 << (2 * len(x) - 1).bit_length()
    spectrum = np.fft.rfft(x, size)
    correlation = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 2]
    if correlation[0] <= 0:
        return 0.0
    lags = np.arange(len(correlation), dtype=np.float64)
    lags[0] = 1.0
    bpm = 60.0 / (lags * hop_s)
    prior = np.exp(-0.5 * (np.log2(bpm / TEMPO_PRIOR_BPM) / TEMPO_PRIOR_OCTAVES) ** 2)
    weighted = correlation * prior
    best = min_lag + int(np.argmax(weighted[min_lag : max_lag + 1]))
    if weighted[best] <= 0:
        return 0.0
    left, middle, right = correlation[best - 1], correlation[best], correlation[best + 1]
    bend = left - 2 * middle + right
    offset = 0.5 * (left - right) / bend if bend < 0 else 0.0
    return 60.0 / ((best + max(-0.5, min(0.5, offset))) * hop_s)


def beats_ago(flux: np.ndarray, period: float, beats: int = 8) -> float:
    """Hops since the last beat: the phase whose comb of `beats` beats gathers the most flux."""
    count = len(flux)
    span = int(period)
    if span < 1 or count < span:
        return 0.0
    scores = np.zeros(span)
    for j in range(beats):
        back = np.round(np.arange(span) + j * period).astype(int)
        ok = back < count
        scores[ok] += flux[count - 1 - back[ok]]
    return float(np.argmax(scores))
