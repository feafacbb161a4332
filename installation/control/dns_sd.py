"""DNS-SD (mDNS/Bonjour) advertising of the OSCQuery server and the OSC port, on its own thread.

Two services, found by TouchDesigner's OSCQuery component, Chataigne, Vezer and any Bonjour
browser: `_oscjson._tcp.local.` (the OSCQuery HTTP port, the proposal's service type) and
`_osc._udp.local.` (the OSC port), both named after the show ("latent-walk <show>"; a second
show of that name on the network gets " (2)"). They are announced on the interfaces the OSC
server listens on only: 127.0.0.1 -> loopback only, an address -> that interface, 0.0.0.0 ->
every IPv4 interface.

Why python-zeroconf: the one well-kept pure-Python mDNS/DNS-SD implementation (wheels for every
platform, no system daemon needed: Avahi or Bonjour need not run); it takes the interfaces to
use, so tests keep multicast on loopback.

Registering probes the network for about 1.5 s (both services at once), so it runs on this
thread ("dns-sd"): the show starts at once. Any failure is one log line; the show goes on
without advertising.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from installation.control.service import ServiceThread

log = logging.getLogger(__name__)

OSCJSON_TYPE = "_oscjson._tcp.local."
OSC_TYPE = "_osc._udp.local."
MAX_INSTANCE_BYTES = 63  # a DNS-SD instance name is one DNS label
WILDCARD_HOSTS = ("0.0.0.0", "", "::")


def instance_name(name: str) -> str:
    """A DNS-SD instance name: printable, without dots' trouble, at most 63 bytes of UTF-8."""
    text = "".join(c if c.isprintable() else " " for c in name).strip() or "latent-walk"
    while len(text.encode("utf-8")) > MAX_INSTANCE_BYTES:
        text = text[:-1]
    return text


def server_name() -> str:
    """This machine's mDNS host name, e.g. "stage-pc.local." (letters, digits and '-')."""
    label = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname().split(".")[0]).strip("-")
    return f"{label[:MAX_INSTANCE_BYTES] or 'latent-walk'}.local."


def interface_addresses(host: str) -> list[str]:
    """The IPv4 addresses to announce on for a server bound to `host` (resolved if a name)."""
    if host in WILDCARD_HOSTS:
        import ifaddr  # zeroconf's own dependency: lists the interfaces on every OS

        found = []
        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                    found.append(ip.ip)
        return found or ["127.0.0.1"]
    try:
        return [str(ipaddress.IPv4Address(host))]
    except ValueError:
        return [socket.gethostbyname(host)]


class DnsSd(ServiceThread):
    """Advertises `_oscjson._tcp` (OSCQuery) and `_osc._udp` (OSC) until stopped.

    Args:
        name: the instance name (e.g. "latent-walk demo").
        http_host, http_port: the OSCQuery server.
        osc_host, osc_port: the OSC server; its host says which interfaces announce.
    """

    thread_name = "dns-sd"
    service_name = "DNS-SD advertiser"
    stop_timeout_s = 3.0

    def __init__(self, name: str, http_host: str, http_port: int, osc_host: str,
                 osc_port: int) -> None:  # fmt: skip
        super().__init__()
        self.name = instance_name(name)
        self.http_port, self.osc_port = int(http_port), int(osc_port)
        self.osc_host = osc_host
        self.http_host = http_host
        self.registered: list[str] = []  # the full service names once registered
        self._stopping = threading.Event()
        self._zeroconf: Any = None

    def _run(self) -> None:
        try:
            self._register()
        except Exception as exc:  # noqa: BLE001 - advertising is optional: one line, go on
            log.warning("DNS-SD advertising is off: %s: %s", type(exc).__name__, exc)
            self._unregister()
            return
        self._stopping.wait()
        self._unregister()

    def _register(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, Zeroconf

        addresses = interface_addresses(self.osc_host)
        interfaces = InterfaceChoice.All if self.osc_host in WILDCARD_HOSTS else addresses
        self._zeroconf = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        packed = [socket.inet_aton(address) for address in addresses]
        infos = [ServiceInfo(service_type, f"{self.name}.{service_type}", port=port,
                             addresses=packed, server=server_name(),
                             properties={"txtvers": "1"})
                 for service_type, port in ((OSCJSON_TYPE, self.http_port),
                                            (OSC_TYPE, self.osc_port))]  # fmt: skip
        # both at once: each probes the network for ~1.5 s before it is announced
        with ThreadPoolExecutor(len(infos), thread_name_prefix="dns-sd") as pool:
            futures = [pool.submit(self._zeroconf.register_service, info, allow_name_change=True)
                       for info in infos]  # fmt: skip
            for future in futures:
                future.result()
        self.registered.extend(info.name for info in infos)
        log.info("DNS-SD: advertised %s on %s", ", ".join(self.registered),
                 ", ".join(addresses))  # fmt: skip

    def _unregister(self) -> None:
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is None:
            return
        try:
            zeroconf.unregister_all_services()
            zeroconf.close()
        except Exception as exc:  # noqa: BLE001 - at shutdown: one line
            log.warning("DNS-SD: closing failed: %s: %s", type(exc).__name__, exc)

    def _request_stop(self) -> None:
        self._stopping.set()
