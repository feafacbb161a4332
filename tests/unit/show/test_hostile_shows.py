"""Hostile show files and the files they name: validate refuses each with one ShowError naming
file:line (never another exception, never a hang, never gigabytes), and what it accepts renders.

Each class here broke the loader before it was bounded: alias-expansion bombs and alias loops
(hang), deep nesting (RecursionError), 5 000-digit or 10**400 numbers (ValueError, TypeError),
denormal periods (math domain error when rendering), seeds past 2**32 - 1 (refused by NumPy at
startup), huge counts and harmonics (gigabytes at startup), .npy/.npz headers that ask for
gigabytes, FIFOs (a read that never ends).
"""

from __future__ import annotations

import os
import random
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from installation.cli import main as cli_main
from installation.errors import ShowError
from installation.show import arrays, load, yamlread
from installation.show.load import MAX_ERRORS, load_show, validate_text

HEAD = "models:\n  m: {path: m.pkl}\nsections:\n"
WALK = "walk: {path: linear, keyframes: [{seed: 1}, {seed: 2}]}"


def section(body: str, name: str = "a") -> str:
    """A one-section show whose section has `body` (and a model file that exists)."""
    return HEAD + f"  - {{name: {name}, model: m, {body}}}\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A show folder with an (empty) model file: validate only checks that it exists."""
    (tmp_path / "m.pkl").write_bytes(b"")
    return tmp_path


def refused(folder: Path, text: str) -> list[str]:
    """The error lines validate gives for `text` (it must refuse it, with a ShowError)."""
    path = folder / "show.yaml"
    with pytest.raises(ShowError) as info:
        validate_text(text, path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(str(path)) for line in lines), lines
    assert not any("could not be checked" in line for line in lines), lines
    return lines


