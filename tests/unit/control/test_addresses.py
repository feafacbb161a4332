"""The OSC address table: every address, argument types, clamping and rejections, no sockets."""

from __future__ import annotations

import logging
import math

import pytest

from installation.control.addresses import (
    ADDRESSES,
    MAX_SENSOR_VALUES,
    LogLimiter,
    MessageError,
    match,
    parse,
)
from installation.errors import ControlError
from installation.show.schema import NOISE_MODES, SENSOR_MAX_VALUES
from installation.walk.commands import (
    Blackout,
    Bookmark,
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

GOOD = [
    ("/show/play", [], [SetPaused(False)]),
    ("/show/pause", [], [SetPaused(True)]),
    ("/show/toggle", [], [TogglePause()]),
    ("/show/paused", [1], [SetPaused(True)]),
    ("/show/paused", [False], [SetPaused(False)]),
    ("/show/section", [2], [GoToSection(2)]),
    ("/show/section", ["intro"], [GoToSection("intro")]),
    ("/show/section", [" 3 "], [GoToSection(3)]),
    ("/show/section", [1.0], [GoToSection(1)]),
    ("/show/next", [], [JumpSection(1)]),
    ("/show/prev", [], [JumpSection(-1)]),
    ("/show/seek", [12.5], [Seek(12.5)]),
    ("/show/speed", [2], [SetSpeed(2.0)]),
    ("/tempo", ["128.5"], [SetTempo(128.5)]),
    ("/walk/next", [], [StepKeyframe(1)]),
    ("/walk/prev", [1], [StepKeyframe(-1)]),
    ("/tempo", [1000], [SetTempo(400.0)]),  # clamped into 20..400 BPM
    ("/show/reload", [], [ReloadShow()]),
    ("/show/load", ["lobby_2.v1"], [LoadShow("lobby_2.v1")]),
    ("/show/blackout", [1], [Blackout(0.0, 1.0)]),
    ("/show/blackout", [0, 2.5], [Blackout(1.0, 2.5)]),
    ("/show/blackout", ["true", "0"], [Blackout(0.0, 0.0)]),
    ("/show/fade", [0.25], [Blackout(0.25, 1.0)]),
    ("/show/fade", [0.25, 4], [Blackout(0.25, 4.0)]),
    ("/status", [], []),
    ("/psi", [0.7], [SetLive("psi", 0.7)]),
    ("/cutoff", [8], [SetLive("cutoff", 8.0)]),
    ("/cutoff", [7.6], [SetLive("cutoff", 8.0)]),  # a fader's float rounds
    ("/noise", [1.5], [SetLive("noise_strength", 1.5)]),
    ("/camera/translate", [0.2, -0.1], [SetLive("translate_x", 0.2), SetLive("translate_y", -0.1)]),
    ("/camera/rotate", [-45], [SetLive("rotate_deg", -45.0)]),
    ("/direction/smile", [3], [SetLive("direction/smile", 3.0)]),
    ("/direction/2", [-1.5], [SetLive("direction/2", -1.5)]),
    ("/param/noise_strength", [0.5], [SetLive("noise_strength", 0.5)]),
    ("/param/direction/age-1", [2], [SetLive("direction/age-1", 2.0)]),
    ("/noise/mode", ["random"], [SetNoiseMode("random")]),
    ("/noise/mode", [" None "], [SetNoiseMode("none")]),
    ("/noise/mode", ["show"], [SetNoiseMode(None)]),
    ("/latent/seed", [1234], [GlideTo(seed=1234, glide_s=2.0)]),
    ("/latent/seed", ["4294967295", 0.5], [GlideTo(seed=2**32 - 1, glide_s=0.5)]),
    ("/latent/seed", [7.0, "0"], [GlideTo(seed=7, glide_s=0.0)]),
    ("/latent/stored", ["portrait_3"], [GlideTo(latent="portrait_3", glide_s=2.0)]),
    ("/latent/stored", [" face-1.b ", 10], [GlideTo(latent="face-1.b", glide_s=10.0)]),
    ("/mixing", [85], [SetMixing(85, 0, None)]),
    ("/mixing", [85, 4], [SetMixing(85, 4, None)]),
    ("/mixing", [85, 0, 4], [SetMixing(85, 0, 4)]),
    ("/mixing", ["85", "8", "-1"], [SetMixing(85, 8, None)]),
    ("/mixing/off", [], [SetMixing(None)]),
    ("/sensor/proximity", [512], [SensorInput("proximity", (512.0,))]),
    ("/sensor/mic.left-2", [0.1, "0.2", True], [SensorInput("mic.left-2", (0.1, 0.2, 1.0))]),
    ("/sensor/x", list(range(16)), [SensorInput("x", tuple(float(i) for i in range(16)))]),
    ("/preset/save", ["calm"], [SavePreset("calm", False)]),
    ("/preset/recall", ["calm", 4], [RecallPreset("calm", 4.0)]),
    ("/preset/list", [], [ListPresets()]),
    ("/bookmark", ["dawn"], [Bookmark("dawn")]),
    ("/midi/learn", ["psi"], [MidiLearn("psi")]),
    ("/midi/learn", [" direction/smile.v2 "], [MidiLearn("direction/smile.v2")]),
]


@pytest.mark.parametrize(("address", "args", "expected"), GOOD)
def test_good_message_gives_its_commands(address: str, args: list, expected: list) -> None:
    assert parse(address, args, LogLimiter()) == expected


def test_every_table_entry_is_tested_and_its_example_parses() -> None:
    tested = {match(address)[0].pattern for address, _, _ in GOOD}
    assert tested == {entry.pattern for entry in ADDRESSES}
    for entry in ADDRESSES:
        address, *args = entry.example.split()
        parse(address, args, LogLimiter())  # examples are strings, as TouchDesigner sends them


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.5", 0.5), (" 2 ", 2.0), ("1e-1", 0.1), ("-.5", -0.5), ("+1.", 1.0), (True, 1.0),
     (False, 0.0), (1, 1.0), (0.25, 0.25)],
)  # fmt: skip
def test_numbers_come_as_int_float_bool_or_numeric_string(value: object, expected: float) -> None:
    [command] = parse("/psi", [value], LogLimiter())
    assert command == SetLive("psi", expected)
    assert isinstance(command.value, float)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -math.inf, "nan", "inf", "1e999", "abc", "0x10",
              "1_000", "", None, b"\x00", [1.0]],
)  # fmt: skip
def test_non_numbers_and_non_finite_are_rejected(value: object) -> None:
    with pytest.raises(ControlError, match=r"/psi: argument 1 \(psi\) must be a"):
        parse("/psi", [value], LogLimiter())


