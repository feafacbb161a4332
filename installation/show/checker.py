"""The generic YAML checker: walks PyYAML nodes (with their line marks) and reads typed values.

Each reader records a problem as one `file:line: field.path: message` (1-based line) and returns
BAD, so a caller keeps reading and a file's problems all come at once. Nothing here knows the
show format (show/load.py reads that); the bounds come from show/schema.py.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from installation.options import input_problem
from installation.show.schema import MAX_INTEGER, MAX_NUMBER, MAX_SEED, MAX_TIME_S, MIN_TIME_S
from installation.show.yamlread import MAX_NUMBER_CHARS, NUMBER_TAGS, join, scalar_value, short

T = TypeVar("T")
C = TypeVar("C", bound="Checker")
MAX_ERRORS = 200  # problems reported from one file


class TooManyErrors(Exception):
    """More than MAX_ERRORS problems: checking stops there."""


class _Missing:
    """Marks a value that could not be read (its error is already recorded)."""


BAD: Any = _Missing()


@dataclass
class Checker:
    """Walks the node tree, collects errors and resolves paths against the show's folder."""

    name: str  # the show file as the user named it, for messages
    folder: Path
    errors: list[tuple[int, str]] = field(default_factory=list)
    constructor: yaml.constructor.SafeConstructor = field(
        default_factory=yaml.constructor.SafeConstructor
    )
    flagged: set[int] = field(default_factory=set)  # nodes with an error already (tags, ...)
    text: str = ""  # the file's text, for hints
    # a path as written -> (resolved, why it cannot be read or None)
    paths: dict[str, tuple[Path, str | None]] = field(default_factory=dict)

    def error(self, node: Node, path: str, message: str) -> Any:
        """Record one problem at `node`; returns BAD so callers can `return self.error(...)`.

        Raises:
            TooManyErrors: past MAX_ERRORS (a file of thousands of mistakes is not read on).
        """
        if id(node) in self.flagged:  # one message per node (its tag was already reported)
            return BAD
        if len(self.errors) >= MAX_ERRORS:
            raise TooManyErrors
        line = node.start_mark.line + 1
        where = f"{path}: " if path else ""
        self.errors.append((line, f"{self.name}:{line}: {where}{message}"))
        return BAD

    def value(self, node: Node) -> Any:
        """The Python value of a scalar node (None for null), or UNREADABLE."""
        return scalar_value(node, self.constructor)

    # -- structure ---------------------------------------------------------------------------

    def mapping(
        self, node: Node, path: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Node] | None:
        """Check a mapping's keys: unknown ones (with a did-you-mean) and missing ones."""
        if not isinstance(node, MappingNode):
            self.error(node, path, f"must be a mapping, got {describe(self, node)}")
            return None
        allowed = required + optional
        found: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                continue  # a list or mapping as a key: reported with the YAML structure
            if key not in allowed:
                self.error(key_node, join(path, short(key)), unknown_key(key, allowed))
                continue
            found[key] = value_node
        for key in required:
            if key not in found:
                self.error(node, path, f"missing required key '{key}'")
        return found

    def named_mapping(self, node: Node, path: str) -> list[tuple[str, Node, Node]] | None:
        """A mapping of user-chosen names: [(name, key node, value node)]."""
        if not isinstance(node, MappingNode):
            self.error(node, path, f"must be a mapping of names, got {describe(self, node)}")
            return None
        return [(str(k.value), k, v) for k, v in node.value if isinstance(k, ScalarNode)]

    def sequence(
        self, node: Node, path: str, min_len: int = 0, max_len: int | None = None
    ) -> list[Node] | None:
        """A list node's items, with a minimum (and maximum) length."""
        if not isinstance(node, SequenceNode):
            self.error(node, path, f"must be a list, got {describe(self, node)}")
            return None
        if len(node.value) < min_len:
            self.error(node, path, f"must have at least {min_len} item(s), got {len(node.value)}")
            return None
        if max_len is not None and len(node.value) > max_len:
            self.error(node, path, f"must have at most {max_len} items, got {len(node.value)}")
            return None
        return list(node.value)

    # -- scalars -----------------------------------------------------------------------------

    def integer(
        self,
        node: Node,
        path: str,
        minimum: int | None = None,
        nullable: bool = False,
        maximum: int = MAX_INTEGER,
    ) -> Any:
        """An int (not a bool), optionally >= minimum, and <= maximum."""
        v = self.value(node)
        if nullable and v is None:
            return None
        ok = isinstance(v, int) and not isinstance(v, bool)
        if ok and (minimum is None or v >= minimum):
            if v <= maximum:
                return v
            return self.error(node, path, f"must be at most {maximum}, got {got(self, node)}")
        bound = f" >= {minimum}" if minimum is not None else ""
        null = " or null" if nullable else ""
        return self.error(node, path, f"must be an integer{bound}{null}, got {too_long(node)}"
                          f"{got(self, node)}")  # fmt: skip

    def number(
        self,
        node: Node,
        path: str,
        gt: float | None = None,
        ge: float | None = None,
        at_least: float | None = None,
        at_most: float = MAX_NUMBER,
    ) -> Any:
        """A float (ints accepted), optionally > gt or >= ge, at least `at_least`, and with
        |value| <= at_most. Ints of any size and denormals are compared, never converted first.
        """
        v = self.value(node)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and not _is_nan_or_inf(v)
        if ok and (gt is None or v > gt) and (ge is None or v >= ge):
            if at_least is not None and v < at_least:
                return self.error(
                    node, path, f"must be at least {at_least:g}, got {got(self, node)}"
                )
            if -at_most <= v <= at_most:
                return float(v)
            if at_least is not None:
                span = f"from {at_least:g} to {at_most:g}"
            elif gt is not None or ge is not None:
                span = f"at most {at_most:g}"
            else:
                span = f"from {-at_most:g} to {at_most:g}"
            return self.error(node, path, f"must be a number {span}, got {got(self, node)}")
        bound = f" > {gt:g}" if gt is not None else f" >= {ge:g}" if ge is not None else ""
        return self.error(node, path, f"must be a number{bound}, got {too_long(node)}"
                          f"{got(self, node)}")  # fmt: skip

    def seconds(self, node: Node, path: str, positive: bool = False) -> Any:
        """A time in seconds: >= 0 (or, if `positive`, >= MIN_TIME_S), at most MAX_TIME_S."""
        if positive:
            return self.number(node, path, gt=0, at_least=MIN_TIME_S, at_most=MAX_TIME_S)
        return self.number(node, path, ge=0, at_most=MAX_TIME_S)

    def seed(self, node: Node, path: str) -> Any:
        """A seed as NVIDIA's tools take it: 0 .. 2**32 - 1."""
        return self.integer(node, path, 0, maximum=MAX_SEED)

    def boolean(self, node: Node, path: str) -> Any:
        """true or false."""
        v = self.value(node)
        if isinstance(v, bool):
            return v
        return self.error(node, path, f"must be true or false, got {got(self, node)}")

    def string(self, node: Node, path: str) -> Any:
        """A non-empty string."""
        v = self.value(node)
        if isinstance(v, str) and v:
            return v
        return self.error(node, path, f"must be a non-empty string, got {got(self, node)}")

    def choice(self, node: Node, path: str, choices: tuple[str, ...]) -> Any:
        """One of `choices`, naming them all when it is not."""
        v = self.value(node)
        if isinstance(v, str) and v in choices:
            return v
        return self.error(node, path, f"{got(self, node)} is not one of {', '.join(choices)}")

    def file(self, node: Node, path: str, suffixes: tuple[str, ...]) -> Any:
        """A path relative to the show's folder, resolved; it must exist and end in `suffixes`."""
        text = self.string(node, path)
        if text is BAD:
            return BAD
        try:
            if text not in self.paths:  # a file named many times is looked up once
                resolved = (self.folder / Path(text).expanduser()).resolve()
                self.paths[text] = (resolved, input_problem(resolved))
            resolved, problem = self.paths[text]
        except (OSError, RuntimeError, ValueError) as err:  # a loop of links, a NUL byte
            return self.error(node, path, f"not a usable path {short(text)!r}: {err}")
        if suffixes and resolved.suffix.lower() not in suffixes:
            return self.error(
                node, path, f"must end in {' or '.join(suffixes)}, got {short(text)!r}"
            )
        if problem == "no such file":
            return self.error(node, path, f"file not found: {resolved}")
        if problem is not None:
            return self.error(node, path, f"{resolved}: {problem}")
        return resolved


