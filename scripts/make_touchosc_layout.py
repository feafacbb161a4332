"""Write assets/controllers/latent-walk.tosc, a TouchOSC layout, from the OSC address table.

Run: python scripts/make_touchosc_layout.py [--directions smile,age] [--check]
With --check it writes nothing and exits 1 if the committed layout differs from what it would
write. A unit test runs the same comparison, so the layout never drifts from the code.

The layout is for the current TouchOSC (hexler, 2021+, files `*.tosc`), not TouchOSC Mk1. A
`.tosc` file is one zlib stream of UTF-8 XML: `<lexml version='3'>` holding one root GROUP
`<node>`; every control is a `<node type=...>` with `<properties>` (typed key/value pairs),
`<values>` (x, y, text, touch), `<messages>` (`<osc>` blocks: path and arguments are lists of
`<partial>`s, CONSTANT text or a VALUE of the control scaled to scaleMin..scaleMax) and, for
groups, `<children>`. This is read from files TouchOSC wrote (see assets/controllers/README.md);
Hexler publishes no schema.

Every control comes from an entry of `installation.control.addresses.ADDRESSES`, by its
`widget` and argument ranges; the panel it sits on comes from its address or its `group`.
Left out: addresses whose argument cannot come from a touch control (a show name, a
day-long seek, `/param/<name>` whose range the show sets) and `<name>` addresses other than
`/direction/<name>`, which gets one fader per name given with --directions. The script says
what it left out. Node ids are uuid5s of the node names and nothing depends on the clock, so
the same table gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from installation.control.addresses import ADDRESSES, Address, Arg  # noqa: E402

LAYOUT_PATH = Path(__file__).resolve().parent.parent / "assets" / "controllers" / "latent-walk.tosc"
LEXML_VERSION = "3"  # the oldest TouchOSC (2021+) file version; newer apps read it too
ID_NAMESPACE = uuid.UUID("5b0c3d7e-1f2a-4c6b-9d8e-7a6f5e4d3c2b")  # fixed: ids are uuid5(name)
DEFAULT_DIRECTIONS = ("demo_swirl", "smile")  # shows/demo.yaml and shows/museum_example.yaml
SECTION_BUTTONS = 8  # /show/section 0..7
CONNECTIONS = "11111"  # send and receive on all of TouchOSC's connection slots

# Feedback labels: keys of the status the show sends back (installation/run/status.py,
# StatusBoard.status()).
STATUS_KEYS = ("show", "section", "section_index", "show_time_s", "speed", "paused", "fps")

# Addresses with no touch control, and why (the script prints these).
LEFT_OUT = {
    "/show/seek": "a 0..86400 s fader is useless on a tablet; use latent-walk osc-send",
    "/show/load": "needs a show name; use latent-walk osc-send",
    "/param/<name>": "the show sets each parameter's range; use latent-walk osc-send",
}
# Panels: an address's own panel, else its group's, else a panel named after the group.
PANEL_OF_ADDRESS = {
    "/show/section": "sections",
    "/show/speed": "speed",
    "/show/blackout": "blackout",
    "/show/fade": "blackout",
}
PANEL_OF_GROUP = {"show": "transport", "live": "directions"}
PANEL_ORDER = (
    "transport", "sections", "speed", "blackout", "look", "camera", "directions", "feedback",
)  # fmt: skip
PANEL_TITLES = {
    "transport": "SHOW",
    "sections": "SECTIONS",
    "speed": "SPEED",
    "blackout": "BLACKOUT",
    "look": "LOOK",
    "camera": "CAMERA",
    "directions": "DIRECTIONS",
    "feedback": "STATUS",
}
# Where a fader starts on screen (it sends nothing until touched): the value that changes nothing.
NEUTRAL = {"/show/speed": 1.0, "/show/fade": 1.0, "/psi": 1.0}

# Geometry, in TouchOSC pixels; the app scales the canvas to the screen.
CANVAS_W = 1280
MARGIN = 12
GAP = 10
TITLE_H = 24
CAPTION_H = 20
PANEL_INNER_MAX_W = 560
SIZES = {"BUTTON": (96, 64), "FADER": (72, 240), "XY": (240, 240), "LABEL": (260, 36)}
PANEL_COLOR = (0.12, 0.12, 0.14, 1.0)
TEXT_COLOR = (0.9, 0.9, 0.9, 1.0)
PANEL_COLORS = {
    "transport": (0.2, 0.6, 0.9, 1.0),
    "sections": (0.3, 0.75, 0.5, 1.0),
    "speed": (0.95, 0.7, 0.2, 1.0),
    "blackout": (0.85, 0.3, 0.3, 1.0),
    "look": (0.7, 0.45, 0.9, 1.0),
    "camera": (0.3, 0.8, 0.8, 1.0),
    "directions": (0.95, 0.5, 0.7, 1.0),
    "feedback": (0.6, 0.6, 0.6, 1.0),
}
OTHER_COLOR = (0.8, 0.8, 0.4, 1.0)

NodeType = Literal["GROUP", "BUTTON", "FADER", "XY", "LABEL"]


@dataclass(frozen=True)
class Partial:
    """One piece of an OSC path or argument: a CONSTANT text or a control VALUE, scaled."""

    kind: Literal["CONSTANT", "VALUE"]
    conversion: Literal["STRING", "INTEGER", "FLOAT"]
    value: str
    scale_min: float = 0.0
    scale_max: float = 1.0


@dataclass(frozen=True)
class Osc:
    """One `<osc>` message of a control: sent on a trigger of `var`, or received."""

    path: str
    arguments: tuple[Partial, ...]
    var: str = "x"
    condition: Literal["ANY", "RISE"] = "ANY"
    is_sent: bool = True
    is_received: bool = False


@dataclass(frozen=True)
class Control:
    """A control with its caption; `values` are the control's value defaults (x, y, text)."""

    node_type: NodeType
    name: str
    caption: str
    messages: tuple[Osc, ...] = ()
    values: tuple[tuple[str, str], ...] = ()
    button_type: int = 0  # TouchOSC ButtonType: 0 momentary, 1 toggle


