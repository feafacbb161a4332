"""A show file's YAML as nodes, within bounds that no file can get past.

PyYAML's composer keeps line marks (show/load.py reports `file:line: field`), but left alone it
follows a file wherever it leads: an alias-expansion bomb (a few lines whose aliases stand for
billions of nodes), an alias that contains itself, nesting deep enough to overflow the stack,
a number of 100 000 digits. Here the file size, the nodes composed, the aliases, the nodes the
aliases stand for and the nesting depth are counted while the YAML is composed, and the first
limit crossed ends the reading with one ShowError line. No limit is near what a real show uses
(the shipped ones are under 8 KB and 1 000 nodes).
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from installation.errors import ShowError

log = logging.getLogger(__name__)

MAX_SHOW_BYTES = 2**20  # 1 MiB
MAX_NODES = 50_000  # nodes composed, and nodes after aliases are expanded
MAX_ALIASES = 1_000
MAX_DEPTH = 64  # nesting of mappings and lists
MAX_NUMBER_CHARS = 100  # a longer int or float is refused before it is converted
YAML_TAG = "tag:yaml.org,2002:"
PLAIN_TAGS = {YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}
NUMBER_TAGS = {YAML_TAG + "int", YAML_TAG + "float"}
# `background: #ff0000` unquoted: YAML reads a comment and the value is null
HEX_COLOUR_COMMENT = re.compile(r":\s+#[0-9A-Fa-f]{3,8}\b")


class Unreadable:
    """A scalar that is not converted: a tag, a number too long, a conversion that failed."""

    def __repr__(self) -> str:
        return "UNREADABLE"


UNREADABLE: Any = Unreadable()


class _LimitCrossed(Exception):
    """A bound of this module was crossed at `mark` (ends the reading)."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


@dataclass(frozen=True)
class Bounds:
    """The limits one kind of file is read within (a show's by default)."""

    what: str = "show file"  # in messages: "a show file is at most 1024 KiB"
    max_bytes: int = MAX_SHOW_BYTES
    max_nodes: int = MAX_NODES
    max_depth: int = MAX_DEPTH
    allow_aliases: bool = True  # anchors (&name) and aliases (*name), counted


SHOW_BOUNDS = Bounds()

# libyaml's parser (C) when PyYAML has it: 100 000 events in about 0.3 s, where the pure Python
# one takes seconds on a busy machine; either way the events are composed below, with counting.
EVENT_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Open:
    """A mapping or list being composed, its anchor, and (mappings) a key waiting for a value."""

    node: MappingNode | SequenceNode
    anchor: str | None
    key: Node | None = None


