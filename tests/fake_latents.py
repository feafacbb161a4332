"""Hand-made section latents for timeline tests (duck-typed SectionLatents, no model needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NUM_WS, W_DIM = 4, 3


@dataclass(frozen=True)
class FakeLatents:
    """Hand-made section latents (duck-typed SectionLatents)."""

    keyframes: np.ndarray
    mixing_sources: tuple[np.ndarray, ...] = ()
    directions: tuple[np.ndarray, ...] = ()
    w_avg: np.ndarray = field(default_factory=lambda: np.zeros(W_DIM))
    num_ws: int = NUM_WS


def constant_ws(*values: float) -> np.ndarray:
    """[K, num_ws, w_dim] keyframes, keyframe k filled with values[k]."""
    return np.stack([np.full((NUM_WS, W_DIM), v, dtype=np.float32) for v in values])