@dataclass
class Panel:
    name: str
    controls: list[Control] = field(default_factory=list)


def _fmt(number: float) -> str:
    return f"{number:g}"


def _slug(address: str) -> str:
    return address.strip("/").replace("/", "_").replace("<", "").replace(">", "")


def _ranged(arg: Arg) -> bool:
    return arg.kind in ("float", "int") and arg.low is not None and arg.high is not None


def _value_partial(arg: Arg, var: str = "x") -> Partial:
    conversion = "INTEGER" if arg.kind == "int" else "FLOAT"
    return Partial("VALUE", conversion, var, float(arg.low), float(arg.high))  # type: ignore[arg-type]


def _constant(number: int) -> Partial:
    return Partial("CONSTANT", "INTEGER", str(number))


def _position(address: str, arg: Arg) -> str:
    """A fader's starting position (0..1) for the neutral value of `address`."""
    low, high = float(arg.low), float(arg.high)  # type: ignore[arg-type]
    neutral = min(max(NEUTRAL.get(address, 0.0), low), high)
    return _fmt(round((neutral - low) / (high - low), 4))


def controls_for(entry: Address, directions: Sequence[str]) -> tuple[list[Control], str]:
    """The controls for one address table entry, or [] and the reason it has none."""
    if entry.pattern in LEFT_OUT:
        return [], LEFT_OUT[entry.pattern]
    required = [arg for arg in entry.args if not arg.is_optional]
    if entry.name_regex is not None:
        if entry.pattern != "/direction/<name>":
            return [], "a <name> address; one control per name needs the names"
        arg = required[0]
        return [
            Control(
                "FADER", f"direction_{name}", name,
                (Osc(entry.prefix + name, (_value_partial(arg),)),),
                (("x", _position(entry.pattern, arg)),),
            )
            for name in directions
        ], ""  # fmt: skip
    name, caption = _slug(entry.pattern), entry.pattern.rsplit("/", 1)[-1]
    if entry.widget == "button" and not required:
        press = Osc(entry.pattern, (Partial("VALUE", "INTEGER", "x"),), condition="RISE")
        return [Control("BUTTON", name, caption, (press,), (("x", "0"),))], ""
    if entry.widget == "toggle" and len(required) == 1 and required[0].kind == "bool":
        switch = Osc(entry.pattern, (Partial("VALUE", "INTEGER", "x"),))
        return [Control("BUTTON", name, caption, (switch,), (("x", "0"),), button_type=1)], ""
    if entry.widget == "fader" and len(required) == 1 and _ranged(required[0]):
        arg = required[0]
        fader = Osc(entry.pattern, (_value_partial(arg),))
        return [
            Control("FADER", name, caption, (fader,), (("x", _position(entry.pattern, arg)),))
        ], ""
    if entry.widget == "xy" and len(required) == 2 and all(_ranged(arg) for arg in required):
        pad = Osc(entry.pattern, (_value_partial(required[0]), _value_partial(required[1], "y")))
        return [Control("XY", name, caption, (pad,), (("x", "0.5"), ("y", "0.5")))], ""
    if entry.widget == "text" and len(required) == 1 and required[0].kind in ("section", "int"):
        arg = required[0]
        low = int(arg.low or 0)
        high = low + SECTION_BUTTONS - 1 if arg.high is None else min(int(arg.high), low + 7)
        return [
            Control(
                "BUTTON", f"{name}_{index}", f"{caption} {index}",
                (Osc(entry.pattern, (_constant(index),), condition="RISE"),),
                (("x", "0"),),
            )
            for index in range(low, high + 1)
        ], ""  # fmt: skip
    return [], f"no touch control for widget={entry.widget} with args {entry.describe_args()}"