def bomb(levels: int = 9, width: int = 10) -> str:
    """Billion laughs: each level is a list of `width` aliases of the level below."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# -- the YAML ---------------------------------------------------------------------------------


def test_an_alias_expansion_bomb_is_refused_at_its_line(folder: Path) -> None:
    assert refused(folder, bomb()) == [
        f"{folder / 'show.yaml'}:5: its aliases expand to more than {yamlread.MAX_NODES} values "
        "(an alias-expansion bomb?)"
    ]


def test_an_alias_inside_its_own_anchor_is_a_loop(folder: Path) -> None:
    (line,) = refused(folder, "models: &a {m: *a}\n")
    assert line.endswith(":1: the alias *a is inside the &a it names (a loop)")


def test_too_many_aliases(folder: Path) -> None:
    text = "x: &x 1\ny: [" + ", ".join(["*x"] * (yamlread.MAX_ALIASES + 1)) + "]\n"
    (line,) = refused(folder, text)
    assert line.endswith(f":2: more than {yamlread.MAX_ALIASES} aliases (*name)")


@pytest.mark.parametrize(
    "text",
    ["x: " + "[" * 5000 + "]" * 5000 + "\n",
     "x:\n" + "".join(f"{' ' * 2 * (i + 1)}k{i}:\n" for i in range(200))],
    ids=["flow", "block"],
)  # fmt: skip
def test_deep_nesting_is_refused_not_a_recursion_error(folder: Path, text: str) -> None:
    (line,) = refused(folder, text)
    assert "nested deeper than 64 levels" in line or "maximum nesting depth" in line


def test_too_many_values(folder: Path) -> None:
    text = "x: [" + ",".join(["1"] * (yamlread.MAX_NODES + 10)) + "]\n"
    (line,) = refused(folder, text)
    assert line.endswith(f":1: more than {yamlread.MAX_NODES} values")


def test_a_file_past_the_size_cap_is_not_read(folder: Path) -> None:
    path = folder / "big.yaml"
    path.write_bytes(b"# " + b"x" * yamlread.MAX_SHOW_BYTES + b"\n")
    with pytest.raises(ShowError, match=r"big\.yaml: \d+ bytes; a show file is at most 1024 KiB"):
        load_show(path)


def test_a_fifo_or_a_folder_is_refused_without_reading(folder: Path) -> None:
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)  # a read would wait for a writer forever
    with pytest.raises(ShowError, match=r"fifo\.yaml: not a regular file"):
        load_show(fifo)
    with pytest.raises(ShowError, match=r": is a folder, not a show file"):
        load_show(folder)


def test_a_second_document_and_binary_junk_are_one_line(folder: Path) -> None:
    (line,) = refused(folder, section(f"duration_s: 1, {WALK}") + "---\nx: 1\n")
    assert "one YAML document" in line
    (line,) = refused(folder, "x: \x00\x01\n")
    assert "YAML syntax error" in line


def test_keys_that_are_lists_and_tags_on_collections(folder: Path) -> None:
    lines = refused(folder, "? [a, b]\n: 1\nmodels: !!set {m}\n" + "sections: []\n")
    assert any(":1: a key must be a name, got a list" in line for line in lines)
    assert any("models: YAML tags are not allowed" in line for line in lines)


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1" + "0" * 99, "must be a number from 0.001 to 1e+07, got 1000"),  # 10**99
        ("1" + "0" * 400, "must be a number > 0, got a number of 401 characters: 1000"),
        # past Python's int-string limit; hex has no such limit; sexagesimal is quadratic
        ("9" * 5000, "must be a number > 0, got a number of 5000 characters: 9999"),
        ("0x" + "f" * 5000, "must be a number > 0, got a number of 5002 characters: 0xfff"),
        ("1" + ":11" * 3000, "must be a number > 0, got a number of 9001 characters: 1:11:11"),
        ("1.0e-320", "must be at least 0.001, got 1.0e-320"),  # a denormal
        (".inf", "must be a number > 0, got .inf"),
        (".nan", "must be a number > 0, got .nan"),
    ],
    ids=["10**99", "10**400", "5000 digits", "hex", "sexagesimal", "denormal", "inf", "nan"],
)
def test_numbers_of_any_size_are_range_checked(folder: Path, value: str, expected: str) -> None:
    (line,) = refused(folder, section(f"duration_s: {value}, {WALK}"))
    assert f":4: sections[0].duration_s: {expected}" in line
    assert len(line) < 300  # the number is cut short in the message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("duration_s: 1, walk: {path: linear, keyframes: [{seed: 4294967296}, {seed: 1}]}",
         "walk.keyframes[0].seed: must be at most 4294967295, got 4294967296"),
        ("duration_s: 1, walk: {path: linear, keyframes: [{random: -1}, {seed: 1}]}",
         "walk.keyframes[0].random: must be an integer >= 0, got -1"),
        ("duration_s: 1, walk: {path: random_walk, random_walk: {count: 100000000}}",
         "walk.random_walk.count: must be at most 1000, got 100000000"),
        ("duration_s: 1, walk: {path: random_walk, random_walk: {seed: 18446744073709551616}}",
         "walk.random_walk.seed: must be at most 4294967295"),
        ("duration_s: 1, walk: {path: noise_loop, noise: {harmonics: 1000000000}}",
         "walk.noise.harmonics: must be at most 64, got 1000000000"),
        ("duration_s: 1, walk: {path: noise_loop, noise: {radius: 1.0e+300}}",
         "walk.noise.radius: must be a number at most 1000, got 1.0e+300"),
        (f"duration_s: 1, {WALK}, automation: {{psi: {{lfo: {{period_s: 1.0e-320}}}}}}",
         "automation.psi.lfo.period_s: must be at least 0.001, got 1.0e-320"),
        (f"duration_s: 1, {WALK}, automation: {{psi: {{lfo: {{period_s: 1, amplitude: 1000}}}}}}",
         "automation.psi: goes from -1000 to 1000; psi stays within -100 .. 100"),
        (f"duration_s: 1, {WALK}, automation: {{rotate_deg: {{keys: [[0, 1.0e+300]]}}}}",
         "automation.rotate_deg.keys[0][1]: must be a number from -1e+06 to 1e+06"),
        ("loops: 1000000, walk: {path: linear, seconds_per_keyframe: 10000000, keyframes: "
         "[{seed: 1}, {seed: 2}]}",
         "sections[0]: lasts 1e+13 s (loops x the walk's period / speed); a section lasts at "
         "most 1e+08 s"),
        ("loops: 1" + "0" * 30 + f", {WALK}", "sections[0].loops: must be at most 1000000"),
        (f"duration_s: 1, {WALK}, mixing: [{{layers: \"0-99999999999999\", from: {{seed: 1}}}}]",
         "mixing[0].layers: must be coarse, middle, fine"),
        (f"duration_s: 1, {WALK}, mixing: [{{layers: [0, 5000], from: {{seed: 1}}}}]",
         "mixing[0].layers: rows go up to 1024 at most"),
    ],
    ids=["seed", "random seed", "random-walk count", "random-walk seed", "harmonics", "radius",
         "lfo period", "psi range", "curve value", "section length", "loops", "layer digits",
         "layer rows"],
)  # fmt: skip
def test_what_cannot_render_is_refused_at_validation(
    folder: Path, body: str, expected: str
) -> None:
    lines = refused(folder, section(body))
    assert any(expected in line for line in lines), lines


def test_two_long_sections_cannot_overflow_the_show_length(folder: Path) -> None:
    body = "duration_s: 10000000, " + WALK
    text = HEAD + "".join(f"  - {{name: s{i}, model: m, {body}}}\n" for i in range(11))
    (line,) = refused(folder, text)
    assert line.endswith(":4: sections: one pass lasts 1.1e+08 s; a show lasts at most 1e+08 s")


def test_a_speed_and_fps_that_make_no_frame(folder: Path) -> None:
    text = "show: {speed: 1.0e-320, output: {fps: 1.0e-320, size_px: [100000, 1]}}\n"
    lines = refused(folder, text + section(f"duration_s: 1, {WALK}"))
    assert any("show.speed: must be at least 0.01, got 1.0e-320" in x for x in lines), lines
    assert any("show.output.fps: must be at least 0.1, got 1.0e-320" in x for x in lines)
    assert any("show.output.size_px[0]: must be at most 16384, got 100000" in x for x in lines)


# -- every problem at once, and hints ---------------------------------------------------------


def test_unknown_models_are_named_in_sections_with_other_errors(folder: Path) -> None:
    text = HEAD + "  - {name: a, model: nope, duration_s: -1, walk: {path: noise_loop}}\n"
    lines = refused(folder, text)
    assert any("sections[0].duration_s: must be a number > 0, got -1" in x for x in lines)
    assert any("sections[0].model: 'nope' is not one of the models: m" in x for x in lines)


def test_a_model_with_errors_is_still_a_name_sections_may_use(folder: Path) -> None:
    text = "models:\n  m: {path: missing.pkl}\nsections:\n" + section(f"duration_s: 1, {WALK}")[
        len(HEAD):]  # fmt: skip
    lines = refused(folder, text)
    assert len(lines) == 1 and "models.m.path: file not found" in lines[0]


def test_an_unquoted_hash_colour_gets_a_hint_about_comments(folder: Path) -> None:
    (line,) = refused(folder, "show:\n  background: #ff8800\n" + section(f"duration_s: 1, {WALK}"))
    assert line.endswith(':2: show.background: must be a quoted hex colour like "#000000", got '
                         'null; an unquoted # starts a YAML comment, so quote the colour: '
                         '"#ff8800"')  # fmt: skip
    (line,) = refused(folder, "show: {background: #ff8800}\n" + section(f"duration_s: 1, {WALK}"))
    assert "YAML syntax error" in line and 'quote the colour: "#ff8800"' in line


def test_thousands_of_mistakes_stop_at_a_cap(folder: Path) -> None:
    text = HEAD + "".join(f"  - {{name: s{i}, model: m, bad{i}: 1}}\n" for i in range(3000))
    lines = refused(folder, text)
    assert len(lines) == MAX_ERRORS + 1
    assert lines[-1].endswith(f"stopped after {MAX_ERRORS} problems; fix these first")


# -- the files a show names -------------------------------------------------------------------


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A .npy v1.0 header announcing `shape` (no data follows)."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def keyframe_show(folder: Path, kind: str, file: str) -> list[str]:
    """validate's errors for a show whose keyframe `kind` names `file`."""
    body = f"duration_s: 1, walk: {{path: linear, keyframes: [{{{kind}: {file}}}, {{seed: 1}}]}}"
    return refused(folder, section(body))


