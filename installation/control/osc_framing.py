"""OSC datagrams: reading messages and bundles out of one, building one, and their size limits.

A datagram is one OSC message or one bundle; a bundle's elements are messages or bundles again
(nested at most MAX_BUNDLE_DEPTH deep). `read_messages()` yields them in datagram order;
timetags are ignored, so nothing waits. No socket here: the server (osc.py) and the operator's
client (osc_client.py) both read datagrams with it.

Why bundles are parsed here and not by python-osc (1.10.2): its bundle parser loops forever on
an element size <= -4 (a 20-byte datagram stops the thread for good, logging a root-logger
WARNING per turn), and `Dispatcher.call_handlers_for_packet` swallows parse errors (so they
could not be counted). Messages are still decoded by python-osc's `OscMessage`, after a check
that the type tags are ones it knows (it would log a root WARNING per unknown tag character).
"""

from __future__ import annotations

import logging
import numbers
import struct
from collections.abc import Iterator
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message import ParseError as MessageParseError
from pythonosc.osc_message_builder import build_msg
from pythonosc.parsing.osc_types import BuildError
from pythonosc.parsing.osc_types import ParseError as TypeParseError

log = logging.getLogger(__name__)

MAX_DATAGRAM_BYTES = 65535  # socketserver's default of 8192 would cut large bundles
MAX_BUNDLE_DEPTH = 8  # nested bundles deeper than this are malformed
BUNDLE_PREFIX = b"#bundle\x00"
_KNOWN_TYPE_TAGS = b"ihfdsbrmtTFN[]"  # what python-osc 1.10.2 decodes
# What python-osc's message decoder may raise on hostile bytes (notes/stack.md §3).
PARSE_ERRORS = (
    MessageParseError, TypeParseError, UnicodeDecodeError, TypeError, ValueError, IndexError,
    struct.error, OverflowError,
)  # fmt: skip


class MalformedDatagram(ValueError):
    """A datagram is not OSC (or not OSC this server can read)."""


def is_osc_start(data: bytes) -> bool:
    """True when a datagram starts as an OSC message or bundle does (a cheap first look)."""
    return data.startswith(b"/") or data.startswith(BUNDLE_PREFIX)


def read_messages(data: bytes, depth: int = 0) -> Iterator[OscMessage]:
    """The messages of a datagram in order: a message, or a bundle's elements (recursively).

    Raises:
        MalformedDatagram, or one of PARSE_ERRORS from python-osc's message decoder.
    """
    if data.startswith(b"/"):
        _check_type_tags(data)
        yield OscMessage(data)
        return
    if not data.startswith(BUNDLE_PREFIX):
        raise MalformedDatagram("a bundle element is neither a message nor a bundle")
    if depth >= MAX_BUNDLE_DEPTH:
        raise MalformedDatagram(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    index = len(BUNDLE_PREFIX) + 8  # the timetag is ignored: messages are handled at once
    if len(data) < index:
        raise MalformedDatagram("a bundle shorter than its header")
    while index < len(data):
        if index + 4 > len(data):
            raise MalformedDatagram("a bundle element size is cut off")
        (size,) = struct.unpack_from(">i", data, index)
        index += 4
        if size <= 0 or size % 4 or index + size > len(data):
            raise MalformedDatagram(f"a bundle element size of {size} bytes")
        yield from read_messages(data[index : index + size], depth + 1)
        index += size


def _check_type_tags(data: bytes) -> None:
    """Reject type tags python-osc cannot decode (it would log a root WARNING for each)."""
    end = data.find(b"\x00")
    if end < 0:
        raise MalformedDatagram("the address is not terminated")
    start = (end // 4 + 1) * 4  # strings are padded to 4 bytes
    if start >= len(data):
        return  # no type tags: no arguments
    tag_end = data.find(b"\x00", start)
    tags = data[start : tag_end if tag_end >= 0 else len(data)]
    if tags[:1] != b"," or tags[1:].strip(_KNOWN_TYPE_TAGS):
        raise MalformedDatagram(f"unsupported type tags {tags[:40]!r}")


def osc_value(value: object) -> int | float | str:
    """A status value as OSC sends it: bools as 0/1, numbers as int/float, else a string."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value if isinstance(value, str) else str(value)


def build_datagram(address: str, values: list[Any]) -> bytes | None:
    """One OSC message as a datagram; None (and a WARNING) when a value cannot be encoded."""
    try:
        return build_msg(address, values).dgram
    except (BuildError, ValueError, struct.error) as exc:
        log.warning("cannot build %s %r: %s", address, values, exc)
        return None
