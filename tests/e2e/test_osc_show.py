"""OSC steering a running headless show over real UDP on 127.0.0.1 (issue 5).

The show plays in-process (render thread + offscreen EGL presenter) with a real OscControl; a
real python-osc client sends messages while frames are shown, and the frames that follow are
checked: psi 0 gives the w_avg image, a section jump changes the section, a fade darkens the
picture, /status answers with the show's state.
"""

from __future__ import annotations

import queue
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient
from two_section_show import renderer_for, write_show

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.models.latents import to_uint8
from installation.settings import AppSettings


@pytest.fixture(scope="module")
def show_path(tmp_path_factory) -> Path:
    return write_show(tmp_path_factory.mktemp("osc_show"))


class SendingPresenter(OffscreenPresenter):
    """A real offscreen presenter that sends OSC messages once N frames were shown."""

    def __init__(self, port: int, script: dict[int, list[tuple[str, list]]], stop_at: int):
        super().__init__()
        self.client = SimpleUDPClient("127.0.0.1", port)
        self.script = dict(script)
        self.stop_at = stop_at
        self.shown: list[tuple[object, np.ndarray]] = []
        self.sent_at: dict[str, int] = {}

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        self.shown.append((frame, self.read_back()))

    def poll(self) -> list[str]:
        for address, args in self.script.pop(len(self.shown), []):
            self.client.send_message(address, args)
            self.sent_at[address] = len(self.shown)
        return ["quit"] if len(self.shown) >= self.stop_at else []


def play_with_osc(show_path: Path, script, stop_at: int, presenter_class=None):
    """Play the show headless with OSC on 127.0.0.1:0, sending `script`; returns the presenter."""
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, osc_host="127.0.0.1", osc_port=0,
                           osc_allow=("loopback",))  # fmt: skip
    commands: queue.SimpleQueue = queue.SimpleQueue()
    board = app.StatusBoard()
    osc = app.start_osc(settings, commands, board)
    try:
        presenter = (presenter_class or SendingPresenter)(osc.port, script, stop_at)
        try:
            assert app.play(settings, renderer_for(show_path), presenter, commands=commands,
                            board=board) == 0  # fmt: skip
        finally:
            presenter.close()
    finally:
        osc.stop()
    return presenter


def test_psi_zero_over_osc_gives_the_average_image(show_path):
    presenter = play_with_osc(show_path, {5: [("/psi", [0.0])]}, stop_at=25)
    renderer = renderer_for(show_path)
    G = renderer.generators["tiny"]
    with torch.inference_mode():
        ws = G.mapping.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1)  # psi 0: every w = w_avg
        average = to_uint8(G.synthesis(ws))[0]
    before = [pixels for frame, pixels in presenter.shown[1:5]]
    after = [pixels for frame, pixels in presenter.shown[12:]]
    assert len(after) >= 8
    for pixels in after:  # the walk goes on, but every frame is now the average image
        assert np.abs(pixels.astype(int) - average.astype(int)).max() <= 1
    assert all(np.abs(p.astype(int) - average.astype(int)).max() > 8 for p in before)


def test_section_jump_and_fade_over_osc(show_path):
    script = {4: [("/show/next", [])], 12: [("/show/fade", [0.0, 0.0])]}
    presenter = play_with_osc(show_path, script, stop_at=20)
    frames = [frame for frame, _ in presenter.shown]
    assert frames[0].section_name == "drift"
    jumped = [f for f in frames if f.epoch == 1]
    assert jumped and jumped[0].show_time_s == pytest.approx(30.0)
    assert all(f.section_name == "second" for f in jumped)
    assert presenter.shown[-1][1].max() == 0  # faded to black at once (fade time 0)
    assert presenter.shown[8][1].max() > 0


def test_status_query_replies_with_the_show_state(show_path):
    replies: list[OscMessage] = []
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.05)

    class QueryingPresenter(SendingPresenter):
        def poll(self) -> list[str]:
            if len(self.shown) == 6 and not self.sent_at:
                receiver.sendto(status_query(), ("127.0.0.1", self.client._port))
                cutoff = OscMessageBuilder(address="/cutoff")
                cutoff.add_arg(8)
                receiver.sendto(cutoff.build().dgram, ("127.0.0.1", self.client._port))
                self.sent_at["/status"] = 6
            try:
                while True:
                    data, _ = receiver.recvfrom(65536)
                    replies.append(OscMessage(data))
            except (TimeoutError, BlockingIOError):
                pass
            return ["quit"] if len(self.shown) >= self.stop_at else []

    try:
        play_with_osc(show_path, {}, stop_at=16, presenter_class=QueryingPresenter)
    finally:
        receiver.close()
    by_address = {m.address: m.params for m in replies}
    assert by_address["/status/section"] == ["drift"]
    assert by_address["/status/steerable"] == ["psi -1..2, speed 0.05..10"]  # what drift takes
    assert by_address["/status/refused"] == [  # /cutoff: the section does not steer it
        "/cutoff",
        "section 'drift' does not steer cutoff (steerable now: psi -1..2, speed 0.05..10)",
    ]
    assert by_address["/status/paused"] in ([0], [False])
    assert 0.0 < by_address["/status/show_time_s"][0] < 5.0
    assert "/status/end" in by_address


