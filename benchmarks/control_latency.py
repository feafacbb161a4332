"""Control latency, side by side: a command -> the first displayed frame that shows it, for OSC,
the WebSocket of the web remote and MIDI, in one run against one running headless show.

Each source in turn (round robin, so all meet the same show and machine load) sets psi to 0
(every frame becomes the w_avg image) or 2, every --interval seconds, while the demo model
plays headless (render thread, lookahead, offscreen EGL presenter; benchmarks/osc_latency.py's
show, psi with slew 0). The latency of a send is the time until the first *displayed* frame that
shows the new psi. Printed: median and p95 per source and the ratio of each median to OSC's
(the issue's bar: WebSocket and MIDI within 1.2x OSC's median).

- OSC: python-osc's UDP client to the show's OscControl (app.start_osc), `/psi <value>`;
- WebSocket: one aiohttp WebSocket to the show's HttpControl /ws, {"address": "/psi", ...};
- MIDI: a CC through a real MIDI port (benchmarks/midi_source.py: a virtual port of this process)
  into a MidiControl as the show has it (control/midi.py), mapped to psi; needs mido +
  python-rtmidi and a MIDI system: ALSA's sequencer, else a JACK server, which this script starts
  (`jackd -d dummy`, no sound card) when jackd is installed and none answers. Left out, with the
  reason printed, where there is none.

    python benchmarks/control_latency.py                 # ~2 minutes on CPU
    python benchmarks/control_latency.py --sends 30 --device cuda
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import cpu_description  # noqa: E402
from osc_latency import SHOW_TEXT, TimingPresenter, average_flags, latency_ms  # noqa: E402

from installation import app  # noqa: E402
from installation.render.show_renderer import ShowRenderer  # noqa: E402
from installation.settings import AppSettings  # noqa: E402

Send = Callable[[float], Awaitable[None]]  # psi -> sent
BAR = 1.2  # WebSocket and MIDI medians within this times OSC's


def osc_source(port: int) -> Send:
    from pythonosc.udp_client import SimpleUDPClient

    client = SimpleUDPClient("127.0.0.1", port)

    async def send(psi: float) -> None:
        client.send_message("/psi", psi)

    return send


async def websocket_source(url: str, stack: list) -> Send:
    import aiohttp

    session = aiohttp.ClientSession()
    address = url.replace("http://", "ws://") + "ws"
    ws = await session.ws_connect(address, protocols=("latent-walk",))
    stack.extend([ws, session])

    async def drain() -> None:  # status, thumbnails and answers: read and dropped
        async for _ in ws:
            pass

    stack.append(asyncio.ensure_future(drain()))

    async def send(psi: float) -> None:
        await ws.send_str(json.dumps({"address": "/psi", "args": [psi]}))

    return send


def midi_source(board: app.StatusBoard, commands: queue.SimpleQueue) -> tuple[Send | None, str]:
    """(send, "") through a real MIDI port into the show's MIDI input, or (None, why not)."""
    try:
        import midi_source
    except ImportError as err:
        return None, f"no MIDI libraries ({err}; pip install 'latent-walk[midi]')"
    try:
        port_send, closer = midi_source.open_psi_port(board, commands)
    except Exception as err:  # no MIDI system, no JACK server: say so, measure the others
        return None, f"{type(err).__name__}: {err}"

    async def send(psi: float) -> None:
        port_send(psi)

    send.close = closer  # type: ignore[attr-defined]
    return send, ""


