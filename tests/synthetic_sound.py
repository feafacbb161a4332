"""Sounds the tests make themselves: click tracks, tone bursts, noise; written as real WAV files."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE_HZ = 44100


def click_track(bpm: float, seconds: float, first_s: float = 0.25,
                rate: int = RATE_HZ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(samples, click times): 2 ms Hann-shaped clicks at `bpm` from `first_s` on."""
    samples = np.zeros(round(seconds * rate))
    width = round(0.002 * rate)
    times = []
    t = first_s
    while t < seconds - 0.01:
        start = round(t * rate)
        samples[start : start + width] += 0.8 * np.hanning(width)
        times.append(start / rate)
        t += 60.0 / bpm
    return samples, np.asarray(times)


def tone(frequency_hz: float, seconds: float, amplitude: float = 0.5,
         rate: int = RATE_HZ) -> np.ndarray:  # fmt: skip
    """A sine."""
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * frequency_hz * t)


def tone_bursts(times_s: list[float], seconds: float, frequency_hz: float = 880.0,
                burst_s: float = 0.08, rate: int = RATE_HZ) -> np.ndarray:  # fmt: skip
    """Short tone bursts (5 ms attack, exponential decay) starting at `times_s`."""
    samples = np.zeros(round(seconds * rate))
    n = round(burst_s * rate)
    t = np.arange(n) / rate
    envelope = np.minimum(t / 0.005, 1.0) * np.exp(-t / (burst_s / 4))
    burst = 0.6 * envelope * np.sin(2 * np.pi * frequency_hz * t)
    for start_s in times_s:
        start = round(start_s * rate)
        samples[start : start + n] += burst[: len(samples) - start]
    return samples


def band_noise(seconds: float, low_hz: float, high_hz: float, amplitude: float = 0.05,
               seed: int = 0, rate: int = RATE_HZ) -> np.ndarray:  # fmt: skip
    """Steady noise limited to low_hz..high_hz (zeroed FFT bins outside)."""
    noise = np.random.default_rng(seed).normal(0.0, 1.0, round(seconds * rate))
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(len(noise), 1.0 / rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    shaped = np.fft.irfft(spectrum, len(noise))
    return amplitude * shaped / (np.std(shaped) + 1e-12)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE_HZ, channels: int = 1) -> Path:
    """16-bit PCM WAV (a mono signal copied to every channel)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path
