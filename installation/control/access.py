"""Who may send OSC and how much: the allow-list and each sender host's budgets.

The allow-list is checked on every datagram before anything is parsed (osc.py). Its entries
follow the rules in installation/netcheck.py, the same ones a show's `show.osc.allow` is checked
with. Budgets are token buckets kept per sender host (its IP, never its port, so a sender that
hops ports gets no more): messages a second, expensive commands a second, status replies and
refusals a second.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from installation.errors import ControlError
from installation.netcheck import LOCAL_NETWORKS, LOOPBACK_NETWORKS, Network, allow_entry
from installation.walk.commands import Command

SENDER_MEMORY_S = 60.0  # a sender host's budgets are forgotten after this long without a datagram
MAX_SENDERS = 1024  # remembered sender hosts (budgets); the oldest are forgotten
EXPENSIVE_PER_S = 2.0  # expensive commands a second per sender host (burst 2x)
STATUS_REPLIES_PER_S = 2.0  # status replies a second per sender host (burst 2x)
REFUSALS_PER_S = 4.0  # /status/refused replies a second per sender host (burst 2x)


def allow_networks(allow: Sequence[str]) -> tuple[tuple[Network, ...], bool]:
    """Allow-list entries -> (networks, is_any).

    Entries: "loopback", "local" (private and link-local ranges), "any" (everyone; must be
    explicit), an address ("192.168.1.20") or a CIDR network ("192.168.1.0/24").

    Raises:
        ControlError: an entry is none of these, or the list is empty.
    """
    if isinstance(allow, str):
        allow = (allow,)
    networks: list[Network] = []
    is_any = False
    for entry in allow:
        try:
            checked = allow_entry(entry)
        except ValueError:
            raise ControlError(
                f"OSC allow-list: {entry!r} is not loopback, local, any, an IP address or a "
                "CIDR network"
            ) from None
        if checked == "any":
            is_any = True
        elif checked == "loopback":
            networks.extend(LOOPBACK_NETWORKS)
        elif checked == "local":
            networks.extend(LOCAL_NETWORKS)
        else:
            networks.append(checked)
    if not networks and not is_any:
        raise ControlError("OSC allow-list is empty: nobody could steer the show")
    return tuple(networks), is_any


class AllowList:
    """The senders allowed to steer, with the answer for each sender IP remembered.

    Raises:
        ControlError: `allow` is invalid (see `allow_networks`).
    """

    def __init__(self, allow: Sequence[str]) -> None:
        self.networks, self.is_any = allow_networks(allow)
        self.text = ",".join([allow] if isinstance(allow, str) else allow)  # for log lines
        self._answers: dict[str, bool] = {}

    def is_allowed(self, ip: str) -> bool:
        """True when sender address `ip` is in the list (an IPv4-mapped IPv6 one as IPv4)."""
        if self.is_any:
            return True
        is_allowed = self._answers.get(ip)
        if is_allowed is None:
            try:
                address = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 scope
            except ValueError:
                address = None
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            is_allowed = address is not None and any(address in n for n in self.networks)
            self._answers[ip] = is_allowed
        return is_allowed

    def forget_answers(self, max_answers: int) -> None:
        """Forget every remembered answer once more than `max_answers` are kept."""
        if len(self._answers) > max_answers:
            self._answers.clear()


class TokenBucket:
    """`rate_per_s` tokens a second, at most `capacity`; a message takes one."""

    __slots__ = ("rate_per_s", "capacity", "tokens", "last_s")

    def __init__(self, rate_per_s: float, capacity: float, now_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self.tokens = capacity
        self.last_s = now_s

    def refill(self, now_s: float) -> None:
        """Add the tokens earned since the last refill, up to `capacity`."""
        self.tokens = min(self.capacity, self.tokens + (now_s - self.last_s) * self.rate_per_s)
        self.last_s = now_s

    def has_token(self, now_s: float) -> bool:
        """True when one token is there (none is taken)."""
        self.refill(now_s)
        return self.tokens >= 1.0

    def take(self, now_s: float, amount: float = 1.0) -> bool:
        """Take `amount` tokens if they are there; False (nothing taken) otherwise."""
        self.refill(now_s)
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


@dataclass
class SenderBudgets:
    """One sender host's budgets and its expensive commands waiting for that budget."""

    messages: TokenBucket
    expensive: TokenBucket
    status: TokenBucket
    refusals: TokenBucket
    deferred: OrderedDict[Hashable, Command] = field(default_factory=OrderedDict)

    @classmethod
    def full(cls, rate_limit_per_s: float, now_s: float) -> SenderBudgets:
        """A new sender's budgets, every bucket full (burst: twice its rate)."""

        def bucket(rate_per_s: float) -> TokenBucket:
            return TokenBucket(rate_per_s, 2.0 * rate_per_s, now_s)

        return cls(bucket(rate_limit_per_s), bucket(EXPENSIVE_PER_S),
                   bucket(STATUS_REPLIES_PER_S), bucket(REFUSALS_PER_S))  # fmt: skip
