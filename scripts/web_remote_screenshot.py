"""Remake docs/web-remote.png: the web remote on a phone-sized screen, playing a show.

    python scripts/web_remote_screenshot.py [--show shows/demo.yaml] [--out docs/web-remote.png]

Starts the show headless with --http-port on 127.0.0.1, opens the page in Debian's headless
chromium (selenium, as tests/e2e/test_http_browser.py does) at a phone's width, waits for the
thumbnail and the sliders, and saves the whole page as a PNG. Needs `scripts/setup.sh --dev`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHONE_WIDTH_PX, PAGE_HEIGHT_PX, PIXEL_RATIO = 390, 1180, 2.0
TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_playing(url: str, show: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if show.poll() is not None:
            raise SystemExit(f"the show ended with exit status {show.returncode}")
        try:
            with urllib.request.urlopen(url + "api/status", timeout=2) as response:
                if json.load(response).get("state") == "playing":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the show did not play within {TIMEOUT_S:g} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=Path, default=ROOT / "shows" / "demo.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "web-remote.png")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        raise SystemExit("needs chromium and chromium-driver (scripts/setup.sh --dev)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    show = subprocess.Popen([sys.executable, str(ROOT / "run_show.py"), str(args.show),
                             "--headless", "--http-port", str(port), "--log-level", "WARNING"],
                            cwd=ROOT)  # fmt: skip
    try:
        wait_playing(url, show)
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--hide-scrollbars"):
            options.add_argument(argument)  # fmt: skip
        metrics = {"width": PHONE_WIDTH_PX, "height": PAGE_HEIGHT_PX, "pixelRatio": PIXEL_RATIO}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
        try:
            wait = WebDriverWait(driver, TIMEOUT_S)
            driver.get(url)
            wait.until(lambda d: d.execute_script("return $('thumbnail').naturalWidth") > 0)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#parameters input"))
            time.sleep(1.0)  # a fresh thumbnail and status line
            args.out.write_bytes(driver.get_screenshot_as_png())
        finally:
            driver.quit()
    finally:
        show.terminate()
        show.wait(30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