def test_buttons_act_on_press_only() -> None:
    limiter = LogLimiter()
    assert parse("/show/next", [1.0], limiter) == [JumpSection(1)]
    assert parse("/show/next", [0.0], limiter) == []  # TouchOSC sends 0 on release
    assert parse("/show/reload", ["1"], limiter) == [ReloadShow()]
    assert parse("/status", [0], limiter) == []


def test_out_of_range_is_clamped_and_logged_once_per_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = LogLimiter()
    with caplog.at_level(logging.WARNING, logger="installation.control.addresses"):
        assert parse("/show/speed", [50], limiter) == [SetSpeed(10.0)]
        assert parse("/show/speed", [0], limiter) == [SetSpeed(0.05)]
        assert parse("/show/speed", ["-3"], limiter) == [SetSpeed(0.05)]
        assert parse("/cutoff", [99], limiter) == [SetLive("cutoff", 32.0)]
        assert parse("/direction/x", [-100], limiter) == [SetLive("direction/x", -20.0)]
        assert parse("/show/section", [-2], limiter) == [GoToSection(0)]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "/show/speed: speed=50 is outside 0.05..10; clamped to 10",
        "/cutoff: cutoff=99 is outside 0..32; clamped to 32",
        "/direction/<name>: intensity=-100 is outside -20..20; clamped to -20",
        "/show/section: section=-2 is outside 0..; clamped to 0",
    ]
    assert limiter._logs["/show/speed clamp speed"].suppressed_count == 2


