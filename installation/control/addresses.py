"""The OSC address table: address -> argument types -> commands, in one place (docs/osc.md).

Every address the app understands is one `Address` entry of `ADDRESSES`. The entry holds the
pattern, the argument spec (types, ranges, which are optional), a one-line description, an
example, the kind of tablet control that suits it (for a TouchOSC layout generator) and the
function that turns the checked arguments into commands. `parse()` is the one entry point: it
checks a message against the table and returns the commands, or raises `MessageError`. It needs
no socket, so the OSC handlers are tested by calling it directly.

Argument rules (the same for every address):
- Numbers may come as int, float, bool (True/False -> 1/0) or numeric strings ("0.5", " 2 ",
  "1e-1"), because TouchDesigner sends strings. NaN, infinities and other strings are rejected,
  and so are numeric strings longer than MAX_NUMBER_CHARS and numbers beyond a float's range
  (overflow: the OSC server logs those once a minute per sender host).
- Out-of-range numbers are clamped into the range and logged (WARNING, once per address and
  argument per minute, then a count of the suppressed ones).
- `int` arguments round floats (TouchOSC faders send floats).
- Buttons: an address that takes no value also accepts one number, the button state; 0 (the
  release of a TouchOSC button) does nothing, so a press acts once. A nil argument (OSC type
  tag "N", sent by OSCQuery clients for a button of TYPE "N") is a press.
- Incoming address patterns (`*`, `?`, `[..]`, `{..}`) are not expanded: send exact addresses.
- An address whose last argument repeats (`/sensor/<name>`) takes 1..`max_repeats` of it.
"""

from __future__ import annotations

import logging
import math
import re
import reprlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from installation.errors import ControlError
from installation.logs import RateLimitedLog
from installation.walk.commands import (
    Blackout,
    Bookmark,
    Command,
    GlideTo,
    GoToSection,
    JumpSection,
    ListPresets,
    LoadShow,
    MidiLearn,
    RecallPreset,
    ReloadShow,
    SavePreset,
    Seek,
    SensorInput,
    SetLive,
    SetMixing,
    SetNoiseMode,
    SetPaused,
    SetSpeed,
    SetTempo,
    StepKeyframe,
    TogglePause,
)

log = logging.getLogger(__name__)

ArgKind = Literal[
    "float", "int", "bool", "button", "section", "show_name", "latent_name", "preset_name",
    "choice", "param_name",
]
Widget = Literal["button", "toggle", "fader", "xy", "text"]

LOG_INTERVAL_S = 60.0  # one line per address and reason per minute (issue 5)
MAX_NAME_CHARS = 100  # section, show, direction and parameter names
MAX_SENSOR_VALUES = 16  # values of one /sensor message (show/schema.py SENSOR_MAX_VALUES)
MAX_SEED = 2**32 - 1  # np.random.RandomState takes seeds 0..2**32-1
MAX_GLIDE_S = 60.0
MAX_NUMBER_CHARS = 64  # a numeric string; longer ones are refused before they are parsed
MAX_WS_ROWS = 32  # more ws rows than any StyleGAN2/3 network has (18 at 1024 px)
# A decimal number with optional exponent; no nan/inf, no hex, no underscores.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_SHOW_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_DIRECTION_NAME = r"[A-Za-z0-9_.-]+"
_PARAM_NAME = r"[A-Za-z0-9_/-]+"
_LIVE_NAME = r"[A-Za-z0-9_./-]+"  # psi, direction/<name> (npz entries: stem.entry)
_SENSOR_NAME = r"[A-Za-z0-9_.-]+"  # as show/load.py accepts for a sensor's name
_NAME_NOUNS = {
    "show_name": "show name",
    "latent_name": "stored latent's name",
    "preset_name": "preset or bookmark name",
}


class MessageError(ControlError):
    """A message was rejected; `log_key` groups messages whose errors are logged together.

    `is_overflow`: a number too long or too large (the server keys its log by sender host).
    """

    def __init__(self, message: str, log_key: str, is_overflow: bool = False) -> None:
        super().__init__(message)
        self.log_key = log_key
        self.is_overflow = is_overflow


