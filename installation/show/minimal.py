"""The MINIMAL show file: one model, a loop of seeds. A stop-gap until show/schema.py + load.py.

    model: ../assets/demo/demo-sg3.safetensors   # relative to this file's folder, or absolute
    seeds: [1, 2, 3]
    seconds_per_seed: 4
    psi: 0.8              # optional, default 1.0
    noise_mode: const     # optional: const | random | none

Every problem becomes one ShowError naming `file:line: field: message` (line is 1-based).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from installation.errors import ShowError

NoiseMode = Literal["const", "random", "none"]
NOISE_MODES: tuple[str, ...] = get_args(NoiseMode)
REQUIRED_KEYS = ("model", "seeds", "seconds_per_seed")
OPTIONAL_KEYS = ("psi", "noise_mode")
ALLOWED_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS


@dataclass(frozen=True)
class MinimalShow:
    """A loop through `seeds`, `seconds_per_seed` each, rendered by one model."""

    path: Path  # the show file
    model_path: Path  # resolved: absolute, or relative to the working directory
    seeds: tuple[int, ...]
    seconds_per_seed: float
    psi: float = 1.0
    noise_mode: NoiseMode = "const"

    @property
    def loop_duration_s(self) -> float:
        """Seconds for one pass through all seeds."""
        return len(self.seeds) * self.seconds_per_seed


class _Problems:
    """Collects `file:line: field: message` lines so one ShowError reports them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, node: yaml.Node | None, field: str, message: str) -> None:
        """Record a problem at `node` (1-based line; line 1 when there is no node)."""
        line = node.start_mark.line + 1 if node is not None else 1
        self.lines.append(f"{self.path}:{line}: {field}: {message}")

    def raise_if_any(self) -> None:
        """Raise one ShowError with every problem, in file order, joined by '; '."""
        if self.lines:
            raise ShowError("; ".join(self.lines))


def load_minimal_show(path: str | os.PathLike) -> MinimalShow:
    """Read and check a minimal show file.

    Raises:
        ShowError: `file:line: field: message` for each problem (all of them, '; '-joined).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ShowError(f"{path}: cannot read show file: {err.strerror or err}") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        values = _read_mapping(loader, root, path)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(err, "problem", None) or str(err)
        raise ShowError(f"{path}:{line}: (yaml): {problem}") from None
    finally:
        loader.dispose()
    return _build(path, root, values)


def _read_mapping(
    loader: yaml.SafeLoader, root: yaml.Node | None, path: Path
) -> dict[str, tuple[yaml.Node, Any]]:
    """Top-level mapping -> {key: (value node, python value)}; structural problems raise."""
    problems = _Problems(path)
    if not isinstance(root, yaml.MappingNode):
        problems.add(root, "(root)", f"expected a mapping with keys {', '.join(ALLOWED_KEYS)}")
        problems.raise_if_any()
    values: dict[str, tuple[yaml.Node, Any]] = {}
    for key_node, value_node in root.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str) or key not in ALLOWED_KEYS:
            allowed = ", ".join(ALLOWED_KEYS)
            problems.add(key_node, str(key), f"unknown key; allowed keys: {allowed}")
        elif key in values:
            problems.add(key_node, key, "duplicate key")
        else:
            values[key] = (value_node, loader.construct_object(value_node, deep=True))
    for key in REQUIRED_KEYS:
        if key not in values:
            problems.add(root, key, "required")
    problems.raise_if_any()
    return values


def _build(path: Path, root: yaml.Node, values: dict[str, tuple[yaml.Node, Any]]) -> MinimalShow:
    """Check each field's value and build the MinimalShow."""
    problems = _Problems(path)
    node, model = values["model"]
    model_path = Path()
    if not isinstance(model, str) or not model.strip():
        problems.add(node, "model", f"must be a file path, got {model!r}")
    else:
        model_path = Path(model).expanduser()
        if not model_path.is_absolute():
            model_path = (path.parent / model_path).resolve()
        if not model_path.is_file():
            problems.add(node, "model", f"no such file: {model_path}")

    node, seeds = values["seeds"]
    if not isinstance(seeds, list) or not seeds:
        problems.add(node, "seeds", f"must be a non-empty list of integers, got {seeds!r}")
        seeds = []
    for index, seed in enumerate(seeds):
        if not _is_int(seed) or not 0 <= seed < 2**32:
            message = f"must be an integer in 0..2**32-1, got {seed!r}"
            problems.add(node.value[index], f"seeds[{index}]", message)

    node, seconds = values["seconds_per_seed"]
    if not _is_number(seconds) or not seconds > 0:
        problems.add(node, "seconds_per_seed", f"must be a number > 0, got {seconds!r}")

    psi = 1.0
    if "psi" in values:
        node, psi = values["psi"]
        if not _is_number(psi):
            problems.add(node, "psi", f"must be a number, got {psi!r}")

    noise_mode = "const"
    if "noise_mode" in values:
        node, noise_mode = values["noise_mode"]
        if noise_mode not in NOISE_MODES:
            message = f"{noise_mode!r} is not one of {', '.join(NOISE_MODES)}"
            problems.add(node, "noise_mode", message)
    problems.raise_if_any()
    return MinimalShow(
        path=path, model_path=model_path, seeds=tuple(seeds), seconds_per_seed=float(seconds),
        psi=float(psi), noise_mode=noise_mode,
    )  # fmt: skip


def _is_int(value: Any) -> bool:
    """An int that is not a bool (YAML `true` constructs a bool, which subclasses int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A finite int or float, not a bool."""
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)
