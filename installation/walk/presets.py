"""Presets: named snapshots of the live state, and where the Player keeps them.

A `Preset` holds walk commands (`SetMixing`, `GlideTo`) and live values; the Player takes a
snapshot on /preset/save and glides to one on /preset/recall (walk/player.py). Where presets are
kept is a `PresetStore` the render thread hands in: `run/presets_file.py` keeps them in
`<show stem>.presets.yaml` next to the show (its format is documented there and in
shows/README.md §11). Names of presets and bookmarks are file stems (`name_problem`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from installation.errors import ShowError
from installation.walk.commands import GlideTo, SetMixing

MAX_NAME_CHARS = 100  # as OSC names (control/addresses.py MAX_NAME_CHARS)
MAX_SEED = 2**32 - 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")  # a preset or bookmark name: a file stem
LIVE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_./-]+")  # psi, direction/<name>, ...


class PresetError(ShowError):
    """A presets file that cannot be read or written, or a name that is not allowed."""


@dataclass(frozen=True)
class Preset:
    """One snapshot of the live state (every field optional: None leaves the show's own)."""

    live: tuple[tuple[str, float], ...] = ()
    speed: float | None = None
    noise_mode: str | None = None
    mixing: SetMixing | None = None
    glide: GlideTo | None = None
    section: str | None = None
    show_s: float | None = None


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a preset or a bookmark (a file stem), or None."""
    if (
        not isinstance(name, str)
        or not NAME_PATTERN.fullmatch(name)
        or name.startswith(".")
        or ".." in name
        or len(name) > MAX_NAME_CHARS
    ):
        return (f"{str(name)[:MAX_NAME_CHARS]!r} is not a name: 1..{MAX_NAME_CHARS} letters, "
                "digits, '_', '-', '.' (no paths, no '..', not starting with '.')")  # fmt: skip
    return None


class PresetStore(Protocol):
    """Where a show's presets are kept (run/presets_file.py PresetsFile: a file beside it).

    `read` and `save` raise PresetError (one line) and change nothing when they fail.
    """

    def path(self, show_path: Path) -> Path: ...

    def read(self, show_path: Path) -> dict[str, Preset]: ...

    def save(self, show_path: Path, name: str, preset: Preset) -> tuple[str, ...]: ...
