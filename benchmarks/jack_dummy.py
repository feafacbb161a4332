"""A dummy JACK server for the benchmarks that need real audio or MIDI ports without a sound card
(audio_latency.py, control_latency.py): `jackd --no-realtime -d dummy` under a unique name, set as
JACK_DEFAULT_SERVER for this process and the processes it starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

START_S = 1.5  # jackd answers well within this on these machines


def start_dummy_jack() -> subprocess.Popen | None:
    """Start the server (48 kHz, 256-sample periods); None when jackd is not installed."""
    jackd = shutil.which("jackd")
    if jackd is None:
        return None
    name = f"lw-bench-{uuid.uuid4().hex[:8]}"
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    server = subprocess.Popen([jackd, "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000",
                               "-p", "256"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(START_S)
    return server