def jack_for_midi() -> subprocess.Popen | None:
    """A dummy JACK server for the MIDI path when no MIDI system answers and jackd is here."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # asking must not start one by itself
    try:
        from installation.control.midi import answering

        answering("auto")
        return None  # ALSA's sequencer or a running JACK server answers
    except Exception:  # noqa: BLE001  (no MIDI system, or no MIDI libraries: try JACK)
        pass
    from jack_dummy import start_dummy_jack

    return start_dummy_jack()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=24, help="sends per source")
    parser.add_argument("--interval", type=float, default=0.7, help="seconds between sends")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fast")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--no-midi", action="store_true", help="OSC and WebSocket only")
    args = parser.parse_args()
    print(cpu_description())
    server = None if args.no_midi else jack_for_midi()
    try:
        measure(args)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)


def measure(args: argparse.Namespace) -> None:
    """Run the show with the three sources, measure, print."""
    with tempfile.TemporaryDirectory() as tmp:
        show_path = Path(tmp) / "show.yaml"
        show_path.write_text(SHOW_TEXT, encoding="utf-8")
        settings = AppSettings(show_path=show_path, is_headless=True, fps=args.fps,
                               is_blending=False, is_watching=False, device=args.device,
                               precision=args.precision, osc_port=0, osc_host="127.0.0.1",
                               http_port=0, http_host="127.0.0.1")  # fmt: skip
        show = app.load_startup(settings)
        commands: queue.SimpleQueue = queue.SimpleQueue()
        board = app.StatusBoard()
        osc = app.start_osc(settings, commands, board, show)
        http = app.start_http(settings, commands, board, show)
        assert osc is not None and http is not None
        presenter = TimingPresenter((1280, 720))
        sends: list[tuple[str, float, float]] = []  # (source, sent at, psi)
        skipped: dict[str, str] = {}
        renderers: list[ShowRenderer] = []

        def build(build_settings: AppSettings, playing=None):
            built = app.build_renderer(build_settings, playing or show)
            renderers.append(built[0])
            return built

        async def drive() -> None:
            stack: list = []
            sources: dict[str, Send] = {"OSC": osc_source(osc.port)}
            sources["WebSocket"] = await websocket_source(http.url, stack)
            if args.no_midi:
                skipped["MIDI"] = "--no-midi"
            else:
                midi, why = midi_source(board, commands)
                if midi is None:
                    skipped["MIDI"] = why
                else:
                    sources["MIDI"] = midi
            await asyncio.sleep(3.0)  # warm-up
            psi = 2.0
            names = list(sources)
            for k in range(args.sends * len(names)):
                name = names[(k + k // len(names)) % len(names)]  # rotate who goes first
                psi = 0.0 if psi == 2.0 else 2.0
                sends.append((name, time.perf_counter(), psi))
                await sources[name](psi)
                await asyncio.sleep(args.interval)
            for item in stack:
                if isinstance(item, asyncio.Future):
                    item.cancel()
                else:
                    await item.close()
            for send in sources.values():
                getattr(send, "close", lambda: None)()

        driver = threading.Thread(target=lambda: asyncio.run(drive()), name="driver", daemon=True)
        driver.start()
        original_poll = presenter.poll
        presenter.poll = lambda: ["quit"] if not driver.is_alive() else original_poll()
        try:
            app.play(settings, build, presenter, commands=commands, board=board)
        finally:
            presenter.close()
            http.stop()
            osc.stop()
            driver.join()
        renderer = renderers[0]
    flags = average_flags(renderer, presenter.shown, args.device)
    latencies: dict[str, list[float]] = {}
    for name, sent_s, psi in sends:
        value = latency_ms(flags, sent_s, psi)
        latencies.setdefault(name, []).extend([] if value is None else [value])
    print(f"\ncommand -> first displayed frame that shows it; demo model, {args.device} "
          f"{args.precision}, {args.fps:g} fps display, one show, sources in turn every "
          f"{args.interval:g} s\n")  # fmt: skip
    print("| source | sends seen | median (ms) | p95 (ms) | median / OSC's |")
    print("|---|---:|---:|---:|---:|")
    osc_median = statistics.median(latencies["OSC"]) if latencies.get("OSC") else float("nan")
    for name, values in latencies.items():
        if not values:
            print(f"| {name} | 0 | - | - | - |")
            continue
        median = statistics.median(values)
        print(f"| {name} | {len(values)} of {sum(s[0] == name for s in sends)} | {median:.0f} | "
              f"{np.percentile(values, 95):.0f} | {median / osc_median:.2f}x |")  # fmt: skip
    for name, why in skipped.items():
        print(f"| {name} | left out: {why} | | | |")
    verdicts = [f"{name} {'within' if statistics.median(v) <= BAR * osc_median else 'OVER'} "
                f"{BAR:g}x OSC's median" for name, v in latencies.items()
                if name != "OSC" and v]  # fmt: skip
    if verdicts:
        print("\nbar: " + "; ".join(verdicts))


if __name__ == "__main__":
    main()
