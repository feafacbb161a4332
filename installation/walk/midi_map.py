"""MIDI messages -> OSC-table messages, as the show's MIDI mapping says (docs/control.md, MIDI).

Pure: time is an argument, there is no I/O and no MIDI library (control/midi.py turns mido's
messages into `MidiEvent`s and the result into commands with control/addresses.py `parse()`,
so MIDI, OSC and HTTP share one parse path). A binding maps one control (a CC number, a note or
the pitch bend, on one channel or any) either

- to a live parameter (`target`, the names sensors use: psi, cutoff, noise_strength,
  translate_x, translate_y, rotate_deg, speed, direction/<name>): the control's value is mapped
  exactly like a sensor reading (walk/sensors.py: clamp, smoothing, curve, output range; each
  binding is a one-sensor `SensorBank`), then sent as `/param/<target> value` (directions:
  `/direction/<name> value`); or
- to an OSC address with arguments (`send`): a note-on or a CC going to 64 or above is a press;
  with `toggle_args` the presses alternate between `args` and `toggle_args`.

Soft takeover (pick-up): a parameter binding whose control is not where the parameter is now
sends nothing until the control comes within PICKUP_TOLERANCE of the current value or crosses
it. The current value is what MIDI sent last (for SETTLE_S after it sent: the show glides
towards it meanwhile), else the status board's live value, else unknown (the first move takes).
A binding that had picked up lets go when another binding sends to its parameter, or when the
board shows a value away from what it sent (another source moved it).

Learn: `learn(target)` arms; the next CC or pitch bend message binds that control to `target`
(replacing the bindings of that control) and is reported in `MidiOutcome.learned`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from installation.show.schema import (
    LIVE_TARGETS,
    SENSOR_DEFAULT_TIMEOUT_S,
    Sensor,
    SensorCurve,
    Smoothing,
)
from installation.walk.sensors import SensorBank, shape

MidiKind = Literal["cc", "note", "pitchbend"]
MIDI_KINDS: tuple[str, ...] = get_args(MidiKind)
# The value range of each kind: 7-bit CC and note velocity, 14-bit signed pitch bend (MIDI 1.0).
INPUT_RANGES: dict[str, tuple[float, float]] = {
    "cc": (0.0, 127.0),
    "note": (0.0, 127.0),
    "pitchbend": (-8192.0, 8191.0),
}
PRESS_THRESHOLD = 64  # a CC bound to a command presses when it goes from below to 64 or more
PICKUP_TOLERANCE = 0.02  # of the output range: ~2.5 steps of a 7-bit fader
SETTLE_S = 2.0  # after MIDI sent a value, trust it over the board's (still gliding) value
MAX_BINDINGS = 512  # a mapping file holds at most this many (run/midi_file.py)

Parameters = Mapping[str, Mapping[str, float]]
"""StatusBoard.parameters(): name -> {"low", "high"[, "value"]} (the section playing now)."""


@dataclass(frozen=True)
class MidiEvent:
    """One MIDI message as plain numbers.

    Args:
        kind: cc, note (a note-on; velocity 0 is a note-off) or pitchbend.
        channel: 1..16, as controllers label them.
        number: the CC or note number, 0..127 (0 for pitch bend).
        value: CC value or velocity 0..127; pitch bend -8192..8191.
    """

    kind: MidiKind
    channel: int
    number: int
    value: int

    def describe(self) -> str:
        """E.g. 'cc 7 ch 1', 'note 60 ch 10', 'pitchbend ch 2'."""
        number = "" if self.kind == "pitchbend" else f" {self.number}"
        return f"{self.kind}{number} ch {self.channel}"


@dataclass(frozen=True)
class MidiBinding:
    """One control -> a live parameter (`target`) or an OSC address (`send`); exactly one is set.

    `channel` None: any channel. `output` None: the range the section playing now gives the
    parameter (its `live` entry). `curve` and `smoothing` as a sensor's. `pickup` False: the
    control takes the parameter at once (jumps).
    """

    kind: MidiKind
    number: int = 0
    channel: int | None = None
    target: str | None = None
    output: tuple[float, float] | None = None
    curve: SensorCurve = "linear"
    smoothing: Smoothing = field(default_factory=Smoothing)
    pickup: bool = True
    send: str | None = None
    args: tuple[float | str, ...] = ()
    toggle_args: tuple[float | str, ...] | None = None

    def matches(self, event: MidiEvent) -> bool:
        """Whether `event` comes from this binding's control."""
        return (
            event.kind == self.kind
            and (self.kind == "pitchbend" or event.number == self.number)
            and (self.channel is None or self.channel == event.channel)
        )

    def describe(self) -> str:
        """E.g. 'cc 7 ch 1 -> psi', 'note 60 -> /show/next'."""
        number = "" if self.kind == "pitchbend" else f" {self.number}"
        channel = "" if self.channel is None else f" ch {self.channel}"
        return f"{self.kind}{number}{channel} -> {self.target or self.send}"


