"""`show.outputs` (several screens of one PC): reading, file:line errors, the shared bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from installation.display import outputs as display_outputs
from installation.display.fit import FITS
from installation.errors import ShowError
from installation.show import schema
from installation.show.jsonschema import show_json_schema
from installation.show.load import validate_text
from installation.show.schema import OutputScreen, OutputsSettings

SHOW = Path(__file__).resolve().parent / "fixtures" / "outputs.yaml"  # read "as if" there
BODY = (
    "models:\n  faces: {path: models/faces.pkl}\n"
    "sections:\n  - name: a\n    model: faces\n    duration_s: 5\n"
    "    walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}\n"
)


def show_with(outputs: str) -> str:
    return f"show:\n  outputs:\n{outputs}{BODY}"


def errors_of(text: str) -> str:
    with pytest.raises(ShowError) as info:
        validate_text(text, SHOW)
    return str(info.value)


def test_outputs_block_reads_screens_overlap_and_gamma():
    text = show_with(
        "    screens:\n      - {display: 1, fit: stretch}\n      - 2\n"
        '    overlap: "192px"\n    gamma: 2.4\n'
    )
    outputs = validate_text(text, SHOW).settings.outputs
    assert outputs == OutputsSettings(
        (OutputScreen(1, "stretch"), OutputScreen(2, None)), 192.0, True, 2.4
    )
    fraction = validate_text(show_with("    screens: [0, 1]\n    overlap: 0.15\n"), SHOW)
    assert fraction.settings.outputs == OutputsSettings(
        (OutputScreen(0), OutputScreen(1)), 0.15, False, 2.2
    )
    assert validate_text(BODY, SHOW).settings.outputs is None  # one screen


def test_outputs_errors_name_the_line_and_the_problem():
    text = show_with(
        "    screens:\n      - {display: -1}\n      - {display: 2, fit: zoom}\n"
        '    overlap: "wide"\n    gamma: 9\n    blend: 1\n'
    )
    message = errors_of(text)
    assert "outputs.yaml:4: show.outputs.screens[0].display: must be an integer >= 0" in message
    assert "outputs.yaml:5: show.outputs.screens[1].fit: 'zoom' is not one of letterbox" in message
    assert 'outputs.yaml:6: show.outputs.overlap: must be a fraction like 0.15 or pixels' in message
    assert "outputs.yaml:7: show.outputs.gamma: must be a number from 1 to 4" in message
    assert "outputs.yaml:8: show.outputs.blend: unknown key" in message
    assert "show.outputs.overlap: must be a number" in errors_of(
        show_with("    screens: [0, 1]\n    overlap: 0.7\n")
    )
    assert "must name at least one screen" in errors_of(show_with("    screens: []\n"))
    assert "missing required key 'screens'" in errors_of(show_with("    overlap: 0.1\n"))
    too_many = "    screens: [" + ", ".join(["0"] * 17) + "]\n"
    assert "must have at most 16 items" in errors_of(show_with(too_many))


def test_show_bounds_are_the_display_bounds():
    # show/ may not import display/: its copies of the names and bounds must stay equal
    assert schema.OUTPUT_FITS == FITS
    assert schema.MAX_OUTPUTS == display_outputs.MAX_OUTPUTS
    assert schema.MAX_OVERLAP_FRACTION == display_outputs.MAX_OVERLAP_FRACTION
    assert schema.BLEND_GAMMA_RANGE == display_outputs.BLEND_GAMMA_RANGE
    assert schema.DEFAULT_BLEND_GAMMA == display_outputs.DEFAULT_BLEND_GAMMA


def test_json_schema_describes_outputs():
    outputs = show_json_schema()["properties"]["show"]["properties"]["outputs"]
    assert outputs["required"] == ["screens"]
    assert set(outputs["properties"]) == {"screens", "overlap", "gamma"}
    assert outputs["properties"]["screens"]["maxItems"] == schema.MAX_OUTPUTS
