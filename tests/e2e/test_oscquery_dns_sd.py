"""DNS-SD: a Bonjour browse finds the show's OSCQuery and OSC services (issue 16).

Multicast must never reach this machine's network, so the show and the browser run in a child
process inside a network namespace of its own (`unshare -rn`: a new user and network namespace,
no privileges needed): its only interface is a loopback, which the child brings up with
multicast on (ioctl SIOCSIFFLAGS, allowed inside the namespace). The child checks that `lo` is
its only interface before anything is sent. It starts OSC on 127.0.0.1 and OSCQuery through
app.start_osc / app.start_oscquery as a show does, browses `_oscjson._tcp` and `_osc._udp` with
python-zeroconf's ServiceBrowser on 127.0.0.1, reads HOST_INFO from the address and port the
browse resolved, stops the server and sees the services leave; then an advertiser whose
interface does not exist fails with one log line. It prints what it saw as one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

UNSHARE = ["unshare", "--user", "--map-root-user", "--net"]
SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
IFF_UP, IFF_MULTICAST = 0x1, 0x1000
TYPES = ("_oscjson._tcp.local.", "_osc._udp.local.")


def loopback_up_with_multicast() -> None:
    """Bring this namespace's `lo` up with multicast on (no `ip` binary needed)."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS,
                    struct.pack("16sH14x", b"lo", flags | IFF_UP | IFF_MULTICAST))  # fmt: skip


def browse_in_this_namespace() -> dict:
    """The child's part (inside the namespace): start, browse, resolve, stop; what it saw."""
    import http.client
    import logging
    import queue
    import socket

    from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

    from installation import app
    from installation.control.dns_sd import DnsSd
    from installation.settings import AppSettings

    interfaces = [name for _index, name in socket.if_nameindex()]
    if interfaces != ["lo"]:  # never multicast on a real network
        return {"error": f"not in a fresh network namespace: {interfaces}"}
    loopback_up_with_multicast()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(f"{record.levelname} {record.name} {record.getMessage()}")

    logging.getLogger("installation").addHandler(Keep())
    logging.getLogger("installation").setLevel(logging.INFO)
    settings = AppSettings(show_path=Path("/shows/gallery.yaml"), osc_host="127.0.0.1",
                           osc_port=0, osc_allow=("loopback",), oscquery_port=0)  # fmt: skip
    board = app.StatusBoard()
    started_s = time.monotonic()
    osc = app.start_osc(settings, queue.SimpleQueue(), board)
    oscquery = app.start_oscquery(settings, board, osc)
    start_s = time.monotonic() - started_s
    seen: dict[str, list[str]] = {"added": [], "removed": []}

    def changed(zeroconf, service_type, name, state_change) -> None:
        if state_change is ServiceStateChange.Added:
            seen["added"].append(name)
        elif state_change is ServiceStateChange.Removed:
            seen["removed"].append(name)

    browser_zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    result: dict = {"start_s": start_s, "osc_port": osc.port, "oscquery_port": oscquery.port}
    try:
        ServiceBrowser(browser_zc, list(TYPES), handlers=[changed])
        deadline = time.monotonic() + 15
        while len(seen["added"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        result["found_s"] = time.monotonic() - started_s
        result["added"] = sorted(seen["added"])
        for service_type in TYPES:
            for name in seen["added"]:
                if name.endswith(service_type):
                    info = browser_zc.get_service_info(service_type, name, timeout=3000)
                    result[service_type] = [info.parsed_addresses(), info.port, info.server]
        address, port = result[TYPES[0]][0][0], result[TYPES[0]][1]
        connection = http.client.HTTPConnection(address, port, timeout=5)
        connection.request("GET", "/?HOST_INFO")
        result["host_info"] = json.loads(connection.getresponse().read())
        connection.close()
        stopped_s = time.monotonic()
        oscquery.stop()
        result["stop_s"] = time.monotonic() - stopped_s
        deadline = time.monotonic() + 10
        while len(seen["removed"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        result["removed"] = sorted(seen["removed"])
    finally:
        browser_zc.close()
        oscquery.stop()
        osc.stop()
    failing = DnsSd("latent-walk nowhere", "10.9.8.7", 1, "10.9.8.7", 2)  # no such interface
    failing.start()
    deadline = time.monotonic() + 10
    while failing.is_running and time.monotonic() < deadline:  # it gives up by itself
        time.sleep(0.05)
    result["failing_alive"] = failing.is_running
    failing.stop()
    result["log"] = [line for line in records if "dns_sd" in line]
    return result


def test_a_dns_sd_browse_finds_oscquery_and_osc(tmp_path):
    try:
        probe = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        probe = None
    if probe is None or probe.returncode != 0:
        reason = probe.stderr.strip() if probe is not None else "no unshare (util-linux)"
        pytest.skip(f"no unprivileged network namespace here ({reason}): the browse would "
                    "multicast on this machine's network")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent.parent),
                                                        os.environ.get("PYTHONPATH", "")])}
    child = subprocess.run([*UNSHARE, sys.executable, __file__], capture_output=True, text=True,
                           timeout=120, env=env, cwd=tmp_path)  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert "error" not in result, result["error"]
    name = "latent-walk gallery"
    assert result["added"] == sorted(f"{name}.{kind}" for kind in TYPES)
    assert result[TYPES[0]][:2] == [["127.0.0.1"], result["oscquery_port"]]
    assert result[TYPES[1]][:2] == [["127.0.0.1"], result["osc_port"]]
    assert result[TYPES[0]][2].endswith(".local.")
    info = result["host_info"]
    assert (info["NAME"], info["OSC_IP"], info["OSC_PORT"], info["OSC_TRANSPORT"]) == (
        name, "127.0.0.1", result["osc_port"], "UDP")  # fmt: skip
    assert result["start_s"] < 1.0  # registering (probing, ~1.5 s) does not hold the show up
    assert result["stop_s"] < 3.5
    assert result["removed"] == result["added"]  # the goodbye on stop
    assert not result["failing_alive"]
    failures = [line for line in result["log"] if line.startswith("WARNING")]
    assert len(failures) == 1 and "DNS-SD advertising is off" in failures[0], result["log"]
    print(f"start {result['start_s']:.3f} s, both found after {result['found_s']:.2f} s, "
          f"stop {result['stop_s']:.2f} s")


if __name__ == "__main__":  # the child, inside the namespace
    print(json.dumps(browse_in_this_namespace()))
