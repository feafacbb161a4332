"""The presets file, `<show stem>.presets.yaml` next to the show: reading and writing.

The file (written by the show on /preset/save, and fine to edit by hand):

    presets:
      calm:
        live: {psi: 0.5, direction/smile: 2}   # live values (a recall steers them fully)
        speed: 1                               # the show clock's rate
        noise_mode: random                     # left out: the show's own
        mixing: {seed: 85, first: 0, stop: 4}  # left out: the show's own; stop left out: to the end
        glide: {seed: 1234}                    # or {latent: portrait_3}; left out: none
        section: intro                         # with time only: recall goes back to show_s
        show_s: 12.5

It is read within the bounds of `show/yamlread.py` (the one home of those rules), tighter than a
show's: at most MAX_PRESET_BYTES, no anchors or aliases, no tags, nesting at most MAX_DEPTH; every
problem becomes one PresetError line `file:line: field: what is wrong`. Writing replaces the file
atomically (a temp file, then a rename), so a crash never leaves half a file. `PresetsFile` is
the store the render thread hands to the Player (walk/presets.py `PresetStore`); what a preset
is and what a recall does stay in walk/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from installation.errors import ShowError
from installation.run.atomic import write_text_atomically
from installation.show.schema import NOISE_MODES
from installation.show.yamlread import Bounds, compose, read_text
from installation.walk.commands import GlideTo, SetMixing
from installation.walk.presets import (
    LIVE_NAME_PATTERN,
    MAX_NAME_CHARS,
    MAX_SEED,
    NAME_PATTERN,
    Preset,
    PresetError,
    name_problem,
)

PRESETS_SUFFIX = ".presets.yaml"
MAX_PRESET_BYTES = 256 * 1024  # hundreds of presets; a hand-written one is a few lines
MAX_DEPTH = 4  # presets: name: live: value
MAX_PRESETS = 1000
MAX_NUMBER_CHARS = 64
BOUNDS = Bounds(what="presets file", max_bytes=MAX_PRESET_BYTES, max_nodes=50_000,
                max_depth=MAX_DEPTH, allow_aliases=False)  # fmt: skip
_PRESET_KEYS = ("live", "speed", "noise_mode", "mixing", "glide", "section", "show_s")


def presets_path(show_path: str | Path) -> Path:
    """`<show stem>.presets.yaml` next to the show file."""
    path = Path(show_path)
    return path.with_name(path.stem + PRESETS_SUFFIX)


class PresetsFile:
    """The Player's PresetStore: each show's presets in `<show stem>.presets.yaml` beside it."""

    def path(self, show_path: Path) -> Path:
        return presets_path(show_path)

    def read(self, show_path: Path) -> dict[str, Preset]:
        return read_presets(presets_path(show_path))

    def save(self, show_path: Path, name: str, preset: Preset) -> tuple[str, ...]:
        return save_preset(presets_path(show_path), name, preset)


# -- reading --------------------------------------------------------------------------------------


def read_presets(path: str | Path) -> dict[str, Preset]:
    """The presets of a presets file; {} when there is none.

    Raises:
        PresetError: one line, `file:line: field: problem`.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        root, errors, _ = compose(read_text(path, BOUNDS), str(path), BOUNDS)
    except ShowError as err:
        raise PresetError(str(err)) from None
    if errors:  # tags, merge keys, duplicate keys, keys that are not names: the first one
        raise PresetError(min(errors)[1])
    if root is None:
        return {}
    return _Reader(path).file(root)


