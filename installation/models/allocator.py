"""glibc malloc settings for generation on the CPU: keep big freed buffers for reuse.

By default glibc hands every allocation above a dynamic threshold (128 KiB at first, growing
to at most 32 MiB) to a fresh mmap and gives it back with munmap when freed, so each
generator call page-faults and zeroes its activations again (issue 19 measured 35 s of system
time against 67 s of user time). `keep_freed_buffers()` serves buffers up to 32 MiB from the
heap and keeps freed memory there for the next call. It is process-wide: the program calls it
once at startup (the render thread's periodic malloc_trim still returns memory to the OS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # mallopt parameters (glibc malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest allowed mmap threshold on 64-bit
TRIM_THRESHOLD_BYTES = 256 << 20  # free heap kept before glibc trims it on its own


def keep_freed_buffers() -> bool:
    """Set glibc's mmap and trim thresholds (see module docstring); False where it can't."""
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path) if path else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.info("malloc: no glibc mallopt here; allocator left as it is")
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    ok = bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and ok
    log.info(
        "malloc: mmap threshold %d MiB, trim threshold %d MiB (%s)",
        MMAP_THRESHOLD_BYTES >> 20, TRIM_THRESHOLD_BYTES >> 20, "set" if ok else "refused",
    )  # fmt: skip
    return ok