def too_long(node: Node) -> str:
    """'a number of 401 characters: ' for a number too long to convert (yamlread), else ''."""
    is_number = isinstance(node, ScalarNode) and node.tag in NUMBER_TAGS
    if is_number and len(node.value) > MAX_NUMBER_CHARS:
        return f"a number of {len(node.value)} characters: "
    return ""


def _is_nan_or_inf(v: int | float) -> bool:
    """True for nan and ±inf (an int of any size is neither)."""
    return isinstance(v, float) and not math.isfinite(v)


def unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    """'unknown key; did you mean ...' or the list of allowed keys."""
    close = difflib.get_close_matches(short(key, 100), allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of {', '.join(allowed)}"


def describe(c: Checker, node: Node) -> str:
    """A short account of what a node is, for 'got ...'."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return got(c, node)


def got(c: Checker, node: Node) -> str:
    """A scalar as the user wrote it (cut short): 'abc', -1, null, true."""
    if not isinstance(node, ScalarNode):
        return describe(c, node)
    v = c.value(node)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(short(v))
    return short(str(node.value))


def opt(
    c: Checker,
    keys: dict[str, Node],
    key: str,
    path: str,
    read: Callable[[Node, str], T],
    default: T,
) -> T:
    """Read `key` with `read` when present, else `default`."""
    if key not in keys:
        return default
    return read(keys[key], join(path, key))


def find(node: Node | None, *path: str) -> Node | None:
    """The node at a key path in nested mappings, or None."""
    for key in path:
        if not isinstance(node, MappingNode):
            return None
        node = next((v for k, v in node.value if k.value == key), None)
    return node


def all_ok(*values: Any) -> bool:
    """No value is BAD."""
    return not any(v is BAD for v in values)


def read_list(
    c: C,
    node: Node,
    path: str,
    read: Callable[[C, Node, str], Any],
    max_len: int | None = None,
) -> Any:
    """A list whose items `read` builds."""
    items = c.sequence(node, path, max_len=max_len)
    if items is None:
        return BAD
    out = tuple(read(c, n, f"{path}[{i}]") for i, n in enumerate(items))
    return out if all_ok(*out) else BAD


def read_pair(
    c: Checker,
    node: Node,
    path: str,
    expected: str,
    counted: str,
    read_first: Callable[[Node, str], Any],
    read_second: Callable[[Node, str], Any] | None = None,
) -> Any:
    """[a, b]: a list of exactly two items, read by `read_first` and `read_second`.

    Args:
        expected: the pair as a wrong length names it: 'must be [host, port], got 3 item(s)'.
        counted: what that message counts ('item(s)', 'numbers').
        read_second: the second item's reader; None reads both with `read_first`.
    Returns:
        (a, b), or BAD once the problem is recorded.
    """
    items = c.sequence(node, path)
    if items is None:
        return BAD
    if len(items) != 2:
        return c.error(node, path, f"must be {expected}, got {len(items)} {counted}")
    a = read_first(items[0], f"{path}[0]")
    b = (read_second or read_first)(items[1], f"{path}[1]")
    return (a, b) if all_ok(a, b) else BAD
