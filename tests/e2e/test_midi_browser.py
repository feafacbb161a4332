"""MIDI learn from the web remote in a real browser, against a real headless show with a MIDI
input on real ports (a dummy JACK server, tests/jack_server.py; chromium as in
tests/e2e/test_http_browser.py).

The page shows a "MIDI learn" button under each slider once the status says there is a MIDI
input; a tap on psi's arms the learn, the next knob moved (a CC from a virtual port) is bound and
saved to the show's `<stem>.midi.yaml`, the page says so, and the knob steers psi.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest
from jack_server import jack  # noqa: F401  (fixture)
from test_http_browser import CHROMEDRIVER, CHROMIUM, TIMEOUT_S, UntilDone, browser
from two_section_show import renderer_for, write_show

from installation import app
from installation.run.midi_file import read_bindings
from installation.settings import AppSettings
from installation.walk.midi_map import MidiBinding

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs chromium and chromium-driver")  # fmt: skip


def drive(url: str, board: app.StatusBoard, out, found: dict) -> None:
    """The browser's part: tap psi's MIDI learn, then the knob moves."""
    import mido
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    try:
        wait = WebDriverWait(driver, TIMEOUT_S)
        driver.get(url)
        learn = wait.until(lambda d: [b for b in d.find_elements(
            By.CSS_SELECTOR, "#parameters button[data-learn='psi']") if b.is_displayed()])
        learn[0].click()
        found["waiting"] = wait.until(
            lambda d: "waiting" in d.find_element(By.ID, "midi-learn").text
            and d.find_element(By.ID, "midi-learn").text)
        out.send(mido.Message("control_change", channel=0, control=30, value=64))
        found["learned"] = wait.until(
            lambda d: "-> psi" in d.find_element(By.ID, "midi-learn").text
            and d.find_element(By.ID, "midi-learn").text)
        out.send(mido.Message("control_change", channel=0, control=30, value=0))
        found["psi"] = wait.until(lambda d: board.status().get("live/psi") == -1.0)
    finally:
        driver.quit()


def test_midi_learn_from_the_web_remote(jack, tmp_path: Path):  # noqa: F811
    import mido

    show_path = write_show(tmp_path, duration_s=60)
    out = mido.Backend("mido.backends.rtmidi/UNIX_JACK").open_output("lw-knob", virtual=True)
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, http_host="127.0.0.1", http_port=0,
                           midi_in="lw-knob", midi_api="jack")  # fmt: skip
    commands: queue.SimpleQueue = queue.SimpleQueue()
    router = app.command_router(commands)  # type: ignore[arg-type]
    board = app.StatusBoard()
    server = app.start_http(settings, router, board)
    midi = app.start_midi(settings, router, board)
    assert server is not None and midi is not None
    done = threading.Event()
    found: dict = {}
    errors: list[BaseException] = []

    def run_browser() -> None:
        try:
            drive(server.url, board, out, found)
        except BaseException as exc:  # reported on the main thread
            errors.append(exc)
        finally:
            done.set()

    driver_thread = threading.Thread(target=run_browser, name="browser")
    try:
        presenter = UntilDone(done)
        driver_thread.start()
        try:
            assert app.play(settings, renderer_for(show_path), presenter, commands=commands,
                            board=board) == 0  # fmt: skip
        finally:
            presenter.close()
    finally:
        done.set()
        driver_thread.join(TIMEOUT_S * 2)
        midi.stop()
        server.stop()
        out.close()
    if errors:
        raise errors[0]
    assert found["waiting"] == "MIDI learn: waiting: move a control for psi"
    path = tmp_path / "show.midi.yaml"
    assert found["learned"] == f"MIDI learn: cc 30 ch 1 -> psi (saved to {path})"
    assert read_bindings(path) == [MidiBinding("cc", 30, 1, target="psi")]
    assert found["psi"]  # the learned knob at 0: psi at the section's low end
