"""Live sound in through a real audio server with no sound card: a JACK dummy server, a player
process feeding a click track into the show's input port, the show's AudioInput analysing it on
its own thread (issue 17). Runs in CI (scripts/setup.sh --dev installs jackd2 and PortAudio)."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from jack_server import jack_server

from installation.display.offscreen import OffscreenPresenter
from installation.show.load import load_show
from installation.show.schema import AudioEvent, AudioMessage, AudioSettings
from installation.walk.commands import JumpSection, SensorInput, SetTempo
from tiny_models import tiny_show_tree

TESTS = Path(__file__).resolve().parents[1]
WAIT_S = 15.0  # upper bounds for waiting, never timing assertions


@pytest.fixture
def jack_audio() -> Iterator[str]:
    """A dummy JACK server, with PortAudio (sounddevice) let go of it before it stops."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as err:
        pytest.skip(f"needs sounddevice and PortAudio (scripts/setup.sh --dev): {err}")
    with jack_server() as name:
        try:
            yield name
        finally:
            sd._terminate()  # PortAudio's JACK client must go before the server does
    sd._initialize()


def jack_ports() -> set[str]:
    return set(subprocess.run(["jack_lsp"], capture_output=True, text=True, timeout=10).stdout
               .split())  # fmt: skip


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_S:g} s for {what}")
        time.sleep(0.05)


