"""--outputs, --overlap, --blend-gamma and their merge with the show's show.outputs (app.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from installation import app
from installation.display.outputs import OutputsLayout, Overlap, Screen
from installation.settings import settings_from_argv
from installation.show.load import validate_text

SHOW_PATH = Path(__file__).resolve().parent / "show" / "fixtures" / "outputs.yaml"
BODY = (
    "models:\n  faces: {path: models/faces.pkl}\n"
    "sections:\n  - name: a\n    model: faces\n    duration_s: 5\n"
    "    walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}\n"
)
WITH_OUTPUTS = (
    "show:\n  outputs:\n    screens: [{display: 1, fit: fill}, 2]\n"
    '    overlap: "100px"\n    gamma: 2.0\n' + BODY
)


def test_options_parse():
    settings = settings_from_argv(["--outputs", "1, 2", "--overlap", "192px",
                                   "--blend-gamma", "2.4"])  # fmt: skip
    assert settings.output_displays == (1, 2)
    assert settings.overlap == Overlap(192, is_px=True)
    assert settings.blend_gamma == 2.4
    default = settings_from_argv([])
    assert (default.output_displays, default.overlap, default.blend_gamma) == (None, None, None)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--outputs", "1,x"], "--outputs: expected 1 to 16 display indices"),
        (["--outputs", ""], "--outputs: expected 1 to 16 display indices"),
        (["--outputs", "64"], "--outputs: expected 1 to 16 display indices"),
        (["--overlap", "0.9"], "--overlap: overlap: '0.9' must be a fraction"),
        (["--overlap", "nan"], "--overlap: overlap: 'nan' must be a fraction"),
        (["--blend-gamma", "9"], "--blend-gamma"),
    ],
)
def test_bad_options_exit_2_with_one_line(args, expected, capsys):
    with pytest.raises(SystemExit) as info:
        settings_from_argv(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_show_outputs_then_the_command_line_over_them(caplog):
    show = validate_text(WITH_OUTPUTS, SHOW_PATH)
    from_show = app.outputs_layout(settings_from_argv([]), show)
    assert from_show == OutputsLayout(
        (Screen(1, "fill"), Screen(2, None)), Overlap(100, is_px=True), 2.0
    )
    overridden = app.outputs_layout(
        settings_from_argv(["--outputs", "0,1,2", "--overlap", "0.2"]), show
    )
    assert overridden == OutputsLayout((Screen(0), Screen(1), Screen(2)), Overlap(0.2), 2.0)
    plain = validate_text(BODY, SHOW_PATH)
    assert app.outputs_layout(settings_from_argv([]), plain) is None
    with caplog.at_level(logging.WARNING):
        assert app.outputs_layout(settings_from_argv(["--overlap", "0.1"]), plain) is None
    assert "--overlap and --blend-gamma need several outputs" in caplog.text
    layout = app.outputs_layout(settings_from_argv(["--outputs", "3"]), plain)
    assert layout == OutputsLayout((Screen(3),))  # one output: no overlap, gamma 2.2