def test_a_npy_header_asking_for_gigabytes_is_refused_from_the_header(folder: Path) -> None:
    (folder / "huge.npy").write_bytes(npy_header((1 << 40,)))  # 4 TiB announced, 128 bytes here
    (line,) = keyframe_show(folder, "w", "huge.npy")
    assert (
        "huge.npy: shape [1099511627776] is 4398046511104 bytes; an array here is at most 64 MiB"
        in line
    )
    (folder / "short.npy").write_bytes(npy_header((512,)) + b"\0" * 16)
    (line,) = keyframe_show(folder, "w", "short.npy")
    assert "short.npy: truncated: shape [512] needs 2048 bytes of data, the file holds 16" in line
    (folder / "obj.npy").write_bytes(npy_header((2,), "|O") + b"\0" * 16)
    (line,) = keyframe_show(folder, "z", "obj.npy")
    assert "obj.npy: holds object values; expected numbers" in line


def test_a_npz_zip_bomb_is_refused_before_decompressing(folder: Path) -> None:
    path = folder / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("w.npy", "w", force_zip64=True) as member:
            member.write(npy_header((200 * 2**20 // 4,)))
            for _ in range(200):  # 200 MiB of zeros, a few hundred KB on disk
                member.write(bytes(2**20))
    assert path.stat().st_size < 2**20
    (line,) = keyframe_show(folder, "projected", "bomb.npz")
    assert "bomb.npz[w]: " in line and "an array here is at most 64 MiB" in line


def test_a_npz_with_a_huge_central_directory_is_refused_unopened(folder: Path) -> None:
    path = folder / "many.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(arrays.MAX_NPZ_MEMBERS + 1):
            archive.writestr(f"a{i}.npy", b"")
    (line,) = keyframe_show(folder, "projected", "many.npz")
    assert f"many.npz: holds {arrays.MAX_NPZ_MEMBERS + 1} entries" in line


def test_junk_named_npz_and_npy_are_one_line(folder: Path) -> None:
    (folder / "junk.npz").write_bytes(b"PK\x05\x06" + b"\xff" * 30)
    (folder / "junk.npy").write_bytes(b"\x93NUMPY\x01\x00\xff\xff{{{{")
    (line,) = keyframe_show(folder, "projected", "junk.npz")
    assert "junk.npz" in line
    (line,) = keyframe_show(folder, "w", "junk.npy")
    assert "junk.npy: not a .npy array" in line


def test_directions_names_and_std_are_checked_from_headers(folder: Path) -> None:
    np.savez(folder / "d.npz", directions=np.ones((2, 8), np.float32), std=np.ones(5))
    body = f"duration_s: 1, {WALK}, directions: [{{file: d.npz, index: 0}}]"
    (line,) = refused(folder, section(body))
    assert "d.npz: 'std' must hold 2 numbers, got float64 [5]" in line


# -- never raises -----------------------------------------------------------------------------


def test_a_thousand_mutations_of_the_demo_show_never_raise_anything_else(folder: Path) -> None:
    demo = (Path(__file__).resolve().parents[3] / "shows" / "demo.yaml").read_bytes()
    rng = random.Random(13)
    junk = [b"&a ", b"*a", b"[", b"{", b"!!", b"\x00", b"1e-320", b"9" * 60, b"- ", b": ", b"#"]
    for _ in range(1000):
        data = bytearray(demo)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            if rng.random() < 0.5:
                data[at : at + rng.randint(1, 8)] = rng.choice(junk)
            else:
                data[at] = rng.randrange(256)
        text = data.decode("utf-8", errors="replace")
        try:
            validate_text(text, folder / "show.yaml")
        except ShowError as err:
            assert "could not be checked" not in str(err), text


def test_cli_validate_prints_every_problem_and_exits_1(folder: Path, capsys) -> None:
    path = folder / "show.yaml"
    path.write_text(bomb())
    assert cli_main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.strip().endswith("(an alias-expansion bomb?)")


def test_a_show_names_a_bounded_number_of_array_files_and_names(folder: Path) -> None:
    np.savez(
        folder / "n0.npz",
        directions=np.zeros((2, 8), np.float32),
        names=np.array(["x" * 300_000, "y"]),
    )  # 2.4 MB of names: past the per-file cap
    np.savez(folder / "n1.npz", directions=np.zeros((2, 8), np.float32))
    for i in range(2, load.MAX_ARRAY_FILES + 1):
        os.link(folder / "n1.npz", folder / f"n{i}.npz")
    items = ", ".join(f"{{file: n{i}.npz, index: 0}}" for i in range(load.MAX_ARRAY_FILES + 1))
    lines = refused(folder, section(f"duration_s: 1, {WALK}, directions: [{items}]"))
    assert "directions[0].file: " in lines[0] and "'names' is 2400000 bytes; at most" in lines[0]
    assert lines[1:] == [
        f"{folder / 'show.yaml'}:4: sections[0].directions[{load.MAX_ARRAY_FILES}].file: a show "
        f"names at most {load.MAX_ARRAY_FILES} latent and direction files"
    ]


def test_an_unquoted_date_is_text_not_a_forbidden_tag(folder: Path) -> None:
    show = validate_text("show: {title: 2024-01-01}\n" + section(f"duration_s: 1, {WALK}"),
                         folder / "show.yaml")  # fmt: skip
    assert show.settings.title == "2024-01-01"
    (line,) = refused(folder, "show: {title: !!timestamp 2024-01-01}\n" + section(
        f"duration_s: 1, {WALK}"))  # fmt: skip
    assert "show.title: YAML tags are not allowed, got 'tag:yaml.org,2002:timestamp'" in line
