"""A client for operators (`latent-walk osc-send`): send one OSC message, collect the replies.

The show's server (osc.py) answers an accepted message with its status, /status/<key> <value>
... /status/end, and a refused one with /status/refused <address> <reason>, to the port the
message came from; this client listens on its sending socket for that answer.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from typing import Any

from pythonosc.osc_message_builder import build_msg
from pythonosc.parsing.osc_types import BuildError

from installation.control.osc_framing import MAX_DATAGRAM_BYTES, PARSE_ERRORS, read_messages
from installation.errors import ControlError


def send_message(
    host: str, port: int, address: str, values: Sequence[Any], wait_reply_s: float = 0.0
) -> list[tuple[str, list[Any]]]:
    """Send one OSC message from a fresh UDP socket; with `wait_reply_s` > 0 collect the replies.

    Returns:
        The replies that came back to the sending socket within `wait_reply_s`, up to the end of
        the answer (/status/end, or /status/refused), as (address, arguments), in arrival
        order; [] when not waiting.

    Raises:
        ControlError: a bad address or value, an unknown host, or a failed send.
    """
    if not address.startswith("/"):
        raise ControlError(f"an OSC address starts with '/', got {address!r}")
    try:
        datagram = build_msg(address, list(values)).dgram
    except (BuildError, ValueError) as exc:
        raise ControlError(f"cannot build {address} {list(values)!r}: {exc}") from None
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(datagram, sockaddr)
            return _collect_replies(sock, wait_reply_s)
    except OSError as exc:
        raise ControlError(f"OSC {host}:{port}: {exc.strerror or exc}") from None


def _collect_replies(sock: socket.socket, wait_s: float) -> list[tuple[str, list[Any]]]:
    replies: list[tuple[str, list[Any]]] = []
    deadline_s = time.monotonic() + wait_s
    while (left_s := deadline_s - time.monotonic()) > 0:
        sock.settimeout(left_s)
        try:
            data, _ = sock.recvfrom(MAX_DATAGRAM_BYTES)
        except TimeoutError:
            break
        try:
            replies.extend((m.address, list(m.params)) for m in read_messages(data))
        except PARSE_ERRORS as exc:
            replies.append(("(malformed reply)", [f"{len(data)} bytes: {exc}"]))
        if replies[-1][0] in ("/status/end", "/status/refused"):  # the whole answer is here
            break
    return replies