def test_suppressed_count_is_written_after_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = LogLimiter(interval_s=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="installation.control.addresses"):
        for _ in range(5):
            parse("/psi", [9], limiter)
        now[0] = 61.0
        parse("/psi", [9], limiter)
    assert [r.getMessage() for r in caplog.records] == [
        "/psi: psi=9 is outside -1..2; clamped to 2",
        "suppressed 4 similar in 61 s",
        "/psi: psi=9 is outside -1..2; clamped to 2",
    ]


@pytest.mark.parametrize(
    ("address", "args", "message"),
    [
        ("/nope", [], "unknown OSC address '/nope' (see docs/osc.md)"),
        ("/show/*", [], "unknown OSC address '/show/*'"),
        ("/psi/", [1], "unknown OSC address '/psi/'"),
        ("/psi", [], "/psi: expected 1 argument(s) (psi: float -1..2), got 0: []"),
        ("/psi", [1, 2], "/psi: expected 1 argument(s) (psi: float -1..2), got 2: [1, 2]"),
        ("/show/next", [1, 1], "/show/next: expected 0..1 argument(s) ([press: 1|0 = 1]), got 2"),
        ("/camera/translate", [0.1], "/camera/translate: expected 2 argument(s)"),
        ("/show/fade", [], "/show/fade: expected 1..2 argument(s)"),
        ("/show/speed", ["fast"], "/show/speed: argument 1 (speed) must be a number"),
        ("/show/fade", [0.5, "slow"], "/show/fade: argument 2 (fade_s) must be a number"),
        ("/show/load", [3], "/show/load: argument 1 (name) must be a show name (a string), got 3"),
        ("/show/section", [""], "/show/section: argument 1 (section) must be a section index"),
        ("/direction/", [1], "the name after /direction/ must be 1..100 characters"),
        ("/direction/a/b", [1], "the name after /direction/ must be"),
        ("/param/a//b", [1], "without empty '/' parts"),
        ("/param/a b", [1], "the name after /param/ must be"),
        ("/param/" + "x" * 101, [1], "must be 1..100 characters"),
        (
            "/noise/mode",
            ["loud"],
            "/noise/mode: argument 1 (mode) must be one of const, random, none, show, got 'loud'",
        ),
        ("/noise/mode", [1], "/noise/mode: argument 1 (mode) must be one of const"),
        ("/noise/mode", [], "/noise/mode: expected 1 argument(s) (mode: const|random|none|show)"),
        ("/latent/seed", ["abc"], "/latent/seed: argument 1 (seed) must be a number"),
        (
            "/latent/seed",
            [1, 2, 3],
            "/latent/seed: expected 1..2 argument(s) "
            "(seed: int 0..4294967295 [glide_s: float 0..60 s = 2]), got 3",
        ),
        ("/latent/seed", [float("nan")], "/latent/seed: argument 1 (seed) must be a finite"),
        (
            "/latent/stored",
            [5],
            "/latent/stored: argument 1 (name) must be a stored latent's name (a string), got 5",
        ),
        (
            "/latent/stored",
            ["../x"],
            "/latent/stored: argument 1 (name) must be a stored "
            "latent's name of 1..100 letters, digits, '_', '-', '.' (no paths",
        ),
        ("/latent/stored", ["a", "slow"], "/latent/stored: argument 2 (glide_s) must be a number"),
        ("/mixing", [], "/mixing: expected 1..3 argument(s)"),
        ("/mixing", [1, 4, 4], "/mixing: stop (4) must be > first (4), or -1 for all rows"),
        ("/mixing", [1, 6, 2], "/mixing: stop (2) must be > first (6)"),
        ("/mixing/off", [1, 2], "/mixing/off: expected 0..1 argument(s)"),
        (
            "/sensor/p",
            [],
            "/sensor/p: expected 1..16 argument(s) (value: float (1..16 of them)), got 0",
        ),
        ("/sensor/p", [0.0] * 17, "/sensor/p: expected 1..16 argument(s)"),
        ("/sensor/p", [1, "x"], "/sensor/<name>: argument 2 (value) must be a number"),
        ("/sensor/p", [1, math.inf], "/sensor/<name>: argument 2 (value) must be a finite"),
        ("/sensor/a/b", [1], "the name after /sensor/ must be 1..100 characters"),
        ("/sensor/", [1], "the name after /sensor/ must be"),
    ],
)
def test_bad_messages_raise_control_error_naming_the_problem(
    address: str, args: list, message: str
) -> None:
    with pytest.raises(ControlError) as info:
        parse(address, args, LogLimiter())
    assert message in str(info.value)
    assert isinstance(info.value, MessageError) and info.value.log_key


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "/etc/passwd", "..", "a..b", ".hidden", "x\\y", "a b", "", "é"]
)
def test_show_load_rejects_paths(name: str) -> None:
    with pytest.raises(ControlError, match=r"/show/load: argument 1 \(name\) must be a show name"):
        parse("/show/load", [name], LogLimiter())


