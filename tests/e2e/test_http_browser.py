"""The web remote page in a real browser (Debian's chromium + chromium-driver, via selenium)
against a real headless show on 127.0.0.1 (issue 16).

The show plays on the main thread (as in run_show.py); the browser is driven from a second
thread, on a phone-sized window: the page loads, shows the section, a tap on "next" moves the
show to the next section and the status line and section list follow, the psi slider set to 0
makes every frame the average image (the thumbnail stops changing), and the page shows the
thumbnail; then the camera pad moves the camera, a seed glide starts, a preset is saved and
recalled, and a bookmark is stored, each from the page. Skipped where chromium, chromedriver
or selenium are missing (scripts/setup.sh --dev installs them).
"""

from __future__ import annotations

import io
import queue
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from two_section_show import renderer_for, write_show

from installation import app
from installation.display.offscreen import OffscreenPresenter
from installation.run.presets_file import read_presets
from installation.settings import AppSettings

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs chromium and chromium-driver")  # fmt: skip

TIMEOUT_S = 20.0
PHONE = {"width": 390, "height": 844, "pixelRatio": 2.0}


class UntilDone(OffscreenPresenter):
    """An offscreen presenter that quits once `done` is set (or after TIMEOUT_S * 2)."""

    def __init__(self, done: threading.Event):
        super().__init__()
        self.done = done
        self.deadline_s = time.monotonic() + 2 * TIMEOUT_S

    def poll(self) -> list[str]:
        return ["quit"] if self.done.is_set() or time.monotonic() > self.deadline_s else []


def browser():
    """Headless chromium with a phone-sized window, driven by Debian's chromedriver."""
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)  # fmt: skip
    # a phone's viewport (a headless window is at least 500 px wide)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def thumbnail(url: str) -> np.ndarray:
    """The server's thumbnail of the frame on screen, decoded."""
    with urllib.request.urlopen(url + "api/thumbnail.jpg", timeout=5) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())), dtype=int)


def change(url: str, wait_s: float = 0.6) -> int:
    """The largest pixel change of the thumbnail over `wait_s`."""
    first = thumbnail(url)
    time.sleep(wait_s)
    return int(np.abs(thumbnail(url) - first).max())


def drive(url: str, board: app.StatusBoard, found: dict) -> None:
    """The browser's part: load, read, move the psi slider, tap next."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    try:
        wait = WebDriverWait(driver, TIMEOUT_S)
        driver.get(url)
        wait.until(lambda d: "drift" in d.find_element(By.ID, "status").text)
        found["first"] = driver.find_element(By.ID, "status").text
        wait.until(lambda d: d.execute_script("return $('thumbnail').naturalWidth") > 0)
        found["walking"] = wait.until(lambda d: change(url) > 8)  # the walk moves
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#parameters input"))
        slider = driver.find_element(By.CSS_SELECTOR, "#parameters input[data-name='psi']")
        driver.execute_script("arguments[0].value = 0;"
                              "arguments[0].dispatchEvent(new Event('input'))", slider)
        wait.until(lambda d: board.status().get("live/psi") == 0.0)
        # once the frames rendered before it have gone by, the picture stands still
        found["average"] = wait.until(lambda d: change(url) <= 2)
        driver.find_element(By.ID, "next").click()
        wait.until(lambda d: "second" in d.find_element(By.ID, "status").text)
        found["second"] = driver.find_element(By.ID, "status").text
        current = driver.find_elements(By.CSS_SELECTOR, "#sections button.current")
        found["current"] = [button.text for button in current]
        # the second section steers the camera: the pad shows; a tap off centre moves it
        pad = wait.until(lambda d: d.find_element(By.ID, "camera-pad")
                         if d.find_element(By.ID, "camera-pad").is_displayed() else None)
        found["sliders"] = [e.get_attribute("data-name") for e in
                            driver.find_elements(By.CSS_SELECTOR, "#parameters input")]
        size = pad.size
        ActionChains(driver).move_to_element_with_offset(
            pad, size["width"] // 4, -size["height"] // 4).click().perform()  # right, up
        found["camera"] = wait.until(lambda d: (board.status().get("live/translate_x", 0) > 0.2
                                                and board.status().get("live/translate_y", 0)
                                                < -0.2) and board.status())
        driver.find_element(By.ID, "seed").send_keys("4321")
        driver.find_element(By.CSS_SELECTOR, "#glide-form button[type='submit']").click()
        found["glide"] = wait.until(lambda d: "live/latent/weight" in board.status())
        driver.find_element(By.ID, "preset-name").send_keys("look")
        driver.find_element(By.CSS_SELECTOR, "#preset-form button[type='submit']").click()
        button = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                      "#presets button[data-preset='look']"))
        found["presets"] = [b.text for b in
                            driver.find_elements(By.CSS_SELECTOR, "#presets button")]
        button[0].click()  # recall: answered ok
        driver.find_element(By.ID, "bookmark-name").send_keys("dawn")
        driver.find_element(By.CSS_SELECTOR, "#bookmark-form button[type='submit']").click()
        found["bookmark"] = wait.until(
            lambda d: "latents/dawn.npy" in d.find_element(By.ID, "bookmark").text
            and d.find_element(By.ID, "bookmark").text)
        found["memory"] = driver.find_element(By.ID, "status").text
        found["widths"] = driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
    finally:
        driver.quit()


def test_the_web_remote_steers_a_show_in_a_real_browser(tmp_path: Path):
    show_path = write_show(tmp_path, duration_s=60)
    settings = AppSettings(show_path=show_path, is_headless=True, fps=20.0, is_blending=False,
                           is_watching=False, http_host="127.0.0.1", http_port=0)  # fmt: skip
    commands: queue.SimpleQueue = queue.SimpleQueue()
    board = app.StatusBoard()
    server = app.start_http(settings, commands, board)
    assert server is not None
    done = threading.Event()
    found: dict = {}
    errors: list[BaseException] = []

    def run_browser() -> None:
        try:
            drive(server.url, board, found)
        except BaseException as exc:  # reported on the main thread
            errors.append(exc)
        finally:
            done.set()

    renderer = renderer_for(show_path)
    driver_thread = threading.Thread(target=run_browser, name="browser")
    try:
        presenter = UntilDone(done)
        driver_thread.start()
        try:
            assert app.play(settings, renderer, presenter, commands=commands, board=board) == 0
        finally:
            presenter.close()
    finally:
        done.set()
        driver_thread.join(TIMEOUT_S * 2)
        server.stop()
    if errors:
        raise errors[0]
    assert "playing" in found["first"] and "drift" in found["first"]
    assert found["walking"] and found["average"]  # psi 0: every frame is w_avg's
    assert "second" in found["second"] and found["current"] == ["second"]
    assert found["widths"] == [PHONE["width"]] * 2  # fits the phone: no sideways scrolling
    assert "translate_x" not in found["sliders"] and "psi" in found["sliders"]  # on the pad
    assert found["glide"]
    assert found["presets"] == ["look"]
    assert "look" in read_presets(show_path.with_name(show_path.stem + ".presets.yaml"))
    assert found["bookmark"] == "last bookmark: {w: latents/dawn.npy}"
    assert (tmp_path / "latents" / "dawn.npy").is_file()
    assert " MB" in found["memory"] and "mem " in found["memory"]