class Player:
    """tests/sound_player.py in its own process, its output connected to `into`."""

    def __init__(self, into: str, bpm: float, seconds: float) -> None:
        before = jack_ports()
        self.process = subprocess.Popen(
            [sys.executable, str(TESTS / "sound_player.py"), "--bpm", str(bpm), "--seconds",
             str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self.process.stdout is not None and self.process.stdin is not None
        assert self.process.stdout.readline().strip() == "ready"
        outputs = [p for p in jack_ports() - before if "out" in p]
        assert len(outputs) == 1, outputs
        subprocess.run(["jack_connect", outputs[0], into], check=True, timeout=10)

    def play(self) -> float:
        """Start the clicks; the player's perf_counter when it did."""
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline().split()[1])

    def close(self) -> None:
        try:
            self.process.wait(WAIT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def test_clicks_played_into_the_input_become_onset_and_beat_readings(jack_audio):
    from installation.control.audio_in import AudioInput

    before = jack_ports()
    commands: queue.SimpleQueue = queue.SimpleQueue()
    wanted = {"audio.onset", "audio.level", "audio.tempo"}
    rules = SimpleNamespace(audio=AudioSettings(on_beat=AudioEvent(
        (AudioMessage("/show/next"), AudioMessage("/show/prev")), every=2)))  # fmt: skip
    with AudioInput("default", commands, lambda: wanted, lambda: rules) as audio:
        wait_for(lambda: audio.is_open, "the input to open")
        inputs = [p for p in jack_ports() - before if "in" in p]
        assert len(inputs) == 1, inputs
        player = Player(inputs[0], bpm=120.0, seconds=6.0)
        try:
            started = player.play()
            time.sleep(6.3)
        finally:
            player.close()
    readings: dict[str, list[float]] = {name: [] for name in wanted}
    jumps, tempos = [], []
    while not commands.empty():
        command = commands.get_nowait()
        if isinstance(command, JumpSection):  # the on_beat rule: next, prev, next, ...
            jumps.append(command.delta)
            continue
        if isinstance(command, SetTempo):  # each new estimate, for sections counting in beats
            tempos.append(command.bpm)
            continue
        assert isinstance(command, SensorInput) and command.name in wanted
        readings[command.name].append(command.values[0])
    onset = np.asarray(readings["audio.onset"])
    pulses = np.flatnonzero((onset[1:] > 0.9) & (onset[:-1] <= 0.9))
    assert abs(len(pulses) - 12) <= 1  # 120 BPM for 6 s from 0.25 s: 12 clicks
    assert max(readings["audio.level"]) > -30.0  # the clicks are loud
    assert abs(readings["audio.tempo"][-1] - 120.0) <= 2.0  # live: a few hops' jitter
    assert tempos and abs(tempos[-1] - 120.0) <= 2.0 and len(tempos) < 40  # changes only
    assert started > 0 and audio.dropped_blocks == 0
    # beats come once the tempo is known (about 2 s in): every 2nd beat sends next, prev, ...
    assert len(jumps) >= 3 and jumps == [1, -1] * (len(jumps) // 2) + [1] * (len(jumps) % 2)


def test_a_missing_device_is_one_warning_and_the_input_keeps_trying(jack_audio, caplog):
    from installation.control.audio_in import AudioInput

    with caplog.at_level("WARNING"), AudioInput("no such card", queue.SimpleQueue(),
                                                 set) as audio:  # fmt: skip
        wait_for(lambda: "not available" in caplog.text, "the warning")
        assert not audio.is_open and audio.is_running
    assert caplog.text.count("not available") == 1  # retried after 2 s: not yet
    assert "no input device named like 'no such card'" in caplog.text


SHOW_TEXT = """\
models:
  tiny: {path: ../assets/demo/demo-sg3.safetensors}
sections:
  - name: still
    model: tiny
    duration_s: 600
    walk: {space: w, path: linear, keyframes: [{seed: 3}, {seed: 3}]}
    live:
      psi: {range: [0, 2], slew_s: 0, hold_s: 600}
sensors:
  audio.onset: {target: psi, input: [0, 1], output: [0, 2], timeout_s: 600}
"""


class Recording(OffscreenPresenter):
    """A real offscreen presenter that keeps every frame shown and quits when told."""

    def __init__(self, done: threading.Event) -> None:
        super().__init__()
        self.done, self.shown = done, []
        self.deadline_s = time.monotonic() + 4 * WAIT_S

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        if not self.shown or self.shown[-1] is not frame:
            self.shown.append(frame)

    def poll(self) -> list[str]:
        return ["quit"] if self.done.is_set() or time.monotonic() > self.deadline_s else []


def test_a_headless_show_flashes_on_the_clicks_it_hears(jack_audio, tmp_path):
    from installation import app
    from installation.control.mailbox import CommandQueue
    from installation.settings import AppSettings

    show_path = tiny_show_tree(tmp_path, SHOW_TEXT)
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, audio_in="default")  # fmt: skip
    commands = CommandQueue()
    board = app.StatusBoard()
    before = jack_ports()
    audio = app.start_audio(settings, commands, board)
    assert audio is not None
    done = threading.Event()
    errors: list[BaseException] = []

    def play_clicks() -> None:
        try:
            wait_for(lambda: audio.is_open and board.loop is not None, "the input and the show")
            inputs = [p for p in jack_ports() - before if "in" in p]
            player = Player(inputs[0], bpm=100.0, seconds=5.0)
            try:
                player.play()
                time.sleep(5.5)
            finally:
                player.close()
        except BaseException as exc:  # reported on the main thread
            errors.append(exc)
        finally:
            done.set()

    driver = threading.Thread(target=play_clicks, name="player")
    presenter = Recording(done)
    driver.start()
    try:
        assert app.play(settings, app.build_renderer(settings, load_show(show_path))[0],
                        presenter, commands=commands, board=board) == 0  # fmt: skip
    finally:
        presenter.close()
        done.set()
        driver.join(2 * WAIT_S)
        audio.stop()
    if errors:
        raise errors[0]
    images = np.stack([frame.rgb8().astype(int) for frame in presenter.shown])
    distance = np.abs(images - np.median(images, axis=0)).mean(axis=(1, 2, 3))
    threshold = (np.median(distance) + distance.max()) / 2
    flashes = np.flatnonzero((distance[1:] > threshold) & (distance[:-1] <= threshold))
    assert abs(len(flashes) - 8) <= 1  # 100 BPM for 5 s from 0.25 s: 8 clicks