@dataclass(frozen=True)
class MidiOutcome:
    """What one event asks for: OSC-table messages (address, args), and a new binding if it
    completed a learn (the caller saves the bindings)."""

    messages: tuple[tuple[str, tuple[float | str, ...]], ...] = ()
    learned: MidiBinding | None = None
    note: str = ""  # why nothing was sent, when that is worth a (rate-limited) log line


@dataclass
class _State:
    """One binding's memory between events (the MIDI thread's only)."""

    bank: SensorBank | None = None  # parameter bindings: the sensor mapping, built per range
    output: tuple[float, float] | None = None  # the range `bank` maps onto
    is_engaged: bool = False  # picked up: moves are sent
    last_position: float | None = None  # the control's last position, unsmoothed, output units
    is_pressed: bool = False  # CC commands: at or above PRESS_THRESHOLD now
    is_toggled: bool = False  # the next press sends toggle_args


@dataclass(frozen=True)
class _Sent:
    value: float
    wall_s: float
    binding: int  # index into the bindings


class MidiMap:
    """The bindings and their state: events in, OSC-table messages out (one thread only)."""

    def __init__(self, bindings: Sequence[MidiBinding] = ()) -> None:
        self._bindings: list[MidiBinding] = list(bindings)
        self._states = [_State() for _ in self._bindings]
        self._sent: dict[str, _Sent] = {}  # target -> what MIDI sent it last
        self.learning: str | None = None  # the target the next control moved is bound to

    @property
    def bindings(self) -> tuple[MidiBinding, ...]:
        return tuple(self._bindings)

    def learn(self, target: str | None) -> None:
        """Bind the next CC or pitch bend moved to `target` (None: stop waiting).

        Raises:
            ValueError: `target` is not a live parameter's name (nothing changes).
        """
        if target is not None and not is_live_target(target):
            names = ", ".join((*LIVE_TARGETS, "direction/<name>"))
            raise ValueError(f"MIDI learn: {target!r} is not a live parameter ({names})")
        self.learning = target

    def feed(self, event: MidiEvent, wall_s: float, parameters: Parameters) -> MidiOutcome:
        """One MIDI event at wall time `wall_s`.

        Args:
            event: the message.
            wall_s: its arrival time (seconds, any monotonic clock).
            parameters: the status board's parameters steerable now (ranges, live values).
        """
        if self.learning is not None and event.kind in ("cc", "pitchbend"):
            return MidiOutcome(learned=self._bind(event, self.learning))
        messages: list[tuple[str, tuple[float | str, ...]]] = []
        notes = []
        for index, binding in enumerate(self._bindings):
            if not binding.matches(event):
                continue
            if binding.target is not None:
                sent, note = self._parameter(index, binding, event, wall_s, parameters)
                messages.extend(sent)
                notes.append(note)
            else:
                messages.extend(self._command(self._states[index], binding, event))
        return MidiOutcome(tuple(messages), note="; ".join(n for n in notes if n))

    # -- parameters -------------------------------------------------------------------------

    def _parameter(
        self, index: int, binding: MidiBinding, event: MidiEvent, wall_s: float,
        parameters: Parameters,
    ) -> tuple[list[tuple[str, tuple[float | str, ...]]], str]:  # fmt: skip
        """A parameter binding's message for `event`, or none (with the reason)."""
        target = binding.target
        assert target is not None
        if event.kind == "note" and event.value == 0:
            return [], ""  # a note-off leaves the parameter where it is
        output = binding.output or _section_range(parameters.get(target))
        if output is None:
            return [], f"{binding.describe()}: {target} is not steerable in this section"
        state = self._states[index]
        if state.bank is None or state.output != output:
            state.bank, state.output = _bank(binding, output), output
        position = _position(binding, event.value, output)
        tolerance = PICKUP_TOLERANCE * abs(output[1] - output[0])
        reference = self._reference(target, wall_s, parameters)
        sent = self._sent.get(target)
        if state.is_engaged and sent is not None and (
            sent.binding != index  # another binding sent to it since
            or (reference is not None and abs(reference - sent.value) > tolerance)
        ):
            state.is_engaged = False
        if not state.is_engaged and (
            not binding.pickup
            or reference is None
            or abs(position - reference) <= tolerance
            or (
                state.last_position is not None
                and (state.last_position - reference) * (position - reference) < 0
            )
        ):
            state.is_engaged = True
            state.bank = _bank(binding, output)  # the smoothing starts afresh where it picks up
        state.last_position = position
        if not state.is_engaged:
            return [], f"{binding.describe()}: waiting to pick up {target} at {reference:.4g}"
        result = state.bank.feed("midi", (float(event.value),), wall_s)
        assert result is not None
        self._sent[target] = _Sent(result.value, wall_s, index)
        return [(target_address(target), (result.value,))], ""

    def _reference(self, target: str, wall_s: float, parameters: Parameters) -> float | None:
        """The parameter's current value as far as the control side knows it (None: unknown)."""
        sent = self._sent.get(target)
        board = (parameters.get(target) or {}).get("value")
        if sent is not None and (board is None or wall_s - sent.wall_s < SETTLE_S):
            return sent.value
        return None if board is None else float(board)

    # -- commands ---------------------------------------------------------------------------

    def _command(
        self, state: _State, binding: MidiBinding, event: MidiEvent
    ) -> list[tuple[str, tuple[float | str, ...]]]:
        """A command binding's message: on a press only."""
        assert binding.send is not None
        if event.kind == "cc":
            was_pressed, state.is_pressed = state.is_pressed, event.value >= PRESS_THRESHOLD
            is_press = state.is_pressed and not was_pressed
        else:
            is_press = event.kind == "note" and event.value > 0
        if not is_press:
            return []
        args = binding.args
        if binding.toggle_args is not None:
            if state.is_toggled:
                args = binding.toggle_args
            state.is_toggled = not state.is_toggled
        return [(binding.send, args)]

    # -- learn ------------------------------------------------------------------------------

    def _bind(self, event: MidiEvent, target: str) -> MidiBinding:
        """Bind `event`'s control to `target`, replacing the bindings of that control."""
        learned = MidiBinding(event.kind, event.number, event.channel, target=target)
        kept = [
            (binding, state)
            for binding, state in zip(self._bindings, self._states, strict=True)
            if not (binding.matches(event) and binding.kind == event.kind)
        ][: MAX_BINDINGS - 1]
        self._bindings = [binding for binding, _ in kept] + [learned]
        self._states = [state for _, state in kept] + [_State()]
        self._sent.clear()  # indices changed; the board's values take over
        self.learning = None
        return learned