class _Reader:
    """Nodes -> Presets, the first problem raised as one PresetError line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: Node, field: str, problem: str) -> PresetError:
        return PresetError(f"{self.path}:{node.start_mark.line + 1}: {field}: {problem}")

    def mapping(self, node: Node, field: str) -> list[tuple[str, Node, Node]]:
        """(key, key node, value node) of a mapping with string keys, in file order."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, field, "must be a mapping")
        items = []
        for key_node, value_node in node.value:  # duplicates: compose() found them
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str) or key_node.tag != "tag:yaml.org,2002:str":
                raise self.fail(key_node, field, "keys must be names")
            items.append((key, key_node, value_node))
        return items

    def scalar(self, node: Node, field: str) -> Any:
        """A scalar's value (numbers of at most MAX_NUMBER_CHARS characters)."""
        if not isinstance(node, ScalarNode):
            raise self.fail(node, field, "must be a single value")
        if node.tag.endswith((":int", ":float")) and len(node.value) > MAX_NUMBER_CHARS:
            raise self.fail(node, field, f"a number longer than {MAX_NUMBER_CHARS} characters")
        return self.constructor.construct_object(node)

    def number(self, node: Node, field: str, low: float | None = None) -> float:
        value = self.scalar(node, field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(node, field, f"must be a number, got {node.value[:40]!r}")
        if not math.isfinite(value) or (low is not None and value < low):
            bound = "" if low is None else f" >= {low:g}"
            raise self.fail(node, field, f"must be a finite number{bound}, got {node.value!r}")
        return float(value)

    def integer(self, node: Node, field: str, low: int, high: int) -> int:
        value = self.scalar(node, field)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(node, field, f"must be an integer {low}..{high}, got {node.value!r}")
        return value

    def text(self, node: Node, field: str, pattern: re.Pattern[str] = NAME_PATTERN) -> str:
        value = self.scalar(node, field)
        if not isinstance(value, str) or not pattern.fullmatch(value) or len(value) > 100:
            raise self.fail(node, field, f"must be a name ({pattern.pattern}, at most "
                            f"{MAX_NAME_CHARS}), got {str(node.value)[:40]!r}")  # fmt: skip
        return value

    def file(self, root: Node) -> dict[str, Preset]:
        top = self.mapping(root, "(file)")
        for key, key_node, _ in top:
            if key != "presets":
                raise self.fail(key_node, key, "unknown key (expected: presets)")
        if not top:
            return {}
        node = top[0][2]
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return {}
        items = self.mapping(node, "presets")
        if len(items) > MAX_PRESETS:
            raise self.fail(node, "presets", f"more than {MAX_PRESETS} presets")
        presets = {}
        for name, key_node, value in items:
            problem = name_problem(name)
            if problem is not None:
                raise self.fail(key_node, f"presets.{name[:40]}", problem)
            presets[name] = self.preset(value, f"presets.{name}")
        return presets

    def preset(self, node: Node, field: str) -> Preset:
        values: dict[str, Any] = {}
        for key, key_node, value in self.mapping(node, field):
            where = f"{field}.{key}"
            if key not in _PRESET_KEYS:
                expected = ", ".join(_PRESET_KEYS)
                raise self.fail(key_node, where, f"unknown key (expected: {expected})")
            if key == "live":
                values["live"] = tuple(
                    (self._live_name(k, kn, f"{where}"), self.number(v, f"{where}.{k}"))
                    for k, kn, v in self.mapping(value, where)
                )
            elif key == "speed":
                values["speed"] = self.number(value, where)
                if not values["speed"] > 0:
                    raise self.fail(value, where, f"must be > 0, got {value.value!r}")
            elif key == "noise_mode":
                mode = self.scalar(value, where)
                if mode not in NOISE_MODES:
                    raise self.fail(value, where, f"{str(value.value)[:40]!r} is not one of "
                                    f"{', '.join(NOISE_MODES)}")  # fmt: skip
                values["noise_mode"] = mode
            elif key == "mixing":
                values["mixing"] = self.mixing(value, where)
            elif key == "glide":
                values["glide"] = self.glide(value, where)
            elif key == "section":
                value_text = self.scalar(value, where)
                if not isinstance(value_text, str) or not value_text.strip():
                    raise self.fail(value, where, "must be a section name")
                values["section"] = value_text[:MAX_NAME_CHARS]
            else:
                values["show_s"] = self.number(value, where, low=0.0)
        return Preset(**values)

    def _live_name(self, name: str, node: Node, field: str) -> str:
        if not LIVE_NAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME_CHARS:
            raise self.fail(node, f"{field}.{name[:40]}", "is not a live parameter's name")
        return name

    def mixing(self, node: Node, field: str) -> SetMixing:
        items = {k: (kn, v) for k, kn, v in self.mapping(node, field)}
        for key, (key_node, _) in items.items():
            if key not in ("seed", "first", "stop"):
                raise self.fail(key_node, f"{field}.{key}", "unknown key (expected: seed, "
                                "first, stop)")  # fmt: skip
        if "seed" not in items:
            raise self.fail(node, f"{field}.seed", "missing")
        seed = self.integer(items["seed"][1], f"{field}.seed", 0, MAX_SEED)
        first = self.integer(items["first"][1], f"{field}.first", 0, 1000) if "first" in items \
            else 0  # fmt: skip
        stop = None
        if "stop" in items:
            stop = self.integer(items["stop"][1], f"{field}.stop", first + 1, 1000)
        return SetMixing(seed, first, stop)

    def glide(self, node: Node, field: str) -> GlideTo:
        items = self.mapping(node, field)
        if len(items) != 1 or items[0][0] not in ("seed", "latent"):
            raise self.fail(node, field, "must be {seed: N} or {latent: NAME}")
        key, _, value = items[0]
        if key == "seed":
            return GlideTo(seed=self.integer(value, f"{field}.seed", 0, MAX_SEED))
        latent = self.text(value, f"{field}.latent")
        problem = name_problem(latent)
        if problem is not None:
            raise self.fail(value, f"{field}.latent", problem)
        return GlideTo(latent=latent)


# -- writing --------------------------------------------------------------------------------------


def preset_record(preset: Preset) -> dict[str, Any]:
    """A preset as the file writes it (only the fields it sets)."""
    record: dict[str, Any] = {}
    if preset.live:
        record["live"] = {name: float(value) for name, value in preset.live}
    if preset.speed is not None:
        record["speed"] = float(preset.speed)
    if preset.noise_mode is not None:
        record["noise_mode"] = preset.noise_mode
    if preset.mixing is not None and preset.mixing.seed is not None:
        mixing: dict[str, int] = {"seed": int(preset.mixing.seed), "first": preset.mixing.first}
        if preset.mixing.stop is not None:
            mixing["stop"] = int(preset.mixing.stop)
        record["mixing"] = mixing
    if preset.glide is not None:
        glide = preset.glide
        record["glide"] = {"seed": int(glide.seed)} if glide.seed is not None else {
            "latent": str(glide.latent)}  # fmt: skip
    if preset.section is not None:
        record["section"] = preset.section
    if preset.show_s is not None:
        record["show_s"] = float(preset.show_s)  # repr: reads back exactly
    return record


def write_presets(path: str | Path, presets: Mapping[str, Preset]) -> None:
    """Replace the presets file with `presets`, atomically (temp file in the folder + rename).

    Raises:
        PresetError: the folder cannot be written.
    """
    path = Path(path)
    if len(presets) > MAX_PRESETS:
        raise PresetError(f"{path}: more than {MAX_PRESETS} presets")
    document = {"presets": {name: preset_record(p) for name, p in presets.items()}}
    text = (f"# presets of {path.name[: -len(PRESETS_SUFFIX)]}.yaml, written by the show "
            "(/preset/save); shows/README.md, Presets\n")  # fmt: skip
    text += yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)
    try:
        write_text_atomically(path, text)
    except OSError as err:
        raise PresetError(f"{path}: cannot write: {err.strerror or err}") from None


def save_preset(path: str | Path, name: str, preset: Preset) -> tuple[str, ...]:
    """Add or replace preset `name` in the file; the names it holds after.

    A file that cannot be read is left as it is (PresetError): a save never loses presets.
    """
    problem = name_problem(name)
    if problem is not None:
        raise PresetError(f"preset {problem}")
    presets = read_presets(path)
    presets[name] = preset
    write_presets(path, presets)
    return tuple(presets)