def status_labels() -> list[Control]:
    """One label per status key; it shows the value of /status/<key> the show sends back."""
    return [
        Control(
            "LABEL", f"status_{key}", key,
            (Osc(f"/status/{key}", (Partial("VALUE", "STRING", "text"),), var="text",
                 is_sent=False, is_received=True),),
            (("text", "-"),),
        )
        for key in STATUS_KEYS
    ]  # fmt: skip


def plan(directions: Sequence[str]) -> tuple[list[Panel], list[tuple[str, str]]]:
    """The panels and their controls from ADDRESSES, and the (address, reason) left out."""
    panels: dict[str, Panel] = {name: Panel(name) for name in PANEL_ORDER}
    left_out: list[tuple[str, str]] = []
    for entry in ADDRESSES:
        controls, reason = controls_for(entry, directions)
        if not controls:
            left_out.append((entry.pattern, reason))
            continue
        panel = PANEL_OF_ADDRESS.get(entry.pattern) or PANEL_OF_GROUP.get(entry.group, entry.group)
        panels.setdefault(panel, Panel(panel)).controls.extend(controls)
    panels["feedback"].controls.extend(status_labels())
    return [panel for panel in panels.values() if panel.controls], left_out


# --- XML --------------------------------------------------------------------------------------


def _prop(parent: ET.Element, kind: str, key: str, value: object) -> None:
    prop = ET.SubElement(parent, "property", {"type": kind})
    ET.SubElement(prop, "key").text = key
    out = ET.SubElement(prop, "value")
    if kind == "r":
        for part, number in zip("xywh", value, strict=True):  # type: ignore[call-overload]
            ET.SubElement(out, part).text = str(int(number))
    elif kind == "c":
        for part, number in zip("rgba", value, strict=True):  # type: ignore[call-overload]
            ET.SubElement(out, part).text = _fmt(number)
    elif kind == "b":
        out.text = "1" if value else "0"
    else:
        out.text = str(value)


def _node(
    parent: ET.Element,
    node_type: NodeType,
    name: str,
    frame: tuple[int, int, int, int],
    color: tuple[float, ...],
    props: Iterable[tuple[str, str, object]] = (),
) -> ET.Element:
    """A node with the properties every control has, then `props` (type, key, value)."""
    node = ET.SubElement(
        parent, "node", {"ID": str(uuid.uuid5(ID_NAMESPACE, name)), "type": node_type}
    )
    properties = ET.SubElement(node, "properties")
    is_interactive = node_type in ("BUTTON", "FADER", "XY")
    common = [
        ("b", "background", True),
        ("c", "color", color),
        ("f", "cornerRadius", 1),
        ("r", "frame", frame),
        ("b", "grabFocus", is_interactive),
        ("b", "interactive", is_interactive),
        ("b", "locked", False),
        ("s", "name", name),
        ("i", "orientation", 0),
        ("b", "outline", True),
        ("i", "outlineStyle", 0),
        ("i", "pointerPriority", 0),
        ("i", "shape", 1),
        ("b", "visible", True),
    ]
    merged = {key: (kind, value) for kind, key, value in [*common, *props]}  # props override
    for key in sorted(merged):
        _prop(properties, merged[key][0], key, merged[key][1])
    return node


