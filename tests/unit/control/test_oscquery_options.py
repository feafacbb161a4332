"""OSCQuery's options: --oscquery-port and --no-dns-sd, the show's show.osc.oscquery_port (the
command line wins), and app.start_oscquery's rules (it needs OSC; no port: no server)."""

from __future__ import annotations

import queue
import socket
from pathlib import Path

import pytest

from installation import app
from installation.control.dns_sd import instance_name, interface_addresses, server_name
from installation.errors import ControlError, ShowError
from installation.settings import AppSettings, settings_from_argv
from installation.show.load import validate_text

# not a file: validate_text reads the text as if it were there (its models/faces.pkl is)
SHOW = Path(__file__).resolve().parents[1] / "show" / "fixtures" / "gallery.yaml"
BODY = (
    "models:\n  faces: {path: models/faces.pkl}\n"
    "sections:\n"
    "  - {name: a, model: faces, duration_s: 5, walk: {path: noise_loop}}\n"
)


def show_with(osc: str):
    return validate_text(f"show:\n  osc: {osc}\n" + BODY, SHOW)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_show_file_and_the_command_line_read_the_port():
    assert show_with("{port: 9000, oscquery_port: 9001}").settings.osc.oscquery_port == 9001
    assert show_with("{port: 9000}").settings.osc.oscquery_port is None
    with pytest.raises(ShowError, match="show.osc.oscquery_port: must be a port number"):
        show_with("{oscquery_port: 70000}")
    settings = settings_from_argv(["--oscquery-port", "9101", "--no-dns-sd"])
    assert (settings.oscquery_port, settings.is_dns_sd) == (9101, False)
    assert settings_from_argv([]).oscquery_port is None and settings_from_argv([]).is_dns_sd


def test_start_oscquery_takes_the_command_line_then_the_show(tmp_path):
    board = app.StatusBoard()
    settings = AppSettings(show_path=tmp_path / "gallery.yaml", osc_host="127.0.0.1",
                           osc_port=0, is_dns_sd=False)  # fmt: skip
    osc = app.start_osc(settings, queue.SimpleQueue(), board)
    try:
        assert app.start_oscquery(settings, board, osc) is None  # no port anywhere: none
        port = free_port()
        show = show_with(f"{{port: 9000, oscquery_port: {port}}}")
        from_show = app.start_oscquery(settings, board, osc, show)
        try:
            assert from_show.port == port and from_show.host == "127.0.0.1"
            assert from_show.osc_port == osc.port and from_show.name == "latent-walk gallery"
            assert board.private["oscquery_url"] == f"http://127.0.0.1:{port}/"
        finally:
            from_show.stop()
        cli = AppSettings(show_path=settings.show_path, osc_host="127.0.0.1", osc_port=0,
                          oscquery_port=0, is_dns_sd=False)  # fmt: skip
        from_cli = app.start_oscquery(cli, board, osc, show_with("{port: 9000, oscquery_port: 1}"))
        try:
            assert from_cli.port not in (0, 1)  # the command line won over the show's port 1
        finally:
            from_cli.stop()
    finally:
        osc.stop()


def test_oscquery_needs_osc():
    settings = AppSettings(oscquery_port=0, is_dns_sd=False)
    with pytest.raises(ControlError, match="give --osc-port"):
        app.start_oscquery(settings, app.StatusBoard(), None)


def test_dns_sd_names_and_interfaces():
    assert interface_addresses("127.0.0.1") == ["127.0.0.1"]  # loopback OSC: loopback only
    assert interface_addresses("192.168.1.20") == ["192.168.1.20"]
    assert instance_name("latent-walk " + "é" * 80).encode() <= b"latent-walk " + "é".encode() * 26
    assert len(instance_name("latent-walk " + "é" * 80).encode()) <= 63
    assert instance_name("a\nb") == "a b" and instance_name("") == "latent-walk"
    assert server_name().endswith(".local.") and "_" not in server_name()
