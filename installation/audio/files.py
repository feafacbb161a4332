"""Sound files in, checked and streamed: any format the bundled ffmpeg decodes (WAV, FLAC, MP3,
Ogg, AAC/M4A, ...), as mono float32 blocks at ANALYSIS_RATE_HZ.

A file is probed first (ffmpeg's stream description): it must exist, be a regular non-empty
file, hold a sound stream, have a sample rate of MIN_RATE_HZ.. and last at most MAX_AUDIO_S.
Then it is decoded through a pipe, one block at a time, so hours of sound never sit in memory at
once. Every problem is one AudioError line that names the file and says what is wrong.

The ffmpeg binary is the one imageio-ffmpeg bundles (the video writer uses it too).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from installation.audio.analysis import ANALYSIS_RATE_HZ, MIN_RATE_HZ
from installation.errors import InstallationError

MAX_AUDIO_S = 4 * 3600.0  # a long DJ set; a 10-hour file is refused
MAX_AUDIO_BYTES = 4 * 2**30  # 4 GiB: above any real song or set at any bit rate
BLOCK_S = 1.0  # decoded and analysed this much at a time
PROBE_TIMEOUT_S = 30.0
DECODE_TIMEOUT_S = 10.0  # ffmpeg may take this long to hand over one block
MESSAGE_CHARS = 300
_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: ([^,\n]+).*?(\d+) Hz")


class AudioError(InstallationError):
    """A sound file that cannot be used (one line: the file and the problem)."""


@dataclass(frozen=True)
class AudioInfo:
    """What the probe found."""

    path: Path
    codec: str
    sample_rate: int  # the file's own
    duration_s: float


def ffmpeg_exe() -> str:
    """The bundled ffmpeg binary."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe(path: str | Path) -> AudioInfo:
    """The file's sound stream: codec, sample rate, duration. Raises AudioError."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as err:
        raise AudioError(f"{path}: cannot read the sound file: {err.strerror or err}") from None
    if not path.is_file():
        raise AudioError(f"{path}: not a regular file")
    if info.st_size == 0:
        raise AudioError(f"{path}: the sound file is empty")
    if info.st_size > MAX_AUDIO_BYTES:
        raise AudioError(f"{path}: {info.st_size / 2**30:.1f} GiB; a sound file is at most "
                         f"{MAX_AUDIO_BYTES // 2**30} GiB")  # fmt: skip
    try:
        done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                              capture_output=True, timeout=PROBE_TIMEOUT_S)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise AudioError(f"{path}: reading its header took over {PROBE_TIMEOUT_S:g} s") from None
    text = done.stderr.decode("utf-8", "replace")
    stream = _AUDIO.search(text)
    if stream is None:
        reason = _last_line(text, str(path))
        if "Invalid data" in text or "could not find codec" in text.lower() or not reason:
            reason = "not a sound file ffmpeg can decode"
        elif "Stream #" in text:
            reason = "it holds no sound stream"
        raise AudioError(f"{path}: {reason}")
    codec, rate = stream.group(1).split()[0], int(stream.group(2))
    if rate < MIN_RATE_HZ:
        raise AudioError(f"{path}: a sample rate of {rate} Hz; sound files need at least "
                         f"{MIN_RATE_HZ} Hz")  # fmt: skip
    duration = _DURATION.search(text)
    if duration is None:
        raise AudioError(f"{path}: its length is unknown (a stream without a duration)")
    hours, minutes, seconds = duration.groups()
    duration_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if duration_s > MAX_AUDIO_S:
        raise AudioError(f"{path}: {_clock(duration_s)} long; a sound file is at most "
                         f"{_clock(MAX_AUDIO_S)}")  # fmt: skip
    if duration_s <= 0:
        raise AudioError(f"{path}: the sound lasts 0 s")
    return AudioInfo(path, codec, rate, duration_s)


def read_blocks(info: AudioInfo, rate: int = ANALYSIS_RATE_HZ) -> Iterator[np.ndarray]:
    """The sound as mono float32 blocks of BLOCK_S at `rate` (the last one shorter).

    Raises:
        AudioError: ffmpeg cannot decode it (its last line quoted), or stalls.
    """
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(info.path),
               "-vn", "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"]  # fmt: skip
    block_bytes = 4 * round(rate * BLOCK_S)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    total = 0
    try:
        while True:
            data = process.stdout.read(block_bytes)
            if not data:
                break
            total += len(data)
            if total > 4 * rate * (info.duration_s + 60.0):  # it said less: do not trust it
                raise AudioError(f"{info.path}: decodes to more sound than its header says")
            usable = len(data) - len(data) % 4
            yield np.frombuffer(data[:usable], np.float32).copy()
        process.wait(DECODE_TIMEOUT_S)
        if process.returncode != 0:
            reason = _last_line(process.stderr.read().decode("utf-8", "replace"), str(info.path))
            raise AudioError(f"{info.path}: cannot decode it: {reason or 'ffmpeg failed'}")
        if total == 0:
            raise AudioError(f"{info.path}: it decodes to no sound at all")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def _last_line(text: str, path: str) -> str:
    """ffmpeg's last meaningful line, with the path left out, at most MESSAGE_CHARS."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("Input #", "Metadata", "At least"))]
    if not lines:
        return ""
    line = lines[-1].replace(path, "").replace(": : ", ": ").strip(" :")
    return line[:MESSAGE_CHARS]


def _clock(seconds: float) -> str:
    """4:05:07 style."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
