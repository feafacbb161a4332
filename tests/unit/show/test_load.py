"""Show files: the full example loads into the expected objects; broken ones give exact errors."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from installation.cli import main
from installation.errors import ShowError
from installation.show.load import load_show, show_summary, validate_text
from installation.show.schema import (
    Automation,
    Curve,
    Direction,
    Keyframe,
    Layers,
    Lfo,
    LiveParam,
    Mixing,
    ModelEntry,
    NoiseLoop,
    OpeningHours,
    OutputSettings,
    RandomWalk,
    ShowSettings,
    Transition,
)

FIX = Path(__file__).resolve().parent / "fixtures"
GOOD = FIX / "good.yaml"
SHOW = FIX / "broken.yaml"  # not a file: validate_text reads text "as if" it were there
HEAD = "models:\n  faces: {path: models/faces.pkl}\nsections:\n"
WALK = "    walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}\n"
SECTION = "  - name: a\n    model: faces\n    duration_s: 5\n"


def errors_of(text: str) -> str:
    """The ShowError message that `text` gives."""
    with pytest.raises(ShowError) as info:
        validate_text(text, SHOW)
    return str(info.value)


def test_good_show_loads_every_feature() -> None:
    show = load_show(GOOD)
    assert show.path == GOOD
    assert show.settings == ShowSettings(
        title="Lobby",
        output=OutputSettings((1920, 1080), 30.0),
        background="#00ff00",
        speed=2.0,
        opening_hours=OpeningHours(
            ("mon", "tue", "wed"), datetime.time(10, 0), datetime.time(18, 30), "outro"
        ),
    )
    assert show.models == (
        ModelEntry("faces", FIX / "models/faces.pkl", 0.7, None, "const", None),
        ModelEntry("cats", FIX / "models/cats.pkl", 1.0, 8, "random", 2),
    )
    intro, drift, outro = show.sections
    assert (intro.name, intro.model, intro.duration_s, intro.loops) == ("intro", "faces", 120, None)
    assert intro.transition == Transition("crossfade", 2.0)
    assert intro.live == (LiveParam("psi", (0.3, 1.2), 0.5, 10.0),)
    walk = intro.walk
    assert (walk.space, walk.path, walk.closed, walk.easing) == ("w", "cubic", True, "sine_in_out")
    assert (walk.seconds_per_keyframe, walk.perceptual) == (8.0, True)
    vec = FIX / "vectors"
    assert walk.keyframes == (
        Keyframe("seed", seed=42),
        Keyframe("seed", seed=7, psi=0.5, hold_s=2.0, duration_s=6.0, easing="cubic_in_out"),
        Keyframe("w", path=vec / "w.npy"),
        Keyframe("z", path=vec / "z.npy"),
        Keyframe("projected", path=vec / "proj.npz"),
        Keyframe("mean"),
        Keyframe("random", seed=3),
    )
    assert intro.automation == Automation(
        psi=Curve(((0.0, 0.5), (30.0, 0.9)), "sine_in_out"),
        rotate_deg=Lfo(20.0, 10.0, 0.0, 0.25),
    )
    assert intro.mixing == (
        Mixing(Layers(8, None), Keyframe("seed", seed=99)),
        Mixing(Layers(2, 5), Keyframe("mean")),
    )
    assert intro.directions == (
        Direction(vec / "dir.npy", Layers(0, 7), Curve(((0.0, 0.0), (10.0, 2.0)))),
        Direction(vec / "dir.npy", Layers(8, None), 1.5),
    )
    assert drift.loops == 2 and drift.transition == Transition("image_crossfade", 3.0)
    assert drift.walk.noise == NoiseLoop(0, 1.0, 3) and drift.walk.random_walk is None
    assert outro.walk.space == "z" and outro.walk.random_walk == RandomWalk(5, 12)
    assert outro.transition == Transition()
    # 120 s + 2 loops of 10 s + 3 loops of 11 segments of 4 s, the last two at speed 2
    assert show.total_s() == 120 + 2 * 10 / 2 + 3 * 44 / 2
    assert show_summary(show) == (
        "'Lobby': 3 sections (intro, drift, outro), total 196 s (3 min 16 s); "
        "2 models: faces (faces.pkl), cats (cats.pkl)"
    )


def test_defaults_of_a_minimal_show() -> None:
    show = validate_text(HEAD + SECTION + WALK, SHOW)
    assert show.settings == ShowSettings()
    (section,) = show.sections
    assert section.transition == Transition("cut", 0.0)
    assert section.walk.easing == "linear" and section.automation == Automation()
    assert show_summary(show) == "1 section (a), total 5 s; 1 model: faces (faces.pkl)"


CASES = {
    "yaml_syntax": (
        HEAD + "  - name: a\n    model: faces: x\n",
        "5: YAML syntax error: mapping values are not allowed in this context",
    ),
    "unknown_key": (
        HEAD
        + SECTION
        + "    walk: {path: linear, esing: linear, keyframes: [{seed: 1}, {seed: 2}]}\n",
        "7: sections[0].walk.esing: unknown key; did you mean 'easing'?",
    ),
    "missing_key": (
        HEAD + "  - name: a\n    duration_s: 5\n" + WALK,
        "4: sections[0]: missing required key 'model'",
    ),
    "bad_type": (
        HEAD + SECTION + "    walk:\n      path: linear\n      keyframes:\n"
        "        - seed: 1\n        - seed: abc\n",
        "11: sections[0].walk.keyframes[1].seed: must be an integer >= 0, got 'abc'",
    ),
    "negative_duration": (
        HEAD + "  - name: a\n    model: faces\n    duration_s: -1\n" + WALK,
        "6: sections[0].duration_s: must be a number > 0, got -1",
    ),
    "duration_and_loops": (
        HEAD + SECTION + "    loops: 2\n" + WALK,
        "4: sections[0]: needs exactly one of 'duration_s' and 'loops', got both",
    ),
    "unknown_model": (
        HEAD + "  - name: a\n    model: fces\n    duration_s: 5\n" + WALK,
        "5: sections[0].model: 'fces' is not one of the models: faces",
    ),
    "unknown_easing": (
        HEAD
        + SECTION
        + "    walk: {path: linear, easing: cubc, keyframes: [{seed: 1}, {seed: 2}]}\n",
        "7: sections[0].walk.easing: 'cubc' is not one of linear, sine_in_out, sine_in, "
        "sine_out, quad_in_out, cubic_in_out, cubic_in, cubic_out, quart_in_out, quint_in_out, "
        "expo_in_out, circ_in_out, smoothstep, smootherstep",
    ),
    "missing_npy": (
        HEAD + SECTION + "    walk: {path: linear, keyframes: [{seed: 1}, {w: vectors/no.npy}]}\n",
        f"7: sections[0].walk.keyframes[1].w: file not found: {FIX / 'vectors/no.npy'}",
    ),
    "npy_rank": (
        HEAD + SECTION + "    walk: {path: linear, keyframes: [{w: vectors/bad_rank.npy}]}\n",
        f"7: sections[0].walk.keyframes[0].w: {FIX / 'vectors/bad_rank.npy'} must have shape "
        "[w_dim] or [num_ws, w_dim], got [1, 2, 3]",
    ),
    "missing_model_file": (
        "models:\n  faces: {path: ../nope.pkl}\nsections:\n" + SECTION + WALK,
        f"2: models.faces.path: file not found: {FIX.parent / 'nope.pkl'}",
    ),
    "duplicate_key": (
        HEAD + "  - name: a\n    model: faces\n    model: faces\n    duration_s: 1\n"
        "    walk: {path: noise_loop}\n",
        "6: sections[0].model: duplicate key",
    ),
    "yaml_tag": (
        HEAD + "  - name: !!python/object a\n    model: faces\n    duration_s: 1\n"
        "    walk: {path: noise_loop}\n",
        "4: sections[0].name: YAML tags are not allowed, got 'tag:yaml.org,2002:python/object'",
    ),
    "keys_not_ascending": (
        HEAD + SECTION + WALK + "    automation:\n      psi: {keys: [[0, 1], [5, 2], [3, 1]]}\n",
        "9: sections[0].automation.psi.keys[2][0]: times must ascend: 3 comes after 5",
    ),
    "bad_layers": (
        HEAD + SECTION + WALK + "    mixing:\n      - {layers: fin, from: {seed: 3}}\n",
        '9: sections[0].mixing[0].layers: must be coarse, middle, fine, "N-", "N-M" or '
        "[N, M] with 0 <= N <= M, got 'fin'",
    ),
    "crossfade_across_models": (
        "models:\n  faces: {path: models/faces.pkl}\n  cats: {path: models/cats.pkl}\n"
        "sections:\n"
        "  - {name: a, model: faces, duration_s: 1, transition: {kind: crossfade, duration_s: 1},"
        " walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}}\n"
        "  - {name: b, model: cats, duration_s: 1, walk: {path: cubic, keyframes: [{mean: true}"
        ", {seed: 2}]}}\n",
        "5: sections[0].transition.kind: crossfade (in w) needs the next section ('b') to use "
        "the same model, got 'faces' then 'cats'; use image_crossfade",
    ),
    "empty_file": ("", "1: the file is empty; a show needs 'models' and 'sections'"),
    "not_a_mapping": ("- 1\n", "1: must be a mapping, got a list"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_show_error_is_exact(name: str) -> None:
    text, expected = CASES[name]
    assert errors_of(text) == f"{SHOW}:{expected}"


def test_all_errors_at_once_in_line_order() -> None:
    text = (
        "show:\n  speed: 0\n  background: red\n"
        "  opening_hours: {from: '10:00', to: '25:00', outside: intro}\n"
        "models:\n  faces: {path: models/faces.pkl, noise_mode: cnst}\n"
        "sections:\n"
        "  - name: a\n    model: faces\n    loops: 0\n    walk:\n      path: cubic\n"
        "      keyframes:\n        - {seed: -1}\n        - {mean: false, psi: x}\n"
        "  - {name: a, model: faces, duration_s: 1, walk: {path: linear}}\n"
    )
    lines = [
        "2: show.speed: must be a number > 0, got 0",
        "3: show.background: must be a quoted hex colour like \"#000000\", got 'red'",
        "4: show.opening_hours.to: must be a time \"HH:MM\" (00:00 to 23:59), got '25:00'",
        "6: models.faces.noise_mode: 'cnst' is not one of const, random, none",
        "10: sections[0].loops: must be an integer >= 1, got 0",
        "14: sections[0].walk.keyframes[0].seed: must be an integer >= 0, got -1",
        "15: sections[0].walk.keyframes[1].mean: must be true, got false",
        "15: sections[0].walk.keyframes[1].psi: must be a number, got 'x'",
        "16: sections[1].walk.keyframes: a linear path needs at least 2 keyframe(s), got 0",
    ]
    assert errors_of(text) == "\n".join(f"{SHOW}:{line}" for line in lines)


def test_cross_references_outside_and_duplicate_names() -> None:
    section = (
        "  - {name: a, model: faces, duration_s: 1, walk: {path: linear, keyframes: "
        "[{seed: 1}, {seed: 2}]}}\n"
    )
    text = "show:\n  opening_hours: {from: '10:00', to: '18:00', outside: intro}\n" + HEAD
    assert errors_of(text + section * 2) == (
        f"{SHOW}:2: show.opening_hours.outside: 'intro' is not one of black, hold, a\n"
        f"{SHOW}:7: sections[1].name: duplicate section name 'a' (also sections[0])"
    )


def test_unquoted_time_reads_as_written() -> None:
    text = "show:\n  opening_hours: {from: 9:30, to: 18:00}\n" + HEAD + SECTION + WALK
    hours = validate_text(text, SHOW).settings.opening_hours
    assert hours is not None and hours.start == datetime.time(9, 30)


def test_load_show_names_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ShowError, match="nope.yaml: cannot read the show file"):
        load_show(tmp_path / "nope.yaml")


def test_cli_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", str(GOOD)]) == 0
    assert capsys.readouterr().out.startswith("OK: 'Lobby': 3 sections (intro, drift, outro)")
    bad = tmp_path / "bad.yaml"
    model = FIX / "models/faces.pkl"
    bad.write_text(f"models:\n  faces: {{path: {model}}}\nsections:\n  - name: a\n" + WALK)
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().err == (
        f"{bad}:4: sections[0]: missing required key 'model'\n"
        f"{bad}:4: sections[0]: needs exactly one of 'duration_s' and 'loops', got neither\n"
    )


def test_broken_section_keeps_neighbours_and_indices_honest() -> None:
    """A section with errors is left out of the cross-checks without shifting the others."""

    def section(name: str, model: str, extra: str = "") -> str:
        return (
            f"  - {{name: {name}, model: {model}, duration_s: 1, {extra}"
            "walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}}\n"
        )

    head = "models:\n  faces: {path: models/faces.pkl}\n  other: {path: models/faces.pkl}\n"
    text = (
        head
        + "sections:\n"
        + section("a", "faces", "transition: {kind: crossfade, duration_s: 1}, ")
        + section("b", "faces", "duration_s: -1, ".replace("duration_s", "loops"))
        + section("c", "other")
        + section("c", "other")
    )
    message = errors_of(text)
    assert "sections[1]" in message  # b's own error is reported
    assert "crossfade" not in message  # 'a' fades into 'b' (same model), not into 'c'
    assert f"{SHOW}:8: sections[3].name: duplicate section name 'c' (also sections[2])" in message
