"""FIR filter design for StyleGAN3 layers (spec §3.6), written from the textbook formulas.

Kaiser-windowed sinc lowpass (Kaiser's empirical attenuation/beta formulas) and the radial
("jinc") 2D lowpass of the rotation-equivariant config. Loading a pickle uses the stored filters;
these functions are needed only to build a network from hyperparameters (the demo model).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def kaiser_atten(numtaps: int, width: float) -> float:
    """Stopband attenuation (dB) of a Kaiser FIR: `numtaps` taps, transition `width` (x nyq)."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def kaiser_beta(atten_db: float) -> float:
    """Kaiser window beta for a stopband attenuation in dB (Kaiser 1974)."""
    if atten_db > 50:
        return 0.1102 * (atten_db - 8.7)
    if atten_db > 21:
        return 0.5842 * (atten_db - 21) ** 0.4 + 0.07886 * (atten_db - 21)
    return 0.0


def lowpass_1d(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """Kaiser-windowed sinc lowpass with unit DC gain; cutoff, width and fs in the same unit.

    Returns:
        float64 array [numtaps].
    """
    nyq = fs / 2
    beta = kaiser_beta(kaiser_atten(numtaps, width / nyq))
    c = cutoff / nyq
    m = np.arange(numtaps) - (numtaps - 1) / 2
    h = c * np.sinc(c * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


def radial_lowpass_2d(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """Rotation-invariant (jinc) lowpass [numtaps, numtaps], separable Kaiser window, sum 1."""
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(x[:, None], x[None, :])
    j1 = torch.special.bessel_j1(torch.from_numpy(2 * np.pi * cutoff * r)).numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(r > 0, j1 / (np.pi * r), cutoff)  # limit of J1(2 pi c r) / (pi r) at r = 0
    beta = kaiser_beta(kaiser_atten(numtaps, width / (fs / 2)))
    w = np.kaiser(numtaps, beta)
    f = f * np.outer(w, w)
    return f / f.sum()
