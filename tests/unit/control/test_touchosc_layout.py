"""The committed TouchOSC layout is what scripts/make_touchosc_layout.py generates, and every
message its controls send is one the address table accepts, over the control's whole range."""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from installation.control.addresses import ADDRESSES, LogLimiter, parse

ROOT = Path(__file__).resolve().parents[3]
LAYOUT = ROOT / "assets" / "controllers" / "latent-walk.tosc"
PANELS = (
    "transport", "sections", "speed", "blackout", "look", "camera", "directions", "feedback",
)  # fmt: skip


def load_script():
    """The script as a module (registered first: its dataclasses look their module up)."""
    if "make_touchosc_layout" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "make_touchosc_layout", ROOT / "scripts/make_touchosc_layout.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["make_touchosc_layout"]


@pytest.fixture(scope="module")
def layout() -> ET.Element:
    """The committed file's root <lexml> element."""
    return ET.fromstring(zlib.decompress(LAYOUT.read_bytes()).decode("utf-8"))


def prop(node: ET.Element, key: str) -> ET.Element:
    found = [
        p.find("value") for p in node.iterfind("properties/property") if p.findtext("key") == key
    ]
    assert len(found) == 1, f"property {key}: {len(found)} found"
    return found[0]


def name_of(node: ET.Element) -> str:
    return prop(node, "name").text or ""


def frame_of(node: ET.Element) -> tuple[int, int, int, int]:
    value = prop(node, "frame")
    return tuple(int(value.findtext(part)) for part in "xywh")  # type: ignore[return-value]


def messages(layout: ET.Element) -> list[tuple[ET.Element, ET.Element]]:
    """(node, osc) for every OSC message of every control."""
    return [(node, osc) for node in layout.iter("node") for osc in node.iterfind("messages/osc")]


def argument_values(partial: ET.Element) -> list[float | int | str]:
    """What a partial can put in a message: a constant, or both ends of a value's scale."""
    conversion = partial.findtext("conversion")
    convert = {"INTEGER": lambda t: int(float(t)), "FLOAT": float, "STRING": str}[conversion]
    if partial.findtext("type") == "CONSTANT":
        return [convert(partial.findtext("value"))]
    assert partial.findtext("type") == "VALUE"
    return [convert(partial.findtext("scaleMin")), convert(partial.findtext("scaleMax"))]


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_committed_layout_is_what_the_script_generates() -> None:
    script = load_script()
    committed = zlib.decompress(LAYOUT.read_bytes()).decode("utf-8")
    assert committed == script.render_xml(), (
        "assets/controllers/latent-walk.tosc is stale: run python scripts/make_touchosc_layout.py"
    )
    assert script.main(["--check"]) == 0
    assert script.render() == script.render()  # no clock, no random ids


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    script = load_script()
    stale = tmp_path / "stale.tosc"
    stale.write_bytes(zlib.compress(script.render_xml(["other"]).encode("utf-8"), 9))
    assert script.main(["--check", "--output", str(stale)]) == 1
    assert script.main(["--check", "--output", str(tmp_path / "missing.tosc")]) == 1
    assert script.main(["--output", str(stale)]) == 0
    assert script.main(["--check", "--output", str(stale)]) == 0


def test_file_is_a_zlib_stream_of_one_lexml_root_group(layout: ET.Element) -> None:
    assert LAYOUT.read_bytes()[:2] == b"\x78\xda"  # zlib, level 9
    assert layout.tag == "lexml" and layout.get("version") == "3"
    roots = layout.findall("node")
    assert len(roots) == 1 and roots[0].get("type") == "GROUP"
    ids = [node.get("ID") for node in layout.iter("node")]
    assert len(ids) == len(set(ids))
    names = [name_of(node) for node in layout.iter("node")]
    assert len(names) == len(set(names)), "node names are unique, so scripts can find them"


def test_every_sent_message_is_accepted_over_the_whole_range(layout: ET.Element) -> None:
    recorder = Recorder()
    logger = logging.getLogger("test_touchosc_layout.clamp")
    logger.addHandler(recorder)
    limiter = LogLimiter(logger, interval_s=0.0)
    sent = 0
    for node, osc in messages(layout):
        path_parts = osc.findall("path/partial")
        assert [p.findtext("type") for p in path_parts] == ["CONSTANT"]
        address = path_parts[0].findtext("value")
        if osc.findtext("send") != "1":
            continue
        choices = [argument_values(p) for p in osc.iterfind("arguments/partial")]
        for args in itertools.product(*choices):
            parse(address, list(args), limiter)  # raises MessageError if rejected
            sent += 1
        assert not recorder.records, f"{name_of(node)} {address}: {recorder.records[0].msg}"
    assert sent > 30


