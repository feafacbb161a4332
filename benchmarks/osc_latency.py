"""OSC latency and throughput against a running headless show.

- latency: a real UDP client toggles `/psi` between 0 (every frame becomes the w_avg image) and
  2 every --interval seconds while the demo model plays headless (render thread, lookahead,
  offscreen EGL presenter); for each send, the time until the first *displayed* frame that
  shows the new psi. Median and p95 over --toggles sends.
- throughput: while the show keeps playing, bursts of `/show/speed 1` at fixed rates for
  --burst-s each (per-sender rate limit raised for the test); messages received by the server
  vs sent, so loss at each rate.

    python benchmarks/osc_latency.py                 # ~1 minute on CPU
    python benchmarks/osc_latency.py --device cuda
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from pythonosc.udp_client import SimpleUDPClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installation import app  # noqa: E402
from installation.control.osc import OscControl  # noqa: E402
from installation.display.offscreen import OffscreenPresenter  # noqa: E402
from installation.models.latents import to_uint8  # noqa: E402
from installation.render.show_renderer import ShowRenderer  # noqa: E402
from installation.settings import AppSettings  # noqa: E402

DEMO_MODEL = ROOT / "assets" / "demo" / "demo-sg3.safetensors"
SHOW_TEXT = f"""\
models:
  demo: {{path: {DEMO_MODEL}, psi: 0.8}}
sections:
  - name: drift
    model: demo
    duration_s: 600
    walk: {{space: z, path: slerp, closed: true, seconds_per_keyframe: 2,
           keyframes: [{{seed: 1}}, {{seed: 2}}, {{seed: 3}}, {{seed: 4}}]}}
    live:
      psi: {{range: [-1, 2], slew_s: 0, hold_s: 600}}
      speed: {{range: [0.05, 10]}}
"""


class TimingPresenter(OffscreenPresenter):
    """Records when each frame was first put on the (offscreen) screen."""

    def __init__(self, size_px: tuple[int, int]) -> None:
        super().__init__(size_px)
        self.shown: list[tuple[float, object]] = []

    def present(self, frame, blend_with=None, mix=0.0) -> None:
        super().present(frame, blend_with, mix)
        self.ctx.finish()
        if not self.shown or self.shown[-1][1] is not frame:
            self.shown.append((time.perf_counter(), frame))


def average_flags(renderer: ShowRenderer, shown: list, device: str) -> list[tuple[float, bool]]:
    """(shown at, whether it is the w_avg image: psi 0) for every frame the presenter showed."""
    G = renderer.generators["demo"]
    with torch.inference_mode():
        ws = G.mapping.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1).to(device)
        average = to_uint8(G.synthesis(ws.float()))[0].astype(int)
    return [(t, np.abs(frame.rgb8().astype(int) - average).mean() < 2.0) for t, frame in shown]


def latency_ms(flags: list[tuple[float, bool]], sent_s: float, psi: float) -> float | None:
    """From a send of psi (0: the average image, else not) to the first frame showing it."""
    want = psi == 0.0
    hit = next((t for t, is_average in flags if t > sent_s and is_average == want), None)
    return None if hit is None else (hit - sent_s) * 1000


def main() -> None:
    """Run the show with OSC, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toggles", type=int, default=16)
    parser.add_argument("--interval", type=float, default=1.5, help="seconds between sends")
    parser.add_argument("--rates", default="500,1000,2000,5000", help="messages/s to try")
    parser.add_argument("--burst-s", type=float, default=2.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fast")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        show_path = Path(tmp) / "show.yaml"
        show_path.write_text(SHOW_TEXT, encoding="utf-8")
        settings = AppSettings(show_path=show_path, is_headless=True, fps=args.fps,
                               is_blending=False, is_watching=False, device=args.device,
                               precision=args.precision)  # fmt: skip
        show = app.load_startup(settings)
        commands: queue.SimpleQueue = queue.SimpleQueue()
        board = app.StatusBoard()
        osc = OscControl("127.0.0.1", 0, commands, board.status, allow=("loopback",),
                         rate_limit_per_s=1e6, heartbeat_s=0)  # fmt: skip
        osc.start()
        presenter = TimingPresenter((1280, 720))
        sends: list[tuple[float, float]] = []
        rates: list[tuple[int, int, int]] = []
        renderers: list[ShowRenderer] = []

        def build(build_settings: AppSettings, playing=None):
            built = app.build_renderer(build_settings, playing or show)
            renderers.append(built[0])
            return built

        def drive() -> None:
            client = SimpleUDPClient("127.0.0.1", osc.port)
            time.sleep(3.0)  # warm-up
            for k in range(args.toggles):
                psi = 0.0 if k % 2 == 0 else 2.0
                sends.append((time.perf_counter(), psi))
                client.send_message("/psi", psi)
                time.sleep(args.interval)
            for rate in (int(r) for r in args.rates.split(",")):
                before = osc.counters.received
                count = int(rate * args.burst_s)
                started = time.perf_counter()
                for i in range(count):
                    client.send_message("/show/speed", 1.0)
                    delay = started + (i + 1) / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                time.sleep(0.5)
                rates.append((rate, count, osc.counters.received - before))

        driver = threading.Thread(target=drive, name="driver", daemon=True)
        driver.start()
        original_poll = presenter.poll
        presenter.poll = lambda: ["quit"] if not driver.is_alive() else original_poll()
        try:
            app.play(settings, build, presenter, commands=commands, board=board)
        finally:
            presenter.close()
            osc.stop()
            driver.join()
        renderer = renderers[0]
    flags = average_flags(renderer, presenter.shown, args.device)
    found = (latency_ms(flags, sent_s, psi) for sent_s, psi in sends)
    latencies_ms = [value for value in found if value is not None]
    print(
        f"\nOSC -> displayed frame, demo model, {args.device} {args.precision}, "
        f"{args.fps:g} fps display, lookahead on (live input drops it to 1 frame)\n"
    )
    print(
        f"latency over {len(latencies_ms)} of {len(sends)} sends: "
        f"median {statistics.median(latencies_ms):.0f} ms, "
        f"p95 {np.percentile(latencies_ms, 95):.0f} ms, max {max(latencies_ms):.0f} ms"
    )
    print("\n| rate sent (msg/s) | sent | received | loss |\n|---:|---:|---:|---:|")
    for rate, sent, received in rates:
        print(f"| {rate} | {sent} | {received} | {100 * (1 - received / sent):.1f} % |")


if __name__ == "__main__":
    main()