def _resize(node: ET.Element, w: int, h: int) -> None:
    """Set the w and h of a node's frame (a group's size is known once its children are)."""
    for prop in node.iterfind("properties/property"):
        if prop.findtext("key") == "frame":
            prop.find("value/w").text = str(w)  # type: ignore[union-attr]
            prop.find("value/h").text = str(h)  # type: ignore[union-attr]


def _values(node: ET.Element, defaults: Iterable[tuple[str, str]], is_static: bool = False) -> None:
    values = ET.SubElement(node, "values")
    for key, default in [*defaults, ("touch", "false")]:
        value = ET.SubElement(values, "value")
        ET.SubElement(value, "key").text = key
        ET.SubElement(value, "locked").text = "0"
        ET.SubElement(value, "lockedDefaultCurrent").text = "1" if is_static else "0"
        ET.SubElement(value, "default").text = default
        ET.SubElement(value, "defaultPull").text = "0"


def _partial(parent: ET.Element, partial: Partial) -> None:
    element = ET.SubElement(parent, "partial")
    ET.SubElement(element, "type").text = partial.kind
    ET.SubElement(element, "conversion").text = partial.conversion
    ET.SubElement(element, "value").text = partial.value
    ET.SubElement(element, "scaleMin").text = _fmt(partial.scale_min)
    ET.SubElement(element, "scaleMax").text = _fmt(partial.scale_max)


def _messages(node: ET.Element, messages: Sequence[Osc]) -> None:
    container = ET.SubElement(node, "messages")
    for message in messages:
        osc = ET.SubElement(container, "osc")
        ET.SubElement(osc, "enabled").text = "1"
        ET.SubElement(osc, "send").text = "1" if message.is_sent else "0"
        ET.SubElement(osc, "receive").text = "1" if message.is_received else "0"
        ET.SubElement(osc, "feedback").text = "0"
        ET.SubElement(osc, "noDuplicates").text = "0"
        ET.SubElement(osc, "connections").text = CONNECTIONS
        trigger = ET.SubElement(ET.SubElement(osc, "triggers"), "trigger")
        ET.SubElement(trigger, "var").text = message.var
        ET.SubElement(trigger, "condition").text = message.condition
        _partial(ET.SubElement(osc, "path"), Partial("CONSTANT", "STRING", message.path))
        arguments = ET.SubElement(osc, "arguments")
        for partial in message.arguments:
            _partial(arguments, partial)


def _label(parent: ET.Element, name: str, text: str, frame: tuple[int, int, int, int]) -> None:
    """A static caption."""
    node = _node(parent, "LABEL", name, frame, (0, 0, 0, 0), _label_props(12, False))
    _values(node, [("text", text)], is_static=True)


def _label_props(size: int, has_background: bool) -> list[tuple[str, str, object]]:
    return [
        ("b", "background", has_background),
        ("i", "font", 0),
        ("b", "outline", False),
        ("i", "textAlignH", 2),  # center
        ("i", "textAlignV", 2),  # middle
        ("b", "textClip", True),
        ("c", "textColor", TEXT_COLOR),
        ("i", "textLength", 0),
        ("i", "textSize", size),
    ]


def _control(parent: ET.Element, control: Control, x: int, y: int, color: tuple) -> None:
    """The caption above, the control below."""
    w, h = SIZES[control.node_type]
    _label(parent, f"{control.name}_caption", control.caption, (x, y, w, CAPTION_H))
    frame = (x, y + CAPTION_H, w, h)
    props: list[tuple[str, str, object]] = []
    if control.node_type == "BUTTON":
        props = [("i", "buttonType", control.button_type), ("b", "press", True),
                 ("b", "release", True), ("b", "valuePosition", False)]  # fmt: skip
    elif control.node_type == "FADER":
        props = [("b", "bar", True), ("i", "barDisplay", 0), ("b", "centered", False),
                 ("b", "cursor", True), ("i", "cursorDisplay", 0), ("b", "grid", False),
                 ("i", "response", 0)]  # fmt: skip
    elif control.node_type == "XY":
        props = [("b", "cursor", True), ("i", "cursorDisplay", 0), ("b", "lines", True),
                 ("i", "linesDisplay", 0), ("b", "grid", True), ("i", "gridSteps", 10),
                 ("i", "response", 0)]  # fmt: skip
    else:  # a feedback label
        color = (0.2, 0.2, 0.22, 1.0)
        props = _label_props(16, True)
    node = _node(parent, control.node_type, control.name, frame, color, props)
    _values(node, control.values)
    _messages(node, control.messages)


