"""The MIDI mapping file, `<show stem>.midi.yaml` next to the show: reading and writing.

    # demo.midi.yaml (docs/control.md, MIDI)
    controls:
      - cc: 7                  # or note: 60, or pitchbend: true
        channel: 1             # 1..16; left out: any channel
        target: psi            # a live parameter, as a sensor's target ...
        output: [0.3, 1.2]     # left out: the playing section's live range
        curve: smooth          # as sensors: linear ease_in ease_out smooth log exp
        smoothing: {kind: exponential, time_constant_s: 0.05}
        pickup: true           # soft takeover (default); false: the control jumps the value
      - note: 60
        send: /show/next       # ... or any address of docs/osc.md, with its arguments
      - note: 61
        send: /show/blackout
        args: [1, 2]           # presses alternate between args and toggle_args
        toggle_args: [0, 2]

It is read within the bounds of `show/yamlread.py` (at most MAX_MIDI_BYTES, no anchors or
aliases, no tags, nesting at most MAX_DEPTH) and checked with `show/checker.py` and the sensors'
readers of `show/load.py` (target, output, curve, smoothing read as a sensor's): every problem
is one line `file:line: field: problem`. A `send` address and its arguments are checked against
the OSC address table (control/addresses.py `parse`), the one parse path of every source.
Writing (MIDI learn) replaces the file atomically: a temp file, then a rename; comments of a
hand-written file are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode

from installation.control.addresses import LogLimiter, MessageError, parse
from installation.errors import ShowError
from installation.run.atomic import write_text_atomically
from installation.show.checker import BAD, TooManyErrors, all_ok, opt
from installation.show.load import (
    ShowChecker,
    read_live_target,
    read_smoothing,
    read_span,
)
from installation.show.schema import SENSOR_CURVES, Smoothing
from installation.show.yamlread import Bounds, compose, read_text
from installation.walk.midi_map import MAX_BINDINGS, MidiBinding

MIDI_SUFFIX = ".midi.yaml"
MAX_MIDI_BYTES = 256 * 1024  # MAX_BINDINGS bindings of a few lines each
MAX_DEPTH = 5  # controls: [ {smoothing: {kind: ...}} ]
MAX_ARGS = 16  # arguments of a `send` (more than any address takes)
BOUNDS = Bounds(what="MIDI mapping file", max_bytes=MAX_MIDI_BYTES, max_nodes=50_000,
                max_depth=MAX_DEPTH, allow_aliases=False)  # fmt: skip
CONTROL_KEYS = ("cc", "note", "pitchbend")
PARAMETER_KEYS = ("target", "output", "curve", "smoothing", "pickup")
COMMAND_KEYS = ("send", "args", "toggle_args")
SMOOTHING_FIELDS = {
    "exponential": ("time_constant_s",),
    "one_euro": ("min_cutoff_hz", "beta", "d_cutoff_hz"),
}


class MidiMapError(ShowError):
    """A MIDI mapping file that cannot be read or written."""


def midi_path(show_path: str | Path) -> Path:
    """`<show stem>.midi.yaml` next to the show file."""
    path = Path(show_path)
    return path.with_name(path.stem + MIDI_SUFFIX)


# -- reading --------------------------------------------------------------------------------------


def read_bindings(path: str | Path) -> list[MidiBinding]:
    """The bindings of a mapping file; [] when there is none.

    Raises:
        MidiMapError: every problem, one line each (`file:line: field: problem`).
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return []
    name = str(path)
    try:
        root, errors, flagged = compose(read_text(path, BOUNDS), name, BOUNDS)
    except ShowError as err:
        raise MidiMapError(str(err)) from None
    if root is None and not errors:
        return []
    c = ShowChecker(name, path.resolve().parent, flagged=flagged)
    c.errors.extend(errors)
    bindings: Any = BAD
    try:
        if root is not None:
            bindings = _read_file(c, root)
    except TooManyErrors:
        c.errors.append((10**9, f"{name}: stopped after {len(c.errors)} problems; fix these"))
    if c.errors or bindings is BAD:
        raise MidiMapError("\n".join(m for _, m in sorted(c.errors, key=lambda e: e[0])))
    return bindings


def _read_file(c: ShowChecker, root: Node) -> Any:
    keys = c.mapping(root, "", (), ("controls",))
    if keys is None:
        return BAD
    node = keys.get("controls")
    if node is None or (isinstance(node, ScalarNode) and c.value(node) is None):
        return []
    items = c.sequence(node, "controls", max_len=MAX_BINDINGS)
    if items is None:
        return BAD
    bindings = [_read_binding(c, item, f"controls[{i}]") for i, item in enumerate(items)]
    return bindings if all_ok(*bindings) else BAD


