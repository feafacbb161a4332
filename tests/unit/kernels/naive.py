"""Naive numpy definitions of the ops, written independently of kernels/ (explicit sums)."""

from __future__ import annotations

import numpy as np


def naive_upfirdn2d(x, f, up=(1, 1), down=(1, 1), pad=(0, 0, 0, 0), flip_filter=False, gain=1.0):
    """Zero-stuff, pad/crop by index mapping, explicit convolution sum, subsample; float64 numpy."""
    x = np.asarray(x, dtype=np.float64)
    f = np.ones((1, 1)) if f is None else np.asarray(f, dtype=np.float64)
    kernel = np.outer(f, f) if f.ndim == 1 else f  # a separable filter is the outer product
    kernel = kernel * gain
    upx, upy = up
    downx, downy = down
    px0, px1, py0, py1 = pad
    n, c, h, w = x.shape
    stuffed = np.zeros((n, c, h * upy, w * upx))
    for i in range(h):
        for j in range(w):
            stuffed[:, :, i * upy, j * upx] = x[:, :, i, j]
    hp, wp = h * upy + py0 + py1, w * upx + px0 + px1
    padded = np.zeros((n, c, hp, wp))
    for i in range(hp):
        for j in range(wp):
            si, sj = i - py0, j - px0
            if 0 <= si < h * upy and 0 <= sj < w * upx:
                padded[:, :, i, j] = stuffed[:, :, si, sj]
    fh, fw = kernel.shape
    out_h = (hp - fh + 1 + downy - 1) // downy
    out_w = (wp - fw + 1 + downx - 1) // downx
    out = np.zeros((n, c, out_h, out_w))
    for oi in range(out_h):
        for oj in range(out_w):
            i, j = oi * downy, oj * downx
            acc = np.zeros((n, c))
            for a in range(fh):
                for b in range(fw):
                    # true convolution: tap (a, b) of the window meets kernel[fh-1-a, fw-1-b]
                    k = kernel[a, b] if flip_filter else kernel[fh - 1 - a, fw - 1 - b]
                    acc += padded[:, :, i + a, j + b] * k
            out[:, :, oi, oj] = acc
    return out
