"""MIDI input: a controller's faders, knobs and pads steer the show (`--midi-in NAME|auto`).

The "midi" thread owns the input port and the mapping (walk/midi_map.py `MidiMap`: bindings,
soft takeover, learn). python-rtmidi calls back on its own thread with each message; the callback
only turns it into a `MidiEvent` and queues it (bounded: a flood drops the newest and says so
once a minute). The midi thread maps events to OSC-table messages and parses them with
control/addresses.py `parse()`, the one parse path of OSC, HTTP and MIDI, then puts the commands
on the sink (control/router.py), like every source.

A port that is not there yet, or goes away (unplugged, its JACK client ended): one log line,
then a new try after each back-off wait (run/backoff.py's rule, passed in by app.py) while the
show goes on. `learn(command)` (routed here from /midi/learn by control/router.py) arms the map;
the binding it makes is saved through `save` (app.py: the mapping file, run/midi_file.py) and
reported on the status board as `midi_learn`.

mido and python-rtmidi are imported only here and only when MIDI is asked for
(`pip install latent-walk[midi]`). JACK or ALSA: `api` (docs/control.md, MIDI).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from installation.control.addresses import LogLimiter, MessageError, parse
from installation.control.router import CommandSink
from installation.control.service import ServiceThread
from installation.errors import ControlError
from installation.walk.commands import Command, MidiLearn
from installation.walk.midi_map import MidiBinding, MidiEvent, MidiMap

log = logging.getLogger(__name__)

MidiApi = Literal["auto", "alsa", "jack"]
MIDI_APIS: tuple[str, ...] = ("auto", "alsa", "jack")
_RTMIDI_APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK"}  # mido's names of rtmidi's APIs
INSTALL_HINT = "MIDI needs mido and python-rtmidi: pip install latent-walk[midi]"
THROUGH_WORDS = ("through",)  # "Midi Through" (ALSA): a loopback port, never the controller
MAX_PENDING = 1024  # events waiting for the midi thread; more are dropped (a flood)
POLL_S = 0.1  # how late stop() or a learn request may be noticed
PORT_CHECK_S = 1.0  # how often the port is looked for in the port list (unplugged?)
PARAMETERS_CACHE_S = 0.05  # the status board's parameters are read at most this often
RETRY_S = 1.0  # the wait between tries when no back-off rule is given (app.py gives one)

Parameters = Callable[[], Mapping[str, Mapping[str, float]]]
Report = Callable[[str, str], None]  # status board key, value
Save = Callable[[Sequence[MidiBinding]], str]  # -> where they were saved (raises on failure)
Backoff = Callable[[int], float]  # attempt (1-based) -> seconds to wait


def import_mido() -> Any:
    """The mido module with its rtmidi backend, or a ControlError naming the extra to install."""
    try:
        import mido
        import rtmidi  # noqa: F401  (mido's backend; fail here, not at the first port)
    except ImportError:
        raise ControlError(INSTALL_HINT) from None
    return mido


def backend(api: Literal["alsa", "jack"]) -> Any:
    """mido's rtmidi backend for `api`.

    Raises:
        ControlError: mido/python-rtmidi missing, or this python-rtmidi lacks the API.
    """
    mido = import_mido()
    # never let libjack start a server of its own (with a real sound card backend) for us
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    have = mido.Backend("mido.backends.rtmidi").module.get_api_names()
    if _RTMIDI_APIS[api] not in have:
        raise ControlError(f"this python-rtmidi has no {api} support (it has: "
                           f"{', '.join(have)})")  # fmt: skip
    return mido.Backend(f"mido.backends.rtmidi/{_RTMIDI_APIS[api]}")


def answering(api: MidiApi = "auto") -> tuple[Any, list[str]]:
    """The backend of the first MIDI system that answers (auto: ALSA, else JACK) and its input
    ports now.

    Raises:
        ControlError: no MIDI system answers (no ALSA sequencer, no JACK server), or mido and
            python-rtmidi are missing.
    """
    problems = []
    for name in ("alsa", "jack") if api == "auto" else (api,):
        try:
            midi = backend(name)  # type: ignore[arg-type]
            return midi, list(midi.get_input_names())
        except (SystemError, OSError, RuntimeError) as err:  # rtmidi: no sequencer, no server
            problems.append(f"{name}: {err}")
    raise ControlError("no MIDI system answers (" + "; ".join(problems) + ")")


def input_names(api: MidiApi = "auto") -> list[str]:
    """The MIDI input ports there are now (`latent-walk midi-ports`); raises like answering()."""
    return answering(api)[1]


def choose_port(names: Sequence[str], wanted: str) -> str | None:
    """The port to open: `auto` is the first that is not a "Through" port; else the port named
    `wanted` exactly, else the first whose name contains it (case-insensitive); None if none."""
    if wanted == "auto":
        return next((n for n in names if not any(w in n.lower() for w in THROUGH_WORDS)), None)
    if wanted in names:
        return wanted
    return next((n for n in names if wanted.lower() in n.lower()), None)


def event_of(message: Any) -> MidiEvent | None:
    """A mido message -> MidiEvent (channels 1..16); None for every other kind of message."""
    kind = message.type
    if kind == "control_change":
        return MidiEvent("cc", message.channel + 1, message.control, message.value)
    if kind == "note_on":
        return MidiEvent("note", message.channel + 1, message.note, message.velocity)
    if kind == "note_off":
        return MidiEvent("note", message.channel + 1, message.note, 0)
    if kind == "pitchwheel":
        return MidiEvent("pitchbend", message.channel + 1, 0, message.pitch)
    return None


@dataclass
class MidiCounters:
    """What the input did (the midi thread writes; others read)."""

    received: int = 0
    dropped: int = 0  # more than MAX_PENDING waiting
    sent: int = 0  # commands put on the sink
    rejected: int = 0  # messages the address table refused
    learned: int = 0
    opened: int = 0  # times a port was opened


class MidiControl(ServiceThread):
    """The MIDI input on thread "midi": port, mapping, soft takeover, learn."""

    thread_name = "midi"
    service_name = "MIDI input"

    def __init__(
        self,
        port: str,
        mapping: MidiMap,
        commands: CommandSink,
        parameters: Parameters = dict,
        *,
        api: MidiApi = "auto",
        save: Save | None = None,
        report: Report | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Map what `port` sends through `mapping` into `commands` (start() opens the port).

        Args:
            port: a port name (or part of one), or "auto".
            mapping: the bindings (read from the mapping file by app.py).
            commands: where commands go (the router in front of the command queue).
            parameters: the status board's parameters() (ranges and live values, pick-up).
            api: auto (ALSA, else JACK), alsa or jack.
            save: stores the bindings after a learn; returns where (app.py: the mapping file).
            report: status board notes (midi_in, midi_learn).
            backoff: seconds to wait before retry `n` (app.py: run/backoff.py's 1, 2, 4 ...
                30 s; default: RETRY_S each time).
        """
        super().__init__()
        import_mido()  # fail at start with the one-line hint, not on the thread
        self.wanted = port
        self.api = api
        self.mapping = mapping
        self.counters = MidiCounters()
        self.port_name: str | None = None
        self._commands = commands
        self._parameters = parameters
        self._save = save
        self._report = report or (lambda key, value: None)
        self._backoff = backoff or (lambda attempt: RETRY_S)
        self._clock = clock
        self._inbox: queue.Queue[tuple[str, Any, float]] = queue.Queue(MAX_PENDING)
        self._stopping = threading.Event()
        self._port: Any = None
        self._midi: Any = None  # the backend the port was opened with
        self._api_found: MidiApi | None = None if api == "auto" else api
        self._limiter = LogLimiter(log)
        self._cached: tuple[float, Mapping[str, Mapping[str, float]]] = (-1e9, {})

    # -- other threads ----------------------------------------------------------------------

    def learn(self, command: Command) -> None:
        """A routed /midi/learn (any thread): the midi thread arms the map."""
        if isinstance(command, MidiLearn):
            self._put(("learn", command.target, self._clock()))

    def _on_message(self, message: Any) -> None:
        """python-rtmidi's thread: queue the event, nothing more."""
        event = event_of(message)
        if event is not None:
            self._put(("midi", event, self._clock()))

    def _put(self, item: tuple[str, Any, float]) -> None:
        try:
            self._inbox.put_nowait(item)
        except queue.Full:
            self.counters.dropped += 1
            self._limiter.log("flood", logging.WARNING, "MIDI: more than %d messages waiting; "
                              "dropping the newest", MAX_PENDING)  # fmt: skip

    # -- the midi thread --------------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            if self._port is None and not self._open(attempt):
                attempt += 1
                self._serve(self._clock() + self._backoff(attempt), watch_port=False)
                continue
            self._serve(None, watch_port=True)
            attempt = 1  # the port went: that was logged, the first retry is not

    def _open(self, attempt: int) -> bool:
        """Open the wanted port; False (logged on the first failure of a streak) if it is not
        there."""
        try:
            midi, names = answering(self._api_found or self.api)
            name = choose_port(names, self.wanted)
            if name is None:
                raise LookupError(f"no input port {self.wanted!r} (ports: "
                                  f"{', '.join(names) or 'none'})")  # fmt: skip
            self._port = midi.open_input(name, callback=self._on_message)
        except ControlError as err:
            self._note_failure(attempt, str(err))
            return False
        except (LookupError, SystemError, OSError, RuntimeError, ValueError) as err:
            self._note_failure(attempt, str(err) or type(err).__name__)
            return False
        self.port_name, self._midi = name, midi
        if self._api_found is None:  # auto: retries ask the system that answered
            self._api_found = "jack" if "JACK" in str(getattr(midi, "api", "")) else "alsa"
        self.counters.opened += 1
        log.info("MIDI input: %s (%s)", name, self._api_found)
        self._report("midi_in", name)
        return True

    def _note_failure(self, attempt: int, reason: str) -> None:
        if attempt == 0:
            log.warning("MIDI input %s: %s; trying again (with back-off), the show goes on",
                        self.wanted, reason)  # fmt: skip
            self._report("midi_in", f"waiting for {self.wanted}")

    def _serve(self, until_s: float | None, watch_port: bool) -> None:
        """Handle queued events and learn requests until `until_s` (None: until the port goes)."""
        next_check_s = self._clock() + PORT_CHECK_S
        while not self._stopping.is_set():
            now_s = self._clock()
            if until_s is not None and now_s >= until_s:
                return
            if watch_port and now_s >= next_check_s:
                next_check_s = now_s + PORT_CHECK_S
                if not self._port_is_there():
                    return
            try:
                kind, payload, wall_s = self._inbox.get(timeout=POLL_S)
            except queue.Empty:
                continue
            try:
                if kind == "learn":
                    self._arm(payload)
                else:
                    self._handle(payload, wall_s)
            except Exception:  # a hole in the mapping: the input goes on, the log has it
                self._limiter.log("internal", logging.ERROR, "MIDI: failed on %r", payload,
                                  exc_info=True)  # fmt: skip

    def _port_is_there(self) -> bool:
        """False (and the port closed, one log line) when the port left the port list."""
        try:
            names = self._midi.get_input_names()
        except (SystemError, OSError, RuntimeError):
            names = []
        if self.port_name in names:
            return True
        log.warning("MIDI input %s is gone (unplugged?); trying again, the show goes on",
                    self.port_name)  # fmt: skip
        self._report("midi_in", f"waiting for {self.wanted}")
        self._close_port()
        return False

    def _arm(self, target: str) -> None:
        try:
            self.mapping.learn(target)
        except ValueError as err:
            log.error("%s", err)
            self._report("midi_learn", f"refused: {err}")
            return
        log.info("MIDI learn: move a control to bind it to %s", target)
        self._report("midi_learn", f"waiting: move a control for {target}")

    def _handle(self, event: MidiEvent, wall_s: float) -> None:
        self.counters.received += 1
        outcome = self.mapping.feed(event, wall_s, self._board_parameters(wall_s))
        if outcome.learned is not None:
            self._learned(outcome.learned)
        if outcome.note:
            self._limiter.log(f"note {outcome.note[:40]}", logging.INFO, "MIDI: %s", outcome.note)
        for address, args in outcome.messages:
            try:
                commands = parse(address, args, self._limiter)
            except MessageError as err:
                self.counters.rejected += 1
                self._limiter.log(err.log_key, logging.ERROR, "MIDI %s: %s", event.describe(),
                                  err)  # fmt: skip
                continue
            for command in commands:
                self._commands.put(command)
                self.counters.sent += 1

    def _learned(self, binding: MidiBinding) -> None:
        self.counters.learned += 1
        text = binding.describe()
        if self._save is not None:
            try:
                text += f" (saved to {self._save(self.mapping.bindings)})"
            except Exception as err:  # the file: a full disk, a read-only folder, a broken file
                text += f" (not saved: {str(err).splitlines()[0][:200]})"
                log.error("MIDI learn: %s", text)
        log.info("MIDI learn: %s", text)
        self._report("midi_learn", text)

    def _board_parameters(self, now_s: float) -> Mapping[str, Mapping[str, float]]:
        read_s, cached = self._cached
        if now_s - read_s >= PARAMETERS_CACHE_S or now_s < read_s:
            try:
                cached = self._parameters()
            except Exception:  # the board while a render thread is replaced: no pick-up info
                cached = {}
            self._cached = (now_s, cached)
        return cached

    # -- ServiceThread ----------------------------------------------------------------------

    def _request_stop(self) -> None:
        self._stopping.set()

    def _close(self) -> None:
        self._close_port()

    def _close_port(self) -> None:
        port, self._port, self.port_name = self._port, None, None
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a port whose server is gone
                log.debug("closing the MIDI port failed", exc_info=True)
