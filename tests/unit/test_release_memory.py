"""release_memory hands a finished thread's freed heap back to the OS (glibc malloc_trim)."""

import threading

import pytest

from installation.stats import _malloc_trim, release_memory, rss_mb


@pytest.mark.skipif(_malloc_trim() is None, reason="no glibc malloc_trim on this C library")
def test_memory_freed_by_a_finished_thread_leaves_rss_after_release():
    def allocate_and_free() -> None:  # small blocks: the thread's own malloc arena, not mmap
        blocks = [bytes(1000) + bytes([i % 256]) for i in range(150_000)]
        del blocks

    release_memory()
    before_mb = rss_mb()
    thread = threading.Thread(target=allocate_and_free)
    thread.start()
    thread.join()
    assert release_memory() is True
    assert rss_mb() - before_mb < 40  # about 150 MB were allocated and freed in the thread