def is_live_target(name: str) -> bool:
    """A name a sensor or MIDI binding may steer: LIVE_TARGETS or direction/<name>."""
    return name in LIVE_TARGETS or (name.startswith("direction/") and len(name) > 10)


def target_address(target: str) -> str:
    """The OSC address that steers `target`: /direction/<name>, else /param/<target>."""
    return f"/{target}" if target.startswith("direction/") else f"/param/{target}"


def _section_range(parameter: Mapping[str, float] | None) -> tuple[float, float] | None:
    """The range the section gives a parameter, or None when it does not steer it now."""
    if parameter is None or parameter.get("low") == parameter.get("high"):
        return None
    return (float(parameter["low"]), float(parameter["high"]))


def _bank(binding: MidiBinding, output: tuple[float, float]) -> SensorBank:
    """The binding as a one-sensor bank: the sensors' clamp, smoothing and curve, reused."""
    sensor = Sensor(
        "midi", binding.target or "", INPUT_RANGES[binding.kind], output, curve=binding.curve,
        smoothing=binding.smoothing, timeout_s=SENSOR_DEFAULT_TIMEOUT_S,
    )  # fmt: skip
    return SensorBank([sensor])


def _position(binding: MidiBinding, value: float, output: tuple[float, float]) -> float:
    """Where the control is, in output units, without smoothing (for the pick-up)."""
    start, end = INPUT_RANGES[binding.kind]
    u = min(max((value - start) / (end - start), 0.0), 1.0)
    return output[0] + shape(binding.curve, u) * (output[1] - output[0])

