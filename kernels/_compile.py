"""Loading of the compiled CUDA kernels (csrc/); for now only reports why there are none.

The cache below is the only module-level state in `kernels/` besides the selected backend name.
"""

from __future__ import annotations

import logging
from types import ModuleType

import torch

log = logging.getLogger(__name__)

_cache: tuple[ModuleType | None, str] | None = None


def load() -> tuple[ModuleType | None, str]:
    """Return (compiled kernel module or None, reason); tried once per process, then cached."""
    global _cache
    if _cache is None:
        _cache = _load_uncached()
    return _cache


def clear_cache() -> None:
    """Forget the cached load result (for tests)."""
    global _cache
    _cache = None


def _load_uncached() -> tuple[ModuleType | None, str]:
    if not torch.cuda.is_available():
        return None, "no CUDA device"
    return _build()


def _build() -> tuple[ModuleType | None, str]:
    """Hook for the kernel issue: compile csrc/*.cu for the local GPU arch and return the module."""
    return None, "CUDA kernels not built yet (kernel issue)"
