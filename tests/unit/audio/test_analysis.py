"""The sound analysis on sounds of known content: tempo, onsets, bands, beats (issue 17 bars)."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_sound import RATE_HZ, band_noise, click_track, tone, tone_bursts

from installation.audio.analysis import Analyzer, hop_samples, tempo_from_flux


def analyse(samples: np.ndarray, rate: int = RATE_HZ, block: int = 1000):
    analyzer = Analyzer(rate)
    found = []
    for start in range(0, len(samples), block):  # blocks as a sound card would hand them over
        found += analyzer.feed(samples[start : start + block])
    return analyzer, found


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_the_tempo_of_a_click_track_within_one_bpm(bpm):
    samples, _ = click_track(bpm, 12.0)
    _, found = analyse(samples)
    assert abs(found[-1].tempo_bpm - bpm) <= 1.0


def test_onsets_of_tone_bursts_within_15_ms_over_noise():
    times = [0.31, 0.77, 1.2, 1.9, 2.05, 2.6, 3.33, 4.1]
    samples = tone_bursts(times, 5.0) + band_noise(5.0, 100, 8000, amplitude=0.02)
    _, found = analyse(samples)
    onsets = np.asarray([f.onset_s for f in found if f.onset_s is not None])
    assert len(onsets) == len(times)
    assert np.max(np.abs(onsets - np.asarray(times))) <= 0.015


def test_steady_noise_and_tones_fire_no_onsets():
    _, found = analyse(band_noise(4.0, 50, 15000, amplitude=0.2) + tone(440.0, 4.0, 0.3))
    assert [f.onset_s for f in found[10:] if f.onset_s is not None] == []


def test_bands_separate_60_hz_from_5_khz_by_20_db():
    _, low = analyse(tone(60.0, 1.0))
    _, high = analyse(tone(5000.0, 1.0))
    bass_low, _, high_low = low[-1].bands_db
    bass_high, _, high_high = high[-1].bands_db
    assert bass_low - bass_high >= 20.0 and high_high - high_low >= 20.0
    assert high[-1].level_db == pytest.approx(-9.03, abs=0.05)  # amplitude 0.5: -9 dBFS
    assert bass_low == pytest.approx(-9.03, abs=0.5)  # a band holds its sine's mean square


def test_beats_follow_the_clicks_and_the_phase_counts_up():
    samples, clicks = click_track(120.0, 10.0)
    _, found = analyse(samples)
    beats = np.asarray([f.time_s for f in found if f.is_beat])
    late = beats[beats > 4.0]
    assert len(late) >= 10
    # a beat is flagged on the hop that holds it or the next: within two hops of the click
    assert np.max(np.min(np.abs(late[:, None] - clicks[None, :]), axis=1)) <= 0.03
    phases = [f.beat_phase for f in found if 6.0 <= f.time_s < 6.24]
    assert np.all(np.diff(phases) > 0)  # no beat in 6.0..6.24 (clicks at 5.75, 6.25)
    # far from a beat: the phase says how far; clicks at 0.25 + k/2 s
    at = next(f for f in found if f.time_s >= 6.0)
    assert at.beat_phase == pytest.approx((6.0 - 5.75) / 0.5, abs=0.06)


def test_silence_gives_floor_levels_no_tempo_and_nan_is_silence():
    analyzer, found = analyse(np.zeros(3 * RATE_HZ))
    assert found[-1].level_db == -120.0 and found[-1].tempo_bpm == 0.0
    assert all(f.onset_s is None for f in found)
    broken = analyzer.feed(np.full(4096, np.nan))
    assert broken and all(f.level_db == -120.0 for f in broken)


def test_any_block_size_gives_the_same_features():
    samples, _ = click_track(100.0, 3.0)
    _, small = analyse(samples, block=17)
    _, large = analyse(samples, block=44100)
    assert [(f.time_s, f.onset_s, f.level_db) for f in small] == [
        (f.time_s, f.onset_s, f.level_db) for f in large]  # fmt: skip


def test_sample_rates_outside_the_range_are_refused():
    with pytest.raises(ValueError, match="1 Hz cannot be analysed"):
        Analyzer(1)
    assert hop_samples(22050) == 256 and hop_samples(48000) == 512


def test_no_tempo_in_a_curve_without_repetition():
    assert tempo_from_flux(np.zeros(1000), 0.0116) == 0.0


def test_every_burst_of_a_busy_passage_over_broadband_noise_is_found():
    """Attacks 0.12 .. 1 s apart over noise whose own flux is high: the level rise finds them."""
    rng = np.random.default_rng(1)
    times = np.sort(rng.uniform(0.2, 14.5, 30))
    times = times[np.concatenate([[True], np.diff(times) > 0.12])]
    samples = tone_bursts(list(times), 15.0) + band_noise(15.0, 100, 8000, amplitude=0.02)
    _, found = analyse(samples)
    onsets = np.asarray([f.onset_s for f in found if f.onset_s is not None])
    assert len(onsets) == len(times)
    assert np.max(np.abs(onsets - times)) <= 0.015