class _Composer:
    """YAML events -> nodes with line marks, like PyYAML's composer, within the bounds."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self.resolver = yaml.resolver.Resolver()
        self.anchors: dict[str, Node] = {}
        self.expanded: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
        self.stack: list[_Open] = []
        self.root: Node | None = None
        self.composed = 0
        self.aliases = 0
        self.documents = 0

    def compose(self, text: str) -> Node | None:
        """The root node of the single document in `text` (None when there is none)."""
        for event in yaml.parse(text, Loader=EVENT_LOADER):
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise _LimitCrossed(event.start_mark, f"a {self.bounds.what} is one YAML "
                                        "document (found a second one, after ---)")  # fmt: skip
            elif isinstance(event, yaml.AliasEvent):
                self.alias(event)
            elif isinstance(
                event, yaml.ScalarEvent | yaml.SequenceStartEvent | yaml.MappingStartEvent
            ):
                self.start(event)
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                self.end(event)
        return self.root

    def alias(self, event: yaml.AliasEvent) -> None:
        """*name: the anchored node again (counted; a loop or an unknown name is refused)."""
        if not self.bounds.allow_aliases:
            raise _LimitCrossed(event.start_mark, "YAML anchors and aliases are not allowed here")
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _LimitCrossed(event.start_mark, f"more than {MAX_ALIASES} aliases (*name)")
        anchor = event.anchor
        if any(o.anchor == anchor for o in self.stack):
            message = f"the alias *{anchor} is inside the &{anchor} it names (a loop)"
            raise _LimitCrossed(event.start_mark, message)
        if anchor not in self.anchors:
            raise _LimitCrossed(event.start_mark, f"the alias *{short(str(anchor))} names no "
                                "anchor (&name) before it")  # fmt: skip
        self.add(self.anchors[anchor])

    def start(self, event: Any) -> None:
        """A scalar, or the start of a mapping or list."""
        self.composed += 1
        if self.composed > self.bounds.max_nodes:
            raise _LimitCrossed(event.start_mark, f"more than {self.bounds.max_nodes} values")
        tag = event.tag
        node: Node
        if isinstance(event, yaml.ScalarEvent):
            if tag is None or tag == "!":
                tag = self.resolver.resolve(ScalarNode, event.value, event.implicit)
                if tag not in PLAIN_TAGS:  # an unquoted date, `=` or `<<`: text as written
                    tag = YAML_TAG + "str"
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        else:
            kind = SequenceNode if isinstance(event, yaml.SequenceStartEvent) else MappingNode
            if tag is None or tag == "!":
                tag = self.resolver.resolve(kind, None, event.implicit)
            node = kind(tag, [], event.start_mark, event.end_mark, event.flow_style)
            if len(self.stack) >= self.bounds.max_depth:
                raise _LimitCrossed(event.start_mark, f"nested deeper than "
                                    f"{self.bounds.max_depth} levels")  # fmt: skip
        if event.anchor is not None:
            if not self.bounds.allow_aliases:
                raise _LimitCrossed(event.start_mark, "YAML anchors and aliases are not allowed "
                                    "here")  # fmt: skip
            self.anchors[event.anchor] = node
        if isinstance(node, ScalarNode):
            self.add(node)
        else:
            self.stack.append(_Open(node, event.anchor))

    def end(self, event: Any) -> None:
        """The end of a mapping or list: count what it stands for, then add it to its parent."""
        node = self.stack.pop().node
        node.end_mark = event.end_mark
        size = 1 + sum(self.expanded.get(id(child), 1) for child in children(node))
        self.expanded[id(node)] = size
        if size > self.bounds.max_nodes:
            raise _LimitCrossed(node.start_mark, f"its aliases expand to more than "
                                f"{self.bounds.max_nodes} "
                                "values (an alias-expansion bomb?)")  # fmt: skip
        self.add(node)

    def add(self, node: Node) -> None:
        """Put a finished node into the open mapping (as a key or value) or list, or as root."""
        if not self.stack:
            self.root = node
            return
        parent = self.stack[-1]
        if isinstance(parent.node, SequenceNode):
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None


def children(node: Node) -> list[Node]:
    """The nodes directly under `node`: a mapping's keys and values, a list's items."""
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def read_show_text(path: str | Path) -> str:
    """The text of a show file: a regular file of at most MAX_SHOW_BYTES, UTF-8."""
    return read_text(path, SHOW_BOUNDS)


def read_text(path: str | Path, bounds: Bounds) -> str:
    """The text of a file: a regular file of at most `bounds.max_bytes`, UTF-8."""
    what, max_bytes = bounds.what, bounds.max_bytes
    limit = f"a {what} is at most {max_bytes // 1024} KiB"
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ShowError(f"{path}: is a folder, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise ShowError(f"{path}: not a regular file (a device or a pipe?)")
        if info.st_size > max_bytes:
            raise ShowError(f"{path}: {info.st_size} bytes; {limit}")
        with open(path, "rb") as fp:
            data = fp.read(max_bytes + 1)  # it may have grown since the stat
    except OSError as err:
        raise ShowError(f"{path}: cannot read the {what}: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise ShowError(f"{path}: {limit}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ShowError(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None


def compose(
    text: str, name: str, bounds: Bounds = SHOW_BOUNDS
) -> tuple[Node | None, list[tuple[int, str]], set[int]]:
    """YAML text -> (root node, its structural errors, ids of the nodes they are about).

    Structural errors: tags, merge keys, duplicate keys, keys that are not names.

    Raises:
        ShowError: a syntax error or a crossed bound (one line; nothing more can be read).
    """
    if len(text) > bounds.max_bytes:
        raise ShowError(f"{name}: a {bounds.what} is at most {bounds.max_bytes // 1024} KiB")
    try:
        root = _Composer(bounds).compose(text)
    except _LimitCrossed as err:
        raise ShowError(f"{name}:{err.mark.line + 1}: {err.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        hint = comment_hint(text, line)
        raise ShowError(f"{name}:{line}: YAML syntax error: {problem}{context}{hint}") from None
    except yaml.YAMLError as exc:  # a reader error (a control character) has no marks
        raise ShowError(f"{name}:1: YAML syntax error: {' '.join(str(exc).split())}") from None
    errors, flagged = structure_errors(root, name)
    return root, errors, flagged


def structure_errors(root: Node | None, name: str) -> tuple[list[tuple[int, str]], set[int]]:
    """(line, message) for every tag, merge key, duplicate key and non-scalar key; node ids."""
    errors: list[tuple[int, str]] = []
    flagged: set[int] = set()
    stack = [("", root)] if root is not None else []
    seen_nodes: set[int] = set()  # aliases share nodes: look at each once
    while stack:
        path, node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        line = node.start_mark.line + 1
        where = f"{path}: " if path else ""
        if node.tag not in PLAIN_TAGS:
            flagged.add(id(node))
            errors.append((line, f"{name}:{line}: {where}YAML tags are not allowed, "
                                 f"got {short(node.tag)!r}"))  # fmt: skip
            continue
        if isinstance(node, MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                kline = k.start_mark.line + 1
                if not isinstance(k, ScalarNode):
                    kind = "list" if isinstance(k, SequenceNode) else "mapping"
                    errors.append((kline, f"{name}:{kline}: {where}a key must be a name, got a "
                                          f"{kind}"))  # fmt: skip
                    continue
                key = short(str(k.value))
                if key == "<<":
                    errors.append((kline, f"{name}:{kline}: {join(path, key)}: YAML merge keys "
                                          "are not allowed"))  # fmt: skip
                elif key in seen:
                    errors.append((kline, f"{name}:{kline}: {join(path, key)}: duplicate key"))
                seen.add(key)
                stack.append((join(path, key), v))
        elif isinstance(node, SequenceNode):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node.value))
    return errors, flagged


def scalar_value(node: Node, constructor: yaml.constructor.SafeConstructor) -> Any:
    """The Python value of a plain scalar node (None for null), or UNREADABLE.

    Numbers longer than MAX_NUMBER_CHARS are not converted (10**100000 takes seconds and
    Python refuses to print it); big integers that are converted stay exact for range checks.
    """
    if not isinstance(node, ScalarNode) or node.tag not in PLAIN_TAGS:
        return UNREADABLE
    if node.tag in NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
        return UNREADABLE
    try:
        return constructor.construct_object(node, deep=True)
    except (ValueError, OverflowError, ArithmeticError, yaml.YAMLError) as err:
        log.debug("scalar %r not converted: %s", short(node.value), err)
        return UNREADABLE


def comment_hint(text: str, line: int) -> str:
    """'; an unquoted # starts a YAML comment ...' when a hex colour near `line` is unquoted."""
    lines = text.splitlines()
    for number in range(min(line, len(lines)), 0, -1):
        match = HEX_COLOUR_COMMENT.search(lines[number - 1])
        if match:
            colour = match.group(0).split("#", 1)[1]
            return (f"; line {number}: an unquoted # starts a YAML comment, so quote the "
                    f'colour: "#{colour}"')  # fmt: skip
    return ""


def short(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters (with … when cut), for messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def join(path: str, key: str) -> str:
    """'sections[1]' + 'walk' -> 'sections[1].walk'."""
    return f"{path}.{key}" if path else key
