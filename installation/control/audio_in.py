"""Live sound in: a sound card (or a JACK/PulseAudio port) -> analysis -> `audio.*` sensor readings.

`run_show.py --audio-in default|NAME|INDEX` starts an AudioInput: PortAudio (through the
`sounddevice` library, the `audio` extra) hands blocks of samples to a callback, which only
queues them; the analysis (audio/analysis.py, audio/sensors.py) runs on this service's own
thread, "audio", never on the render thread. Every hop (~11 ms) it puts one `SensorInput` per
reading the show's `sensors:` block maps (`audio.level`, `audio.bass`, `audio.onset`, ...) on the
command queue, where the Player maps them like any sensor (ranges, curves, smoothing, timeouts);
each new tempo estimate goes as `SetTempo`, which sections that count in beats follow.

A missing or busy device is one WARNING and the show plays on without sound; the device is tried
again every RETRY_S (doubling up to MAX_RETRY_S), so one plugged in later is picked up. A stream
that breaks off (unplugged) is closed and retried the same way. When the analysis falls behind
(a busy machine), the oldest blocks are dropped, never queued without end.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from installation.audio.analysis import Analyzer
from installation.audio.events import EventTrigger
from installation.audio.sensors import PREFIX, SoundSensors
from installation.control.addresses import MessageError
from installation.control.audio_events import message_commands, triggers
from installation.control.osc import CommandSink
from installation.control.service import ServiceThread
from installation.errors import ControlError
from installation.logs import RateLimitedLog
from installation.walk.commands import SensorInput, SetTempo

log = logging.getLogger(__name__)

RETRY_S = 2.0  # first retry of a missing device; doubles up to MAX_RETRY_S
MAX_RETRY_S = 30.0
MAX_QUEUED_BLOCKS = 64  # about 0.7 s at 48 kHz with 512-sample blocks; older ones are dropped
POLL_S = 0.1  # the audio thread looks at stop requests and retries at least this often
TEMPO_CHANGE = 0.005  # a new tempo estimate is sent when it moved by more than 0.5 %
Wanted = Callable[[], "set[str]"]  # the audio.* sensor names the playing show maps
PlayingShow = Callable[[], Any]  # the playing show (its `audio:` event rules), or None


def sounddevice_module() -> Any:
    """The `sounddevice` module, or ControlError saying how to install it."""
    try:
        import sounddevice
    except ImportError as err:
        raise ControlError(f"live sound input needs the audio extra: pip install "
                           f"'latent-walk[audio]' (and PortAudio: Debian libportaudio2) "
                           f"({err})") from None  # fmt: skip
    except OSError as err:  # the module is there, the PortAudio library is not
        raise ControlError(f"live sound input needs PortAudio (Debian: libportaudio2): {err}") \
            from None  # fmt: skip
    return sounddevice


def input_devices() -> list[dict[str, Any]]:
    """Input devices PortAudio sees: [{"index", "name", "hostapi", "channels", "rate"}]."""
    sd = sounddevice_module()
    apis = sd.query_hostapis()
    return [
        {"index": index, "name": device["name"], "hostapi": apis[device["hostapi"]]["name"],
         "channels": device["max_input_channels"], "rate": device["default_samplerate"]}
        for index, device in enumerate(sd.query_devices())
        if device["max_input_channels"] > 0
    ]  # fmt: skip


class AudioInput(ServiceThread):
    """Captures sound and publishes `audio.*` sensor readings (module docstring).

    Args:
        device: "default", a device index, or a part of a device's name (case-insensitive).
        commands: the render thread's command queue.
        wanted: the audio.* sensor names the playing show maps (called every hop; cheap).
        show: the playing show, for its `audio:` block's onset and beat rules (None: none).
    """

    thread_name = "audio"
    service_name = "sound input"
    stop_timeout_s = 3.0

    def __init__(
        self, device: str, commands: CommandSink, wanted: Wanted, show: PlayingShow | None = None
    ) -> None:
        super().__init__()
        self.sd = sounddevice_module()
        self.device = device
        self.commands = commands
        self.wanted = wanted
        self.playing_show = show or (lambda: None)
        self._triggers: tuple[Any, dict[str, EventTrigger]] = (None, {})
        self.events_sent = 0
        self.tempo_sent = 0.0  # the last tempo sent (SetTempo); 0: none yet
        self.event_log = RateLimitedLog(log, interval_s=60.0)
        self.blocks: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(MAX_QUEUED_BLOCKS)
        self.stopping = threading.Event()
        self.dropped_blocks = 0
        self.hops = 0
        self.sample_rate = 0
        self.device_name = ""
        self.is_open = False
        self.analyzer: Analyzer | None = None
        self.sensors = SoundSensors()
        self.status_log = RateLimitedLog(log, interval_s=60.0)

    # -- the audio thread ---------------------------------------------------------------------

    def _run(self) -> None:
        retry_s = RETRY_S
        while not self.stopping.is_set():
            try:
                stream = self._open()
            except Exception as err:  # PortAudioError, ValueError: no such device, busy
                log.warning("sound input %r not available: %s; trying again in %.0f s",
                            self.device, err, retry_s)  # fmt: skip
                self.stopping.wait(retry_s)
                retry_s = min(2 * retry_s, MAX_RETRY_S)
                continue
            retry_s = RETRY_S
            try:
                self._listen(stream)
            except Exception:  # a bug, or a stream that broke off: log, reopen
                log.exception("sound input %r stopped; opening it again", self.device_name)
            finally:
                self.is_open = False
                try:
                    stream.close(ignore_errors=True)
                except Exception:  # noqa: BLE001  (closing a dead stream)
                    pass

    def _open(self) -> Any:
        """Open and start the input stream at the device's own rate (mono)."""
        self._refresh_devices()
        device = self._find_device()
        info = self.sd.query_devices(device, "input")
        self.sample_rate = int(info["default_samplerate"])
        self.device_name = str(info["name"])
        analyzer = Analyzer(self.sample_rate)  # refuses rates it cannot analyse
        stream = self.sd.InputStream(device=device, channels=1, samplerate=self.sample_rate,
                                     blocksize=analyzer.hop, dtype="float32",
                                     callback=self._callback)  # fmt: skip
        stream.start()
        self.analyzer = analyzer
        self.sensors = SoundSensors()
        self.is_open = True
        log.info("sound input open device=%r rate=%d hop=%d", self.device_name, self.sample_rate,
                 analyzer.hop)  # fmt: skip
        return stream

    def _refresh_devices(self) -> None:
        """Let PortAudio look at the devices again (it lists them once, when it starts): a sound
        card plugged in, or a JACK server started, after the show started. sounddevice's
        maintainer documents this pair of calls for it (python-sounddevice issue #125); no
        stream of ours is open here, and the show opens no other."""
        self.sd._terminate()
        self.sd._initialize()

    def _find_device(self) -> int | None:
        """PortAudio's index for `device` ("default": None), or ValueError."""
        text = self.device.strip()
        if text.lower() == "default":
            return None
        if text.isdigit():
            return int(text)
        matches = [d for d in input_devices() if text.lower() in d["name"].lower()]
        if not matches:
            names = ", ".join(repr(d["name"]) for d in input_devices()) or "none"
            raise ValueError(f"no input device named like {text!r} (inputs: {names})")
        return int(matches[0]["index"])

    def _callback(self, data: np.ndarray, frames: int, when: Any, status: Any) -> None:
        """PortAudio's thread: queue a copy of the block; never block, never analyse here."""
        if status:
            self.status_log.log(logging.WARNING, "sound input status: %s", status)
        block = (data[:, 0].copy(), time.perf_counter())
        try:
            self.blocks.put_nowait(block)
        except queue.Full:  # the analysis fell behind: the oldest block goes
            self.dropped_blocks += 1
            try:
                self.blocks.get_nowait()
                self.blocks.put_nowait(block)
            except (queue.Empty, queue.Full):
                pass

    def _listen(self, stream: Any) -> None:
        """Analyse queued blocks and publish readings until stopped or the stream ends."""
        while not self.stopping.is_set():
            if not stream.active:
                raise RuntimeError("the stream ended")
            try:
                samples, _ = self.blocks.get(timeout=POLL_S)
            except queue.Empty:
                continue
            assert self.analyzer is not None  # set by _open
            for features in self.analyzer.feed(samples):
                self.hops += 1
                readings = self.sensors.readings(features)
                for name in self.wanted():
                    value = readings.get(name.removeprefix(PREFIX))
                    if value is not None:
                        self.commands.put(SensorInput(name, (float(value),)))
                if features.tempo_bpm > 0 and abs(features.tempo_bpm - self.tempo_sent) > \
                        TEMPO_CHANGE * features.tempo_bpm:  # fmt: skip
                    self.tempo_sent = features.tempo_bpm
                    self.commands.put(SetTempo(features.tempo_bpm))
                if features.onset_s is not None:
                    self._event("onset", features.onset_s)
                if features.is_beat:
                    self._event("beat", features.time_s)

    def _event(self, kind: str, time_s: float) -> None:
        """An onset or a beat: the playing show's rule for it may send a message."""
        show = self.playing_show()
        if show is not self._triggers[0]:  # a new show (a reload): its rules, counted afresh
            self._triggers = (show, triggers(show) if show is not None else {})
        trigger = self._triggers[1].get(kind)
        message = trigger.fire(time_s) if trigger is not None else None
        if message is None:
            return
        try:
            for command in message_commands(message):
                self.commands.put(command)
            self.events_sent += 1
        except MessageError as err:  # a reloaded show's typo: checked at start, not at reload
            self.event_log.log(logging.WARNING, "audio.on_%s message dropped: %s", kind, err)

    def _request_stop(self) -> None:
        self.stopping.set()

    def _close(self) -> None:
        log.info("sound input stopped hops=%d events_sent=%d dropped_blocks=%d", self.hops,
                 self.events_sent, self.dropped_blocks)  # fmt: skip
