"""The one exponential back-off: the render-thread recovery and the process keeper both wait
1, 2, 4 ... seconds (up to a maximum) before starting again."""

from __future__ import annotations

MAX_DOUBLINGS = 30  # 2**30 times the first wait is past any maximum; no float overflow beyond


def backoff_s(attempt: int, first_s: float, max_s: float) -> float:
    """Wait before restart number `attempt` in a row (1-based): first_s doubled each time, capped.

    Args:
        attempt: 1 for the first restart of a streak (0 or less counts as 1).
        first_s: the first wait, seconds.
        max_s: the longest wait, seconds.
    """
    doublings = min(max(attempt - 1, 0), MAX_DOUBLINGS)
    return min(first_s * 2.0**doublings, max_s)