class LogLimiter:
    """One `RateLimitedLog` per key (address + reason); at most `max_keys` keys, then shared."""

    def __init__(
        self,
        logger: logging.Logger = log,
        interval_s: float = LOG_INTERVAL_S,
        max_keys: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.max_keys = max_keys
        self.clock = clock
        self._logs: dict[str, RateLimitedLog] = {}

    def log(self, key: str, level: int, msg: str, *args: object, exc_info: bool = False) -> bool:
        """Log `msg % args` unless a line with this key was written within the interval."""
        limited = self._logs.get(key)
        if limited is None:
            if len(self._logs) >= self.max_keys:
                key = "(other keys)"
                limited = self._logs.get(key)
            if limited is None:
                limited = RateLimitedLog(self.logger, self.interval_s, self.clock)
                self._logs[key] = limited
        return limited.log(level, msg, *args, exc_info=exc_info)

    def flush(self) -> None:
        """Write every pending "suppressed N similar" line (e.g. at shutdown)."""
        for limited in self._logs.values():
            limited.flush()


DEFAULT_LIMITER = LogLimiter()


@dataclass(frozen=True)
class Arg:
    """One argument of an address.

    Args:
        name: shown in docs and error messages.
        kind: float/int (clamped into low..high), bool (0/1, true/false; nonzero is true),
            button (optional press state, 0 = release), section (index or name), show_name
            latent_name and preset_name (a file stem: letters, digits, _ - .), choice (one of
            `choices`), param_name (a live parameter's name: psi, direction/<name>, ...).
        low, high: the range for float/int; None = unbounded on that side.
        default: the value when the argument is left out; None = required.
        unit: e.g. "s", "deg"; for the docs.
        choices: the words a choice accepts (case-insensitive).
    """

    name: str
    kind: ArgKind
    low: float | None = None
    high: float | None = None
    default: float | str | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()

    @property
    def is_optional(self) -> bool:
        return self.default is not None

    def describe(self) -> str:
        """E.g. 'speed: float 0.05..10', '[fade_s: float 0..60 s = 1]'."""
        kind = {
            "float": "float",
            "int": "int",
            "bool": "0|1",
            "button": "1|0",
            "section": "int|str",
            "show_name": "str",
            "latent_name": "str",
            "preset_name": "str",
            "choice": "|".join(self.choices),
            "param_name": "str",
        }[self.kind]
        text = f"{self.name}: {kind}"
        if self.low is not None or self.high is not None:
            low = "" if self.low is None else _fmt(self.low)
            high = "" if self.high is None else _fmt(self.high)
            text += f" {low}..{high}"
        if self.unit:
            text += f" {self.unit}"
        if self.is_optional:
            text = f"[{text} = {_fmt(self.default)}]"
        return text


ToCommands = Callable[[str, tuple[Any, ...]], list[Command]]
"""(placeholder value or "", checked argument values) -> commands."""


@dataclass(frozen=True)
class Address:
    """One OSC address: pattern, arguments, what it does and the commands it makes.

    `pattern` is an exact address, or ends in one `<name>` placeholder whose text must match
    `name_regex` (e.g. `/direction/<name>`).
    """

    pattern: str
    args: tuple[Arg, ...]
    description: str
    example: str
    to_commands: ToCommands
    group: str
    widget: Widget = "button"
    name_regex: str | None = None
    max_repeats: int = 1  # >1: the last argument may come this many times (at least once)

    @property
    def prefix(self) -> str:
        """The fixed part before a placeholder (the whole pattern if there is none)."""
        return self.pattern.split("<", 1)[0]

    @property
    def min_args(self) -> int:
        return sum(1 for arg in self.args if not arg.is_optional)

    @property
    def max_args(self) -> int:
        return len(self.args) + self.max_repeats - 1

    def arg_at(self, index: int) -> Arg:
        """The spec of argument `index` (the last one repeats)."""
        return self.args[min(index, len(self.args) - 1)]

    def describe_args(self) -> str:
        """The argument spec in one line, e.g. 'level: float 0..1 [fade_s: float 0..60 s = 1]'."""
        text = " ".join(arg.describe() for arg in self.args) or "-"
        if self.max_repeats > 1:
            text += f" (1..{self.max_repeats} of them)"
        return text


def _trigger(command: Command) -> ToCommands:
    """A button: no value or a nonzero press state acts; 0 (release) does nothing."""
    return lambda _name, values: [command] if values[0] else []


_PRESS = Arg("press", "button", default=1)
_FADE = Arg("fade_s", "float", 0.0, 60.0, default=1.0, unit="s")
_SEED = Arg("seed", "int", 0, MAX_SEED)
_GLIDE = Arg("glide_s", "float", 0.0, MAX_GLIDE_S, default=2.0, unit="s")
_NOISE_MODES = ("const", "random", "none", "show")
_PRESET = Arg("name", "preset_name")


def _mixing(_name: str, values: tuple[Any, ...]) -> list[Command]:
    """`/mixing seed [first] [stop]`: stop -1 means up to the last row."""
    seed, first, stop = values
    if stop != -1 and stop <= first:
        raise MessageError(
            f"/mixing: stop ({stop}) must be > first ({first}), or -1 for all rows from first",
            "/mixing rows",
        )
    return [SetMixing(seed, first, None if stop == -1 else stop)]


ADDRESSES: tuple[Address, ...] = (
    Address(
        "/show/play", (_PRESS,), "Resume the show clock.", "/show/play",
        _trigger(SetPaused(False)), "show",
    ),
    Address(
        "/show/pause", (_PRESS,), "Pause the show clock.", "/show/pause",
        _trigger(SetPaused(True)), "show",
    ),
    Address(
        "/show/toggle", (_PRESS,), "Pause if playing, play if paused.", "/show/toggle",
        _trigger(TogglePause()), "show",
    ),
    Address(
        "/show/paused", (Arg("is_paused", "bool"),),
        "Pause (1) or play (0): for a toggle control.", "/show/paused 1",
        lambda _n, v: [SetPaused(v[0])], "show", "toggle",
    ),
    Address(
        "/show/section", (Arg("section", "section", low=0),),
        "Go to the start of a section by 0-based index or by name.", "/show/section intro",
        lambda _n, v: [GoToSection(v[0])], "show", "text",
    ),
    Address(
        "/show/next", (_PRESS,), "Go to the start of the next section (wraps).", "/show/next",
        _trigger(JumpSection(1)), "show",
    ),
    Address(
        "/show/prev", (_PRESS,), "Go to the start of the previous section (wraps).",
        "/show/prev", _trigger(JumpSection(-1)), "show",
    ),
    Address(
        "/show/seek", (Arg("show_s", "float", 0.0, 86400.0, unit="s"),),
        "Move the show clock to this time.", "/show/seek 90",
        lambda _n, v: [Seek(v[0])], "show", "fader",
    ),
    Address(
        "/show/speed", (Arg("speed", "float", 0.05, 10.0),),
        "Play the show clock at this many times real time (1 = normal).", "/show/speed 0.5",
        lambda _n, v: [SetSpeed(v[0])], "show", "fader",
    ),
    Address(
        "/walk/next", (_PRESS,), "Cut to the walk's next keyframe in the playing section.",
        "/walk/next", _trigger(StepKeyframe(1)), "show",
    ),
    Address(
        "/walk/prev", (_PRESS,), "Cut to the walk's previous keyframe in the playing section.",
        "/walk/prev", _trigger(StepKeyframe(-1)), "show",
    ),
    Address(
        "/tempo", (Arg("bpm", "float", 20.0, 400.0, unit="BPM"),),
        "The music's tempo: sections that count in beats (beats_per_keyframe, period_beats) "
        "follow it (the sound input sends it too).", "/tempo 128",
        lambda _n, v: [SetTempo(v[0])], "show", "fader",
    ),
    Address(
        "/show/reload", (_PRESS,), "Re-read the show file (its reload settings apply).",
        "/show/reload", _trigger(ReloadShow()), "show",
    ),
    Address(
        "/show/load", (Arg("name", "show_name"),),
        "Switch to another show of the shows folder, by name (no paths).", "/show/load lobby",
        lambda _n, v: [LoadShow(v[0])], "show", "text",
    ),
    Address(
        "/show/blackout", (Arg("on", "bool"), _FADE),
        "Fade to black (1) or back to the picture (0).", "/show/blackout 1 3",
        lambda _n, v: [Blackout(0.0 if v[0] else 1.0, v[1])], "show", "toggle",
    ),
    Address(
        "/show/fade", (Arg("level", "float", 0.0, 1.0), _FADE),
        "Fade the picture to this level (0 black .. 1 normal).", "/show/fade 0.5 2",
        lambda _n, v: [Blackout(v[0], v[1])], "show", "fader",
    ),
    Address(
        "/status", (_PRESS,),
        "Ask for the state: the reply is /status/<key> <value> ... /status/end.", "/status",
        lambda _n, v: [], "feedback",
    ),
    Address(
        "/psi", (Arg("psi", "float", -1.0, 2.0),),
        "Truncation psi (live; 1 = none, 0 = the average image).", "/psi 0.7",
        lambda _n, v: [SetLive("psi", v[0])], "look", "fader",
    ),
    Address(
        "/cutoff", (Arg("cutoff", "int", 0, 32),),
        "Truncate only the first N ws rows (live).", "/cutoff 8",
        lambda _n, v: [SetLive("cutoff", float(v[0]))], "look", "fader",
    ),
    Address(
        "/noise", (Arg("strength", "float", 0.0, 5.0),),
        "Noise strength (live; StyleGAN2 models).", "/noise 1.5",
        lambda _n, v: [SetLive("noise_strength", v[0])], "look", "fader",
    ),
    Address(
        "/camera/translate", (Arg("x", "float", -1.0, 1.0), Arg("y", "float", -1.0, 1.0)),
        "Move the StyleGAN3 camera (live).", "/camera/translate 0.2 -0.1",
        lambda _n, v: [SetLive("translate_x", v[0]), SetLive("translate_y", v[1])],
        "camera", "xy",
    ),
    Address(
        "/camera/rotate", (Arg("angle", "float", -360.0, 360.0, unit="deg"),),
        "Turn the StyleGAN3 camera (live).", "/camera/rotate 15",
        lambda _n, v: [SetLive("rotate_deg", v[0])], "camera", "fader",
    ),
    Address(
        "/direction/<name>", (Arg("intensity", "float", -20.0, 20.0),),
        "Intensity of the current section's direction <name> (live).", "/direction/smile 3",
        lambda name, v: [SetLive(f"direction/{name}", v[0])], "live", "fader",
        name_regex=_DIRECTION_NAME,
    ),
    Address(
        "/param/<name>", (Arg("value", "float"),),
        "Any live parameter of the show by name, e.g. /param/psi (the show gives its range).",
        "/param/noise_strength 0.5", lambda name, v: [SetLive(name, v[0])], "live", "fader",
        name_regex=_PARAM_NAME,
    ),
    Address(
        "/noise/mode", (Arg("mode", "choice", choices=_NOISE_MODES),),
        "Noise inputs from now on (StyleGAN2 models); show: back to the show's own.",
        "/noise/mode random",
        lambda _n, v: [SetNoiseMode(None if v[0] == "show" else v[0])], "look", "text",
    ),
    Address(
        "/latent/seed", (_SEED, _GLIDE),
        "Glide to the image of this seed; it holds like a live value, then the walk returns.",
        "/latent/seed 1234 3",
        lambda _n, v: [GlideTo(seed=v[0], glide_s=v[1])], "latent", "text",
    ),
    Address(
        "/latent/stored", (Arg("name", "latent_name"), _GLIDE),
        "Glide to a stored latent of the show folder's latents/ (by file stem, no paths).",
        "/latent/stored portrait_3",
        lambda _n, v: [GlideTo(latent=v[0], glide_s=v[1])], "latent", "text",
    ),
    Address(
        "/mixing",
        (_SEED, Arg("first", "int", 0, MAX_WS_ROWS - 1, default=0),
         Arg("stop", "int", -1, MAX_WS_ROWS, default=-1)),
        "Style mixing: ws rows first..stop-1 come from this seed (stop -1: to the last row).",
        "/mixing 85 0 4", _mixing, "mixing", "text",
    ),
    Address(
        "/mixing/off", (_PRESS,), "Style mixing back to the show's own.", "/mixing/off",
        _trigger(SetMixing(None)), "mixing",
    ),
    Address(
        "/sensor/<name>", (Arg("value", "float"),),
        "A reading of the show's sensor <name> (shows/README.md, Sensors): 1..16 numbers.",
        "/sensor/proximity 512", lambda name, v: [SensorInput(name, tuple(v))], "sensors",
        "fader", name_regex=_SENSOR_NAME, max_repeats=MAX_SENSOR_VALUES,
    ),
    Address(
        "/preset/save", (_PRESET, Arg("with_time", "bool", default=0)),
        "Save everything live now (live values, speed, noise mode, mixing, glide) as a preset "
        "of the show's <show>.presets.yaml; with_time 1: also the section and show time.",
        "/preset/save calm 1", lambda _n, v: [SavePreset(v[0], v[1])], "presets", "text",
    ),
    Address(
        "/preset/recall",
        (_PRESET, Arg("glide_s", "float", -1.0, MAX_GLIDE_S, default=-1.0, unit="s")),
        "Go to a preset: live values glide to its values (glide_s -1: each with its section's "
        "slew); a preset saved with time goes back to that show time.", "/preset/recall calm 4",
        lambda _n, v: [RecallPreset(v[0], None if v[1] < 0 else v[1])], "presets", "text",
    ),
    Address(
        "/preset/list", (_PRESS,),
        "Re-read the presets file: the status reply (and each heartbeat's) has "
        "/status/presets <names, comma-separated>.", "/preset/list",
        _trigger(ListPresets()), "presets",
    ),
    Address(
        "/bookmark", (_PRESET,),
        "Store the ws on screen now as latents/<name>.npy next to the show (never replaced); "
        "/status/bookmark gives the keyframe {w: latents/<name>.npy}.", "/bookmark dawn",
        lambda _n, v: [Bookmark(v[0])], "presets", "text",
    ),
    Address(
        "/midi/learn", (Arg("parameter", "param_name"),),
        "MIDI learn (with --midi-in): the next fader, knob or pitch bend moved steers this live "
        "parameter (psi, cutoff, noise_strength, translate_x, translate_y, rotate_deg, speed, "
        "direction/<name>); saved to <show>.midi.yaml; /status/midi_learn says what was bound.",
        "/midi/learn psi", lambda _n, v: [MidiLearn(v[0])], "midi", "text",
    ),
)  # fmt: skip

_EXACT: dict[str, Address] = {a.pattern: a for a in ADDRESSES if a.name_regex is None}
_PLACEHOLDER: tuple[tuple[Address, re.Pattern[str]], ...] = tuple(
    (a, re.compile(re.escape(a.prefix) + f"({a.name_regex})"))
    for a in ADDRESSES
    if a.name_regex is not None
)


def match(address: str) -> tuple[Address, str]:
    """The table entry for `address` and its placeholder text ("" if none).

    Raises:
        MessageError: no entry matches.
    """
    entry = _EXACT.get(address)
    if entry is not None:
        return entry, ""
    for entry, regex in _PLACEHOLDER:
        if not address.startswith(entry.prefix):
            continue
        found = regex.fullmatch(address)
        name = found.group(1) if found else ""
        if not found or len(name) > MAX_NAME_CHARS or "" in name.split("/"):
            raise MessageError(
                f"{_show(address)}: the name after {entry.prefix} must be 1..{MAX_NAME_CHARS} "
                f"characters {entry.name_regex}, without empty '/' parts",
                f"{entry.pattern} bad name",
            )
        return entry, name
    # one log key for all unknown addresses: their number is unbounded (any sender picks them)
    raise MessageError(f"unknown OSC address {_show(address)} (see docs/osc.md)", "unknown")


def parse(address: str, args: Sequence[Any], limiter: LogLimiter | None = None) -> list[Command]:
    """Check one OSC message against the table and return its commands (maybe none).

    Args:
        address: the OSC address, e.g. "/show/speed".
        args: the message's arguments as python-osc decodes them.
        limiter: where clamping warnings go (rate-limited per address); default shared.

    Returns:
        The commands to put on the render thread's queue, in order; [] for /status and for a
        button's release.

    Raises:
        MessageError (a ControlError): unknown address, wrong number or type of arguments.
    """
    entry, name = match(address)
    if not entry.min_args <= len(args) <= entry.max_args:
        count = (
            str(entry.min_args)
            if entry.min_args == entry.max_args
            else f"{entry.min_args}..{entry.max_args}"
        )
        raise MessageError(
            f"{address}: expected {count} argument(s) ({entry.describe_args()}), "
            f"got {len(args)}: {_show(list(args))}",
            f"{entry.pattern} arity",
        )
    limiter = limiter or DEFAULT_LIMITER
    values = tuple(
        _check(entry, index, arg, args[index] if index < len(args) else arg.default, limiter)
        for index, arg in enumerate(entry.args)
    )
    if len(args) > len(entry.args):  # the repeated last argument
        values += tuple(
            _check(entry, index, entry.arg_at(index), args[index], limiter)
            for index in range(len(entry.args), len(args))
        )
    return entry.to_commands(name, values)


def _check(entry: Address, index: int, arg: Arg, value: Any, limiter: LogLimiter) -> Any:
    """One argument value -> its checked, converted value (clamped where it has a range)."""

    def fail(expected: str, is_overflow: bool = False) -> MessageError:
        return MessageError(
            f"{entry.pattern}: argument {index + 1} ({arg.name}) must be {expected}, "
            f"got {_show(value)}",
            f"{entry.pattern} type {arg.name}",
            is_overflow,
        )

    if arg.kind in _NAME_NOUNS:
        noun = _NAME_NOUNS[arg.kind]
        if not isinstance(value, str):
            raise fail(f"a {noun} (a string)")
        name = value.strip()
        if (
            not _SHOW_NAME.fullmatch(name)
            or ".." in name
            or name.startswith(".")
            or len(name) > MAX_NAME_CHARS
        ):
            raise fail(
                f"a {noun} of 1..{MAX_NAME_CHARS} letters, digits, '_', '-', '.' "
                "(no paths, no '..', not starting with '.')"
            )
        return name
    if arg.kind == "param_name":
        name = value.strip() if isinstance(value, str) else ""
        if (
            not re.fullmatch(_LIVE_NAME, name)
            or len(name) > MAX_NAME_CHARS
            or "" in name.split("/")
            or ".." in name
        ):
            raise fail(f"a live parameter's name of 1..{MAX_NAME_CHARS} characters "
                       f"{_LIVE_NAME}, without empty '/' parts or '..'")  # fmt: skip
        return name
    if arg.kind == "choice":
        word = value.strip().lower() if isinstance(value, str) else None
        if word not in arg.choices:
            raise fail(f"one of {', '.join(arg.choices)}")
        return word
    if arg.kind == "button" and value is None:
        return True  # OSC nil ("N"): how OSCQuery clients press a button (control/oscquery.py)
    if arg.kind == "bool" and isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "on", "yes"):
            return True
        if word in ("false", "off", "no"):
            return False
    if isinstance(value, str) and len(value) > MAX_NUMBER_CHARS and arg.kind != "section":
        raise fail(f"a number (a numeric string of at most {MAX_NUMBER_CHARS} characters)", True)
    number = _number(value)
    if number is None:
        if arg.kind == "section" and isinstance(value, str):
            name = value.strip()
            if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
                raise fail(f"a section index or a name of 1..{MAX_NAME_CHARS} characters")
            return name
        raise fail("a number (int, float, bool or a numeric string)")
    if not math.isfinite(number):
        raise fail("a finite number", isinstance(value, str) or math.isinf(number))
    if arg.kind in ("bool", "button"):
        return number != 0
    number = int(round(number)) if arg.kind in ("int", "section") else float(number)
    clamped = number
    if arg.low is not None and clamped < arg.low:
        clamped = type(number)(arg.low)
    if arg.high is not None and clamped > arg.high:
        clamped = type(number)(arg.high)
    if clamped != number:
        limiter.log(
            f"{entry.pattern} clamp {arg.name}", logging.WARNING,
            "%s: %s=%s is outside %s..%s; clamped to %s", entry.pattern, arg.name,
            _show(value), _fmt(arg.low), _fmt(arg.high), _fmt(clamped),
        )  # fmt: skip
    return clamped


def _number(value: Any) -> int | float | None:
    """int/float/bool/numeric string -> a number; anything else -> None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and len(value) <= MAX_NUMBER_CHARS:
        text = value.strip()
        if _NUMBER.fullmatch(text):  # digits only: int() and float() cannot raise
            return int(text) if text.lstrip("+-").isdigit() else float(text)
    return None


def _fmt(value: object) -> str:
    """Numbers without a needless '.0' (docs and messages)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return "" if value is None else str(value)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxstring, _REPR.maxother = 2, 6, 50, 50


def _show(value: object, limit: int = 60) -> str:
    """A short repr, for messages about hostile input (deep or huge arrays included)."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