def _panel(parent: ET.Element, panel: Panel, x: int, y: int) -> tuple[int, int]:
    """Lay out one panel at (x, y), its controls in rows; returns its (w, h)."""
    group = _node(parent, "GROUP", panel.name, (x, y, 0, 0), PANEL_COLOR)
    children = ET.SubElement(group, "children")
    title = PANEL_TITLES.get(panel.name, panel.name.upper())
    cursor_x, cursor_y, line_h, width = GAP, TITLE_H + GAP, 0, 0
    color = PANEL_COLORS.get(panel.name, OTHER_COLOR)
    for control in panel.controls:
        w, h = SIZES[control.node_type]
        if cursor_x > GAP and cursor_x + w > PANEL_INNER_MAX_W:
            cursor_x, cursor_y, line_h = GAP, cursor_y + line_h + GAP, 0
        _control(children, control, cursor_x, cursor_y, color)
        cursor_x += w + GAP
        line_h = max(line_h, CAPTION_H + h)
        width = max(width, cursor_x)
    size = (width, cursor_y + line_h + GAP)
    _label(children, f"{panel.name}_title", title, (GAP, 4, size[0] - 2 * GAP, TITLE_H - 4))
    _resize(group, *size)
    return size


def render_xml(directions: Sequence[str] = DEFAULT_DIRECTIONS) -> str:
    """The layout's XML (what the .tosc file holds, uncompressed)."""
    panels, _ = plan(directions)
    lexml = ET.Element("lexml", {"version": LEXML_VERSION})
    root = _node(lexml, "GROUP", "latent-walk", (0, 0, CANVAS_W, 0), (0.05, 0.05, 0.06, 1.0))
    _values(root, [])
    children = ET.SubElement(root, "children")
    x, y, row_h = MARGIN, MARGIN, 0
    for panel in panels:
        # a panel's size is known once laid out: lay out, then move it to the next row if needed
        w, h = _panel(children, panel, x, y)
        if x > MARGIN and x + w > CANVAS_W - MARGIN:
            x, y, row_h = MARGIN, y + row_h + GAP, 0
            children.remove(children[-1])
            w, h = _panel(children, panel, x, y)
        x += w + GAP
        row_h = max(row_h, h)
    _resize(root, CANVAS_W, y + row_h + MARGIN)
    return "<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(lexml, encoding="unicode")


def render(directions: Sequence[str] = DEFAULT_DIRECTIONS) -> bytes:
    """The .tosc file's bytes: the XML, zlib level 9."""
    return zlib.compress(render_xml(directions).encode("utf-8"), 9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--directions", default=",".join(DEFAULT_DIRECTIONS),
        help="comma-separated direction names: one /direction/<name> fader each "
        f"(default {','.join(DEFAULT_DIRECTIONS)})",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=LAYOUT_PATH, help="the .tosc to write")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    args = parser.parse_args(argv)
    directions = [name.strip() for name in args.directions.split(",") if name.strip()]
    xml = render_xml(directions)
    if args.check:
        # compare the XML, not the bytes: another zlib build may compress the same XML otherwise
        try:
            committed = zlib.decompress(args.output.read_bytes()).decode("utf-8")
        except (OSError, zlib.error, UnicodeDecodeError) as error:
            print(f"{args.output}: cannot read it ({error})", file=sys.stderr)
            return 1
        if committed != xml:
            print(f"{args.output} is stale: run python scripts/make_touchosc_layout.py",
                  file=sys.stderr)  # fmt: skip
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(zlib.compress(xml.encode("utf-8"), 9))
    print(f"wrote {args.output}")
    for address, reason in plan(directions)[1]:
        print(f"  left out {address}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