def _read_binding(c: ShowChecker, node: Node, path: str) -> Any:
    """One `controls` entry."""
    allowed = (*CONTROL_KEYS, "channel", *PARAMETER_KEYS, *COMMAND_KEYS)
    keys = c.mapping(node, path, (), allowed)
    if keys is None:
        return BAD
    controls = [key for key in CONTROL_KEYS if key in keys]
    if len(controls) != 1:
        found = f"got {', '.join(controls)}" if controls else "got none"
        return c.error(node, path, f"needs exactly one of cc, note, pitchbend; {found}")
    kind = controls[0]
    number: Any = 0
    if kind == "pitchbend":
        flag = c.boolean(keys[kind], f"{path}.pitchbend")
        if flag is not BAD and not flag:
            flag = c.error(keys[kind], f"{path}.pitchbend", "must be true (or left out)")
        number = BAD if flag is BAD else 0
    else:
        number = c.integer(keys[kind], f"{path}.{kind}", 0, maximum=127)
    channel = opt(c, keys, "channel", path, lambda n, p: c.integer(n, p, 1, maximum=16), None)
    is_parameter, is_command = "target" in keys, "send" in keys
    if is_parameter == is_command:
        return c.error(node, path, "needs exactly one of target (a live parameter) and send "
                       "(an OSC address)")  # fmt: skip
    wrong = [k for k in (COMMAND_KEYS if is_parameter else PARAMETER_KEYS) if k in keys]
    if wrong:
        other = "send" if is_parameter else "target"
        return c.error(keys[wrong[0]], f"{path}.{wrong[0]}", f"only with {other}")
    if is_parameter:
        return _read_parameter(c, keys, path, kind, number, channel)
    if kind == "pitchbend":
        return c.error(node, path, "the pitch bend can steer a target, not send a command")
    return _read_command(c, keys, path, kind, number, channel)


def _read_parameter(
    c: ShowChecker, keys: dict[str, Node], path: str, kind: str, number: Any, channel: Any
) -> Any:
    low_high = "[from, to] (two different numbers)"
    target = opt(c, keys, "target", path, lambda n, p: read_live_target(c, n, p), BAD)
    output = opt(c, keys, "output", path, lambda n, p: read_span(c, n, p, low_high), None)
    curve = opt(c, keys, "curve", path, lambda n, p: c.choice(n, p, SENSOR_CURVES), "linear")
    smoothing = opt(c, keys, "smoothing", path, lambda n, p: read_smoothing(c, n, p), Smoothing())
    pickup = opt(c, keys, "pickup", path, c.boolean, True)
    parts = (number, channel, target, output, curve, smoothing, pickup)
    if not all_ok(*parts):
        return BAD
    return MidiBinding(kind, number, channel, target=target, output=output, curve=curve,
                       smoothing=smoothing, pickup=pickup)  # type: ignore[arg-type]  # fmt: skip


def _read_command(
    c: ShowChecker, keys: dict[str, Node], path: str, kind: str, number: Any, channel: Any
) -> Any:
    send = c.string(keys["send"], f"{path}.send")
    args = opt(c, keys, "args", path, lambda n, p: _args(c, n, p), ())
    toggle_args = opt(c, keys, "toggle_args", path, lambda n, p: _args(c, n, p), None)
    if not all_ok(number, channel, send, args, toggle_args):
        return BAD
    for field, values in (("args", args), ("toggle_args", toggle_args)):
        if values is None:
            continue
        try:
            parse(send, values, LogLimiter(interval_s=3600.0))
        except MessageError as err:
            where = keys.get(field, keys["send"])
            return c.error(where, f"{path}.{field if field in keys else 'send'}", str(err))
    return MidiBinding(kind, number, channel, send=send, args=args,
                       toggle_args=toggle_args)  # type: ignore[arg-type]  # fmt: skip


def _args(c: ShowChecker, node: Node, path: str) -> Any:
    """A list of at most MAX_ARGS numbers or strings."""
    items = c.sequence(node, path, max_len=MAX_ARGS)
    if items is None:
        return BAD
    values = []
    for index, item in enumerate(items):
        value = c.value(item) if isinstance(item, ScalarNode) else None
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (int, float, str)):
            return c.error(item, f"{path}[{index}]", "must be a number or a string")
        values.append(value)
    return tuple(values)


# -- writing --------------------------------------------------------------------------------------


def binding_record(binding: MidiBinding) -> dict[str, Any]:
    """A binding as the file writes it (defaults left out)."""
    record: dict[str, Any] = {}
    record[binding.kind] = True if binding.kind == "pitchbend" else binding.number
    if binding.channel is not None:
        record["channel"] = binding.channel
    if binding.target is not None:
        record["target"] = binding.target
        if binding.output is not None:
            record["output"] = [float(binding.output[0]), float(binding.output[1])]
        if binding.curve != "linear":
            record["curve"] = binding.curve
        smoothing = binding.smoothing
        if smoothing.kind != "none":
            record["smoothing"] = {"kind": smoothing.kind, **{
                name: float(getattr(smoothing, name)) for name in SMOOTHING_FIELDS[smoothing.kind]
            }}  # fmt: skip
        if not binding.pickup:
            record["pickup"] = False
    else:
        record["send"] = binding.send
        if binding.args:
            record["args"] = list(binding.args)
        if binding.toggle_args is not None:
            record["toggle_args"] = list(binding.toggle_args)
    return record


def write_bindings(path: str | Path, bindings: Sequence[MidiBinding]) -> None:
    """Replace the mapping file with `bindings`, atomically (temp file in the folder + rename).

    Raises:
        MidiMapError: too many bindings, or the folder cannot be written.
    """
    path = Path(path)
    if len(bindings) > MAX_BINDINGS:
        raise MidiMapError(f"{path}: more than {MAX_BINDINGS} MIDI bindings")
    document = {"controls": [binding_record(binding) for binding in bindings]}
    text = (f"# MIDI mapping of {path.name[: -len(MIDI_SUFFIX)]}.yaml, written by the show "
            "(MIDI learn); docs/control.md, MIDI\n")  # fmt: skip
    text += yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100)
    try:
        write_text_atomically(path, text)
    except OSError as err:
        raise MidiMapError(f"{path}: cannot write: {err.strerror or err}") from None