def test_received_messages_are_the_status_replies(layout: ET.Element) -> None:
    received = {
        osc.find("path/partial").findtext("value"): node
        for node, osc in messages(layout)
        if osc.findtext("receive") == "1"
    }
    assert {"/status/section", "/status/show_time_s"} <= set(received)
    for address, node in received.items():
        assert address.startswith("/status/")
        assert node.get("type") == "LABEL"
        # a label shows what arrives: its text value, not a property
        [partial] = node.findall("messages/osc/arguments/partial")
        assert (partial.findtext("type"), partial.findtext("value")) == ("VALUE", "text")


def test_every_panel_exists_with_its_controls(layout: ET.Element) -> None:
    root = layout.find("node")
    panels = {name_of(node): node for node in root.find("children")}
    assert set(PANELS) <= set(panels)

    def sent(panel: str) -> list[tuple[str, str, list]]:
        return [
            (node.get("type"), osc.find("path/partial").findtext("value"),
             [argument_values(p) for p in osc.iterfind("arguments/partial")])
            for node, osc in messages(panels[panel])
            if osc.findtext("send") == "1"
        ]  # fmt: skip

    transport = {address for _, address, _ in sent("transport")}
    assert {"/show/play", "/show/pause", "/show/toggle", "/show/next", "/show/prev",
            "/show/reload"} <= transport  # fmt: skip
    assert [args for _, _, args in sent("sections")] == [[[index]] for index in range(8)]
    assert sent("speed") == [("FADER", "/show/speed", [[0.05, 10.0]])]
    assert {(kind, address) for kind, address, _ in sent("blackout")} == {
        ("BUTTON", "/show/blackout"), ("FADER", "/show/fade")
    }  # fmt: skip
    assert {address for _, address, _ in sent("look")} == {"/psi", "/cutoff", "/noise"}
    assert ("XY", "/camera/translate", [[-1.0, 1.0], [-1.0, 1.0]]) in sent("camera")
    assert ("FADER", "/camera/rotate", [[-360.0, 360.0]]) in sent("camera")
    assert {address for _, address, _ in sent("directions")} == {
        "/direction/demo_swirl", "/direction/smile"
    }  # fmt: skip
    assert ("BUTTON", "/status", [[0, 1]]) in sent("feedback")


def test_toggles_are_toggles_and_buttons_act_on_press(layout: ET.Element) -> None:
    for node, osc in messages(layout):
        if node.get("type") != "BUTTON":
            continue
        address = osc.find("path/partial").findtext("value")
        toggle = address in ("/show/paused", "/show/blackout")
        assert prop(node, "buttonType").text == ("1" if toggle else "0"), address
        assert osc.findtext("triggers/trigger/condition") == ("ANY" if toggle else "RISE")


def test_controls_fit_inside_their_panel_and_do_not_overlap(layout: ET.Element) -> None:
    root = layout.find("node")
    _, _, canvas_w, canvas_h = frame_of(root)
    groups = [root, *root.find("children")]
    for group in groups:
        _, _, w, h = frame_of(group) if group is not root else (0, 0, canvas_w, canvas_h)
        frames = [frame_of(child) for child in group.find("children")]
        for x, y, cw, ch in frames:
            assert 0 <= x and x + cw <= w and 0 <= y and y + ch <= h, name_of(group)
        for a, b in itertools.combinations(frames, 2):
            apart = (a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1]
                     or b[1] + b[3] <= a[1])  # fmt: skip
            assert apart, f"{name_of(group)}: {a} overlaps {b}"


def test_direction_faders_follow_the_option_and_unknown_placeholders_are_left_out() -> None:
    script = load_script()
    panels, left_out = script.plan(["a", "b_2", "c"])
    directions = next(panel for panel in panels if panel.name == "directions")
    assert [control.name for control in directions.controls] == [
        "direction_a", "direction_b_2", "direction_c"
    ]  # fmt: skip
    placeholders = {a.pattern for a in ADDRESSES if a.name_regex} - {"/direction/<name>"}
    assert placeholders <= {address for address, _ in left_out}
