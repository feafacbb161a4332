"""release_memory hands a finished thread's freed heap back to the OS (glibc malloc_trim).

The measurement runs in a fresh interpreter: inside the test process, RSS also moves with
whatever the tests before it left behind (threads still exiting, caches), which made the
figure noisy on a busy machine.
"""

import json
import subprocess
import sys

import pytest

from installation.run.stats import _malloc_trim

_PROBE = """
import json, threading
from installation.run.stats import release_memory, rss_mb

def allocate_and_free():  # small blocks: the thread's own malloc arena, not mmap
    blocks = [bytes(1000) + bytes([i % 256]) for i in range(150_000)]
    del blocks

release_memory()
before = rss_mb()
thread = threading.Thread(target=allocate_and_free)
thread.start()
thread.join()
trimmed = release_memory()
print(json.dumps({"trimmed": trimmed, "grown_mb": rss_mb() - before}))
"""


@pytest.mark.skipif(_malloc_trim() is None, reason="no glibc malloc_trim on this C library")
def test_memory_freed_by_a_finished_thread_leaves_rss_after_release():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["trimmed"] is True
    assert result["grown_mb"] < 40  # about 150 MB were allocated and freed in the thread