def test_log_keys_group_by_address_pattern_and_reason() -> None:
    keys = set()
    for address, args in [("/direction/a", []), ("/direction/b", []), ("/psi", ["x"])]:
        with pytest.raises(MessageError) as info:
            parse(address, args, LogLimiter())
        keys.add(info.value.log_key)
    assert keys == {"/direction/<name> arity", "/psi type psi"}


def test_limiter_shares_one_log_past_max_keys(caplog: pytest.LogCaptureFixture) -> None:
    limiter = LogLimiter(max_keys=2)
    with caplog.at_level(logging.WARNING):
        for index in range(5):
            limiter.log(f"k{index}", logging.WARNING, "line %d", index)
    assert [r.getMessage() for r in caplog.records] == ["line 0", "line 1", "line 2"]


def test_new_addresses_clamp_into_their_ranges(caplog: pytest.LogCaptureFixture) -> None:
    limiter = LogLimiter()
    with caplog.at_level(logging.WARNING, logger="installation.control.addresses"):
        assert parse("/latent/seed", [-5, 99], limiter) == [GlideTo(seed=0, glide_s=60.0)]
        assert parse("/latent/seed", [2**40], limiter) == [GlideTo(seed=2**32 - 1, glide_s=2.0)]
        assert parse("/latent/stored", ["a", -1], limiter) == [GlideTo(latent="a", glide_s=0.0)]
        assert parse("/mixing", [1, 40, 99], limiter) == [SetMixing(1, 31, 32)]
        assert parse("/mixing", [1, -3, -7], limiter) == [SetMixing(1, 0, None)]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "/latent/seed: seed=-5 is outside 0..4294967295; clamped to 0",
        "/latent/seed: glide_s=99 is outside 0..60; clamped to 60",
        "/latent/stored: glide_s=-1 is outside 0..60; clamped to 0",
        "/mixing: first=40 is outside 0..31; clamped to 31",
        "/mixing: stop=99 is outside -1..32; clamped to 32",
    ]  # the second seed and mixing lines are within the minute: counted, not written


def test_sensor_values_are_not_clamped_and_keep_their_order() -> None:
    [command] = parse("/sensor/knob", [-1e6, "2.5", 0, False], LogLimiter())
    assert command == SensorInput("knob", (-1e6, 2.5, 0.0, 0.0))
    assert all(isinstance(v, float) for v in command.values)


def test_limits_agree_with_the_show_format() -> None:
    assert MAX_SENSOR_VALUES == SENSOR_MAX_VALUES
    [noise_mode] = [entry for entry in ADDRESSES if entry.pattern == "/noise/mode"]
    assert noise_mode.args[0].choices == (*NOISE_MODES, "show")


@pytest.mark.parametrize("value", ["", "a//b", "/psi", "direction/../x", "psi!", "x" * 101, 3])
def test_midi_learn_takes_only_a_parameter_name(value: object) -> None:
    with pytest.raises(ControlError, match=r"/midi/learn: argument 1 \(parameter\) must be a live"):
        parse("/midi/learn", [value], LogLimiter())
