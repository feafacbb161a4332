"""The rules of a port, host, allow-list entry and HTTP token, in one place (docs/osc.md).

The show file (`show.osc`), the command line (`--osc-port`, `--osc-feedback`, the tools' `--port`)
and the OSC server (control/access.py) all check with these. A leaf module of the standard
library only, so show/, settings.py and control/ may import it without importing each other.
"""

from __future__ import annotations

import ipaddress
import re

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MIN_PORT = 1
MAX_PORT = 65535  # UDP port numbers are 16 bits; 0 means "any free port" to bind()
PORT_TEXT = f"a port number {MIN_PORT}..{MAX_PORT}"

ALLOW_WORDS = ("loopback", "local", "any")
DEFAULT_ALLOW = ("loopback", "local")  # this machine and private networks
ALLOW_HELP = "loopback, local, any, an IP address or a CIDR network like 10.0.0.0/24"
LOOPBACK_NETWORKS: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# "local" means the private and link-local ranges (RFC 1918, RFC 3927, RFC 4193, RFC 4291), not
# the subnets of this machine's interfaces: the standard library cannot list those on every OS
# without running `ip`/`ipconfig`. For a stricter list name the gallery's CIDR explicitly.
LOCAL_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7",
                 "fe80::/10")
)  # fmt: skip
_HOST = re.compile(r"[A-Za-z0-9_.:%-]+")
MIN_TOKEN_CHARS = 16  # an HTTP token (--http-token, show.http.token): shorter is too easy to guess
MAX_TOKEN_CHARS = 200
TOKEN_TEXT = f"{MIN_TOKEN_CHARS}..{MAX_TOKEN_CHARS} letters, digits, '-', '_', '.' or '~'"


def is_port(value: object) -> bool:
    """True for an int (not a bool) in MIN_PORT..MAX_PORT."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_PORT <= value <= MAX_PORT


def is_host(text: str) -> bool:
    """True for a host name or IP address to bind to or send to (no spaces, no port)."""
    return bool(_HOST.fullmatch(text)) and text.count(":") != 1


def is_token(text: object) -> bool:
    """True for an HTTP token: TOKEN_TEXT (it travels in a header, so no spaces or quotes)."""
    return (
        isinstance(text, str)
        and MIN_TOKEN_CHARS <= len(text) <= MAX_TOKEN_CHARS
        and all(c.isascii() and (c.isalnum() or c in "-_.~") for c in text)
    )


def allow_entry(entry: str) -> str | Network:
    """One allow-list entry -> its word ("loopback", "local", "any") or its network.

    Leading and trailing spaces are ignored, and the case of a word; an address is a network of
    one address, a CIDR network may have host bits set ("192.168.1.20/24").

    Raises:
        ValueError: the entry is none of these (ipaddress's message says why).
    """
    word = entry.strip().lower()
    if word in ALLOW_WORDS:
        return word
    return ipaddress.ip_network(entry.strip(), strict=False)
