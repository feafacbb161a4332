"""A JACK server with the dummy backend, for the MIDI tests: real MIDI ports without a sound card.

These machines have no sound card and no ALSA sequencer (/dev/snd/seq), so the MIDI tests run on
JACK: `jackd --no-realtime -n <unique name> -d dummy`, with JACK_DEFAULT_SERVER naming it for this
process and the processes it starts. Debian's jackd2 (scripts/setup.sh --dev installs it); the
python-rtmidi wheel from PyPI has JACK compiled in (rtmidi.get_compiled_api() lists it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

START_TIMEOUT_S = 15.0


def _answers() -> bool:
    """Whether a JACK client can connect now (python-rtmidi's JACK API)."""
    import rtmidi

    try:
        rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK).get_port_count()
    except (SystemError, RuntimeError, OSError):
        return False
    return True


@contextmanager
def jack_server() -> Iterator[str]:
    """Start a dummy JACK server of a unique name (set as JACK_DEFAULT_SERVER); stop it after.

    Skips when jackd or mido/python-rtmidi with JACK support is absent (scripts/setup.sh --dev
    installs them; CI has them).
    """
    pytest.importorskip("mido", reason="MIDI tests need the midi extra (pip install -e .[midi])")
    rtmidi = pytest.importorskip("rtmidi")
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.skip("this python-rtmidi has no JACK support")
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd is not installed (Debian: jackd2; scripts/setup.sh --dev)")
    name = f"lw-test-{uuid.uuid4().hex[:10]}"
    saved = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_START_SERVER"] = "1"
    log = tempfile.TemporaryFile("w+")  # not a pipe: nobody reads it while jackd runs
    process = subprocess.Popen(
        [jackd, "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", "256"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers():
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"jackd ended: {log.read()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("jackd did not answer within 15 s")
            time.sleep(0.1)
        yield name
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def jack() -> Iterator[str]:
    """A dummy JACK server for one test; its name (JACK_DEFAULT_SERVER is set)."""
    with jack_server() as name:
        yield name