def status_query() -> bytes:
    """The bytes of an OSC message `/status` with no arguments."""
    from pythonosc.osc_message_builder import OscMessageBuilder

    return OscMessageBuilder(address="/status").build().dgram


def test_glide_to_a_seed_over_osc(show_path):
    presenter = play_with_osc(show_path, {4: [("/latent/seed", [7, 0.0])]}, stop_at=20)
    renderer = renderer_for(show_path)
    G = renderer.generators["tiny"]
    with torch.inference_mode():
        target = to_uint8(G.synthesis(torch.from_numpy(renderer.target_ws("tiny", 7))[None]))[0]
    after = [pixels for _, pixels in presenter.shown[12:]]
    assert after and all(np.abs(p.astype(int) - target.astype(int)).max() <= 1 for p in after)


def example_message(example: str) -> tuple[str, list]:
    """'/show/seek 90' -> ('/show/seek', [90]) with ints, floats and strings as typed."""
    address, *words = example.split()
    values: list = []
    for word in words:
        for kind in (int, float):
            try:
                values.append(kind(word))
                break
            except ValueError:
                continue
        else:
            values.append(word)
    return address, values


EVERY_ADDRESS_SHOW = """\
models:
  tiny: {path: tiny.safetensors, psi: 0.8}
sensors:
  proximity: {target: psi, input: [0, 1023], output: [1.0, 0.3]}
sections:
  - name: intro
    model: tiny
    duration_s: 30
    walk: {space: z, path: slerp, closed: true, seconds_per_keyframe: 0.5,
           keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}
    directions:
      - {file: directions/smile.npy, intensity: 0}
"""


def test_every_documented_address_steers_a_running_show(show_path):
    """Each address's example, sent to a show that takes them all (no `live` block: the core
    parameters; a direction `smile`, a sensor `proximity`, a section `intro`), reaches the loop.
    The expensive ones come within the per-sender budget (a burst of 4, then 2 a second)."""
    from installation.control.addresses import ADDRESSES, parse
    from installation.control.mailbox import is_expensive

    path = show_path.parent / "every_address.yaml"
    path.write_text(EVERY_ADDRESS_SHOW, encoding="utf-8")
    (path.parent / "directions").mkdir(exist_ok=True)
    np.save(path.parent / "directions" / "smile.npy", np.ones(8, np.float32))
    messages = [example_message(entry.example) for entry in ADDRESSES]
    messages += [("/show/play", []), ("/show/fade", [1.0, 0.0]), ("/show/speed", [1.0])]
    expected_commands = sum(len(parse(address, values)) for address, values in messages)
    expensive = [m for m in messages if any(is_expensive(c) for c in parse(*m))]
    cheap = [m for m in messages if m not in expensive]
    script: dict[int, list] = {4: list(cheap)}
    for index, message in enumerate(expensive):  # 20 frames/s: 10 frames are 0.5 s
        script.setdefault(4 + 10 * max(index - 3, 0), []).append(message)
    settings = AppSettings(show_path=path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, osc_host="127.0.0.1", osc_port=0,
                           osc_allow=("loopback",))  # fmt: skip
    commands: queue.SimpleQueue = queue.SimpleQueue()
    board = app.StatusBoard()
    osc = app.start_osc(settings, commands, board)
    try:
        presenter = SendingPresenter(osc.port, script, stop_at=max(script) + 20)
        try:
            assert app.play(settings, renderer_for(path), presenter, commands=commands,
                            board=board) == 0  # fmt: skip
        finally:
            presenter.close()
    finally:
        osc.stop()
    c = osc.counters
    assert (c.accepted, c.rejected, c.deferred) == (len(messages), 0, 0)
    assert board.loop is not None
    assert board.loop.stats.commands == expected_commands  # every command reached the loop
    assert board.loop.stats.failed_commands == 0
    tail = [frame for frame, _ in presenter.shown[-5:]]
    assert len({f.show_time_s for f in tail}) == len(tail)  # playing again after it all
