"""What the playing section takes from live control: the answers behind /status/refused and
/status/steerable, on the shipped demo show and on shows of our own."""

from pathlib import Path

import pytest

from installation.control.addresses import parse
from installation.show.load import load_show, validate_text
from installation.walk import player as player_module
from installation.walk.commands import GoToSection, SensorInput, SetLive, SetSpeed
from installation.walk.steering import SPEED_RANGE, describe_steerable, refusal, steerable

DEMO = Path(__file__).resolve().parents[3] / "shows" / "demo.yaml"


@pytest.fixture(scope="module")
def demo():
    return load_show(DEMO)


def test_the_readme_osc_example_works_in_every_section_of_the_demo_show(demo) -> None:
    # README: /show/next, /psi 0.4, /status
    for section in demo.sections:
        for address, values in (("/show/next", []), ("/psi", [0.4]), ("/status", [])):
            for command in parse(address, values):
                assert refusal(command, section, demo) is None, (section.name, address)
        assert "psi" in steerable(section) and "speed" in steerable(section)


def test_a_live_block_limits_what_is_steerable_and_the_refusal_says_what_is(demo) -> None:
    orbit = next(s for s in demo.sections if s.name == "orbit")
    assert steerable(orbit) == {"psi": (0.2, 1.2), "rotate_deg": (-45.0, 45.0),
                                "translate_x": (-0.5, 0.5), "speed": SPEED_RANGE}  # fmt: skip
    assert refusal(SetLive("cutoff", 8.0), orbit, demo) == (
        "section 'orbit' does not steer cutoff (steerable now: psi 0.2..1.2, "
        "rotate_deg -45..45, translate_x -0.5..0.5, speed 0.05..10)"
    )
    assert refusal(SetLive("translate_y", 0.1), orbit, demo) is not None
    assert refusal(SetSpeed(2.0), orbit, demo) is None  # speed: every section
    wander = next(s for s in demo.sections if s.name == "wander")
    assert steerable(wander)["speed"] == (0.25, 4.0)  # the section's own speed range


def test_without_a_live_block_the_core_parameters_and_its_directions_are_steerable(demo) -> None:
    mixing = next(s for s in demo.sections if s.name == "mixing")
    assert not mixing.live
    names = steerable(mixing)
    assert {"psi", "cutoff", "rotate_deg", "direction/demo_swirl", "speed"} <= set(names)
    assert refusal(SetLive("direction/demo_swirl", 3.0), mixing, demo) is None
    assert refusal(SetLive("direction/0", 3.0), mixing, demo) is None  # by index
    reason = refusal(SetLive("direction/smile", 3.0), mixing, demo)
    assert reason is not None and reason.startswith("section 'mixing' does not steer direction/")
    assert "direction/demo_swirl -20..20" in describe_steerable(mixing)


def test_sections_and_sensors_the_show_lacks_are_refused(demo) -> None:
    section = demo.sections[0]
    assert refusal(GoToSection("orbit"), section, demo) is None
    assert refusal(GoToSection(4), section, demo) is None
    assert refusal(GoToSection("intro"), section, demo) == (
        "no section 'intro' (sections: seeds, orbit, mixing, drift, wander)"
    )
    assert refusal(GoToSection(5), section, demo) == "no section 5: the show has 5 (0..4)"
    assert refusal(SensorInput("proximity", (1.0,)), section, demo) == (
        "the show has no sensor 'proximity' (sensors: -)"
    )


def test_a_sensor_the_show_maps_is_taken(tmp_path) -> None:
    text = DEMO.read_text(encoding="utf-8").replace(
        "\nmodels:", "\nsensors:\n  proximity: {target: psi, input: [0, 1], output: [1, 0.3]}\n"
        "\nmodels:", 1,
    )  # fmt: skip
    show = validate_text(text, DEMO)
    assert refusal(SensorInput("proximity", (0.5,)), show.sections[0], show) is None


def test_the_speed_range_is_the_render_loops() -> None:
    assert SPEED_RANGE == player_module.SPEED_RANGE
