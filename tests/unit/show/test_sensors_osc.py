"""The show's `sensors` block and `show.osc` settings: what loads, and the exact errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from installation.errors import ShowError
from installation.show.jsonschema import show_json_schema
from installation.show.load import validate_text
from installation.show.schema import (
    SENSOR_CURVES,
    HttpSettings,
    LiveParam,
    OscSettings,
    Sensor,
    ShowSettings,
    Smoothing,
)

FIX = Path(__file__).resolve().parent / "fixtures"
SHOW = FIX / "broken.yaml"  # not a file: validate_text reads text "as if" it were there
BODY = (
    "models:\n  faces: {path: models/faces.pkl}\n"  # line 1-2
    "sections:\n"  # line 3
    "  - {name: a, model: faces, duration_s: 5, walk: {path: noise_loop}}\n"  # line 4
)


def errors_of(text: str) -> list[str]:
    """The lines of the ShowError that `text` gives."""
    with pytest.raises(ShowError) as info:
        validate_text(text, SHOW)
    return str(info.value).splitlines()


def test_show_without_sensors_or_osc_has_the_defaults() -> None:
    show = validate_text(BODY, SHOW)
    assert show.sensors == ()
    assert show.settings.osc == OscSettings(None, None, None, None, None)
    assert show.settings == ShowSettings()


def test_sensors_load_with_every_field_and_defaults() -> None:
    text = BODY + (
        "sensors:\n"
        "  proximity:\n"
        "    target: psi\n"
        "    input: [0, 1023]\n"
        "    output: [1.0, 0.3]\n"
        "    curve: smooth\n"
        "    smoothing: {kind: one_euro, min_cutoff_hz: 0.5, beta: 0.01, d_cutoff_hz: 2}\n"
        "    dead_band: 2\n"
        "    timeout_s: 3\n"
        "    index: 1\n"
        "  knob: {target: direction/smile, input: [1, 0], output: [-3, 3]}\n"
        "  slider: {target: speed, input: [0, 127], output: [0.5, 2],\n"
        "           smoothing: {kind: exponential, time_constant_s: 0.2}}\n"
        "  off: {target: rotate_deg, input: [0, 1], output: [0, 90], smoothing: none}\n"
    )
    show = validate_text(text, SHOW)
    assert show.sensors == (
        Sensor("proximity", "psi", (0.0, 1023.0), (1.0, 0.3), "smooth",
               Smoothing("one_euro", min_cutoff_hz=0.5, beta=0.01, d_cutoff_hz=2.0), 2.0, 3.0, 1),
        Sensor("knob", "direction/smile", (1.0, 0.0), (-3.0, 3.0), "linear", Smoothing(), 0.0,
               5.0, 0),
        Sensor("slider", "speed", (0.0, 127.0), (0.5, 2.0),
               smoothing=Smoothing("exponential", time_constant_s=0.2)),
        Sensor("off", "rotate_deg", (0.0, 1.0), (0.0, 90.0)),
    )  # fmt: skip
    assert show.sensors[3].smoothing.kind == "none"


def test_sensor_errors_name_line_field_and_expected_values() -> None:
    text = BODY + (
        "sensors:\n"  # 5
        "  proximity:\n"  # 6
        "    target: psy\n"  # 7
        "    input: [0, 0]\n"  # 8
        "    output: [1.0]\n"  # 9
        "    curve: cubic\n"  # 10
        "    smoothing: {kind: one_euro, time_constant_s: 1}\n"  # 11
        "    dead_band: -2\n"  # 12
        "    timeout_s: soon\n"  # 13
        "    index: 16\n"  # 14
        "    scale: 2\n"  # 15
        "  bad name: {target: psi, input: [0, 1], output: [0, 1]}\n"  # 16
        "  k2: {input: [0, 1], output: [0, 1], smoothing: {kind: exponential, "
        "time_constant_s: 0}}\n"  # 17
        "  k3: {target: psi, input: [0, 1], output: [0, 1], smoothing: fast}\n"  # 18
        "  k4: {target: psi, input: [0, x], output: [0, 1], smoothing: {kind: kalman}}\n"  # 19
        "  k5: {target: direction/, input: [0, 1], output: [0, 1], smoothing: {beta: 1}}\n"  # 20
    )
    live = "psi, cutoff, noise_strength, translate_x, translate_y, rotate_deg, speed"
    assert errors_of(text) == [
        f"{SHOW}:7: sensors.proximity.target: 'psy' is not one of {live}, direction/<name>; "
        "did you mean 'psi'?",
        f"{SHOW}:8: sensors.proximity.input: must be [from, to] (two different numbers), "
        "got [0, 0]",
        f"{SHOW}:9: sensors.proximity.output: must be [from, to] (two different numbers), "
        "got 1 number(s)",
        f"{SHOW}:10: sensors.proximity.curve: 'cubic' is not one of "
        "linear, ease_in, ease_out, smooth, log, exp",
        f"{SHOW}:11: sensors.proximity.smoothing.time_constant_s: only for kind exponential, "
        "got kind one_euro",
        f"{SHOW}:12: sensors.proximity.dead_band: must be a number >= 0, got -2",
        f"{SHOW}:13: sensors.proximity.timeout_s: must be a number >= 0, got 'soon'",
        f"{SHOW}:14: sensors.proximity.index: must be < 16 (a /sensor message has at most 16 "
        "values), got 16",
        f"{SHOW}:15: sensors.proximity.scale: unknown key; expected one of target, input, "
        "output, curve, smoothing, dead_band, timeout_s, index",
        f"{SHOW}:16: sensors.bad name: a sensor name is 1..100 letters, digits, '_', '-' or '.'",
        f"{SHOW}:17: sensors.k2: missing required key 'target'",
        f"{SHOW}:17: sensors.k2.smoothing.time_constant_s: must be a number > 0, got 0",
        f"{SHOW}:18: sensors.k3.smoothing: must be none or a mapping "
        "{kind: none, exponential, one_euro, ...}, got 'fast'",
        f"{SHOW}:19: sensors.k4.input[1]: must be a number, got 'x'",
        f"{SHOW}:19: sensors.k4.smoothing.kind: 'kalman' is not one of none, exponential, one_euro",
        f"{SHOW}:20: sensors.k5.target: 'direction/' is not one of {live}, direction/<name>",
        f"{SHOW}:20: sensors.k5.smoothing: missing required key 'kind'",
    ]


def test_sensors_must_be_a_mapping_of_names() -> None:
    assert errors_of(BODY + "sensors: [proximity]\n") == [
        f"{SHOW}:5: sensors: must be a mapping of names, got a list"
    ]


def test_osc_settings_load() -> None:
    text = (
        "show:\n  osc: {port: 9000, host: 0.0.0.0, allow: [loopback, local, 10.0.0.0/24, "
        "192.168.1.7, 'fe80::/10'], feedback: [192.168.1.20, 9001], heartbeat_s: 2}\n" + BODY
    )
    osc = validate_text(text, SHOW).settings.osc
    assert osc == OscSettings(
        9000,
        "0.0.0.0",
        ("loopback", "local", "10.0.0.0/24", "192.168.1.7", "fe80::/10"),
        ("192.168.1.20", 9001),
        2.0,
    )


@pytest.mark.parametrize(
    ("osc", "expected"),
    [
        ("{port: null}", OscSettings()),
        ("{allow: any}", OscSettings(allow=("any",))),
        ("{allow: [Loopback]}", OscSettings(allow=("loopback",))),
        ("{feedback: [tablet.local, 9001]}", OscSettings(feedback=("tablet.local", 9001))),
        ("{heartbeat_s: 0}", OscSettings(heartbeat_s=0.0)),
        ("{host: '::1'}", OscSettings(host="::1")),
    ],
)
def test_osc_settings_forms(osc: str, expected: OscSettings) -> None:
    assert validate_text(f"show:\n  osc: {osc}\n" + BODY, SHOW).settings.osc == expected


def test_osc_settings_errors_come_all_at_once() -> None:
    text = (
        "show:\n"
        "  osc:\n"  # 2
        "    port: 70000\n"  # 3
        "    host: 'a b'\n"  # 4
        "    allow: [loopback, 10.0.0.0/33, nowhere, 3]\n"  # 5
        "    feedback: [tablet]\n"  # 6
        "    heartbeat_s: -1\n"  # 7
        "    prot: 1\n" + BODY  # 8
    )
    allow = "must be loopback, local, any, an IP address or a CIDR network like 10.0.0.0/24"
    assert errors_of(text) == [
        f"{SHOW}:3: show.osc.port: must be a port number 1..65535 or null, got 70000",
        f"{SHOW}:4: show.osc.host: must be a host name or an IP address (no port, no spaces), "
        "got 'a b'",
        f"{SHOW}:5: show.osc.allow[1]: {allow}, got '10.0.0.0/33' "
        "('10.0.0.0/33' does not appear to be an IPv4 or IPv6 network)",
        f"{SHOW}:5: show.osc.allow[2]: {allow}, got 'nowhere'",
        f"{SHOW}:5: show.osc.allow[3]: {allow}, got 3",
        f"{SHOW}:6: show.osc.feedback: must be [host, port], got 1 item(s)",
        f"{SHOW}:7: show.osc.heartbeat_s: must be a number >= 0, got -1",
        f"{SHOW}:8: show.osc.prot: unknown key; did you mean 'port'?",
    ]


def test_osc_feedback_port_and_host_are_checked() -> None:
    text = "show:\n  osc: {feedback: ['host:9000', 0], port: 0}\n" + BODY
    assert errors_of(text) == [
        f"{SHOW}:2: show.osc.port: must be a port number 1..65535 or null, got 0",
        f"{SHOW}:2: show.osc.feedback[0]: must be a host name or an IP address (no port, "
        "no spaces), got 'host:9000'",
        f"{SHOW}:2: show.osc.feedback[1]: must be a port number 1..65535, got 0",
    ]


def test_json_schema_describes_sensors_and_osc() -> None:
    schema = show_json_schema()
    sensor = schema["properties"]["sensors"]["additionalProperties"]
    assert sensor["required"] == ["target", "input", "output"]
    assert set(sensor["properties"]) == {
        "target", "input", "output", "curve", "smoothing", "dead_band", "timeout_s", "index"
    }  # fmt: skip
    assert sensor["properties"]["curve"]["enum"] == list(SENSOR_CURVES)
    osc = schema["properties"]["show"]["properties"]["osc"]
    assert set(osc["properties"]) == set(OscSettings.__dataclass_fields__)


def test_live_params_are_unchanged_by_sensors() -> None:
    text = BODY.replace("duration_s: 5,", "duration_s: 5, live: {psi: {range: [0, 1]}},")
    show = validate_text(
        text + "sensors: {p: {target: psi, input: [0, 1], output: [0, 1]}}\n", SHOW
    )
    assert show.sections[0].live == (LiveParam("psi", (0.0, 1.0)),)
    assert show.sensors[0].target == "psi"


def test_http_settings_load_and_default() -> None:
    assert validate_text(BODY, SHOW).settings.http == HttpSettings()
    text = ("show:\n  http: {port: 8080, host: 0.0.0.0, allow: [loopback, 10.0.0.0/24], "
            "token: gallery-remote-2026-token}\n" + BODY)  # fmt: skip
    assert validate_text(text, SHOW).settings.http == HttpSettings(
        8080, "0.0.0.0", ("loopback", "10.0.0.0/24"), "gallery-remote-2026-token"
    )
    schema = show_json_schema()["properties"]["show"]["properties"]["http"]
    assert set(schema["properties"]) == set(HttpSettings.__dataclass_fields__)


def test_http_settings_errors_name_the_line_and_never_echo_the_token() -> None:
    text = (
        "show:\n"
        "  http:\n"  # 2
        "    port: 0\n"  # 3
        "    token: 'short secret'\n"  # 4
        "    allow: [everyone]\n"  # 5
        "    tokn: x\n" + BODY  # 6
    )
    errors = errors_of(text)
    assert errors[:2] == [
        f"{SHOW}:3: show.http.port: must be a port number 1..65535 or null, got 0",
        f"{SHOW}:4: show.http.token: must be 16..200 letters, digits, '-', '_', '.' or '~' "
        "(12 characters given)",
    ]
    assert errors[2].startswith(f"{SHOW}:5: show.http.allow[0]: must be loopback")
    assert errors[3] == f"{SHOW}:6: show.http.tokn: unknown key; did you mean 'token'?"
    assert not any("short secret" in line for line in errors)
