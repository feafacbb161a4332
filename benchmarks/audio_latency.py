"""Sound onset -> the first displayed frame that reacts, on the live path (issue 17's bar).

A JACK dummy server (no sound card) carries a click track from a player process (this script
with --player) into the show's sound input (run_show.py --audio-in's AudioInput). The show is
the demo model with `audio.onset` mapped onto psi (0 between clicks: the average image; 2 at a
click), slew 0. The player writes down when each click goes out (the JACK period that carries
it, plus its offset in that period); the offscreen presenter writes down when each frame is
shown. The latency of a click is the time until the first shown frame that differs from the
average image. Printed: each click's latency and its analysis part (click -> the onset reading
on the command queue), median and p95, and the bar: 2 generated frames (two frame periods at the
show's frame rate: a reaction cannot be shown before the next display tick, and the frame due
then may have been rendered before the sound came) + the analysis block (one hop).

    python benchmarks/audio_latency.py               # ~1 minute; needs jackd2, sounddevice
    python benchmarks/audio_latency.py --clicks 40 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEMO_MODEL = ROOT / "assets" / "demo" / "demo-sg3.safetensors"
SHOW_TEXT = f"""\
models:
  demo: {{path: {DEMO_MODEL}}}
sections:
  - name: still
    model: demo
    duration_s: 3600
    walk: {{space: w, path: linear, keyframes: [{{seed: 3}}, {{seed: 3}}]}}
    live:
      psi: {{range: [0, 2], slew_s: 0, hold_s: 3600}}
sensors:
  audio.onset: {{target: psi, input: [0, 1], output: [0, 2], timeout_s: 3600}}
"""


def player(clicks: int, interval_s: float) -> None:
    """--player: wait for "go", then play `clicks` clicks; print each one's time as it goes out."""
    import sounddevice as sd

    rate = int(sd.query_devices(None, "output")["default_samplerate"])
    width = round(0.002 * rate)
    click = (0.8 * np.hanning(width)).astype(np.float32)
    starts: list[int] = []
    state = {"sample": -1}

    def callback(out, frames, when, status):
        out.fill(0)
        now_s = time.perf_counter()
        first = state["sample"]
        if first < 0:
            return
        for start in starts:
            if first <= start < first + frames:
                part = click[: first + frames - start]
                out[start - first : start - first + len(part), 0] = part
                print(f"click {now_s + (start - first) / rate:.6f}", flush=True)
        state["sample"] = first + frames

    with sd.OutputStream(channels=1, samplerate=rate, dtype="float32", callback=callback):
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return
        starts.extend(round((0.5 + k * interval_s) * rate) for k in range(clicks))
        state["sample"] = 0
        time.sleep(0.5 + clicks * interval_s + 0.5)
    print("done", flush=True)


def jack_ports() -> set[str]:
    return set(subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.6, help="seconds between clicks")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fast")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--player", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.player:
        player(args.clicks, args.interval)
        return
    from jack_dummy import start_dummy_jack

    server = start_dummy_jack()
    if server is None:
        raise SystemExit("needs jackd (Debian: jackd2)")
    try:
        run(args)
    finally:
        import sounddevice as sd

        sd._terminate()  # PortAudio's JACK client goes before the server does
        server.terminate()
        server.wait(10)


def run(args: argparse.Namespace) -> None:
    from machine import cpu_description
    from osc_latency import TimingPresenter

    from installation import app
    from installation.control.mailbox import CommandQueue
    from installation.settings import AppSettings

    print(cpu_description())
    with tempfile.TemporaryDirectory() as tmp:
        show_path = Path(tmp) / "show.yaml"
        show_path.write_text(SHOW_TEXT, encoding="utf-8")
        settings = AppSettings(show_path=show_path, is_headless=True, fps=args.fps,
                               is_blending=False, is_watching=False, device=args.device,
                               precision=args.precision, audio_in="default")  # fmt: skip
        show = app.load_startup(settings)
        commands = CommandQueue()
        pulses_s: list[float] = []  # when the audio thread sent an onset pulse (>= 0.9)
        put = commands.put

        def put_and_note(command, *rest, **keywords):
            values = getattr(command, "values", (0.0,))
            if getattr(command, "name", "") == "audio.onset" and values[0] >= 0.9:
                pulses_s.append(time.perf_counter())
            return put(command, *rest, **keywords)

        commands.put = put_and_note  # type: ignore[method-assign]
        board = app.StatusBoard()
        before = jack_ports()
        audio = app.start_audio(settings, commands, board)
        assert audio is not None
        presenter = TimingPresenter((640, 360))
        clicks_s: list[float] = []
        done = threading.Event()

        def drive() -> None:
            try:
                while not (audio.is_open and board.loop is not None):
                    time.sleep(0.05)
                inputs = [p for p in jack_ports() - before if "in" in p]
                play = subprocess.Popen([sys.executable, __file__, "--player", "--clicks",
                                         str(args.clicks), "--interval", str(args.interval)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)  # fmt: skip
                assert play.stdout is not None and play.stdin is not None
                play.stdout.readline()  # ready
                outputs = [p for p in jack_ports() - before if "out" in p]
                subprocess.run(["jack_connect", outputs[0], inputs[0]], check=True)
                time.sleep(2.0)  # warm-up: the show renders, the analysis settles
                play.stdin.write("go\n")
                play.stdin.flush()
                for line in play.stdout:
                    if line.startswith("click "):
                        clicks_s.append(float(line.split()[1]))
                play.wait()
            finally:
                done.set()

        driver = threading.Thread(target=drive, name="driver", daemon=True)
        driver.start()
        original_poll = presenter.poll
        presenter.poll = lambda: ["quit"] if done.is_set() else original_poll()

        def build(build_settings: AppSettings, playing=None):
            return app.build_renderer(build_settings, playing or show)

        try:
            app.play(settings, build, presenter, commands=commands, board=board)
        finally:
            presenter.close()
            audio.stop()
            driver.join(10)
        hop_ms = 1000.0 * (audio.analyzer.hop / audio.sample_rate if audio.analyzer else 0.0)
    times = np.asarray([t for t, _ in presenter.shown])
    images = [frame.rgb8().astype(np.int16) for _, frame in presenter.shown]
    gen_ms = statistics.median(frame.gen_ms for _, frame in presenter.shown)
    stack = np.stack(images[len(images) // 4 :])
    quiet = np.median(stack, axis=0)
    distance = np.asarray([np.abs(image - quiet).mean() for image in images])
    threshold = (np.median(distance) + distance.max()) / 2
    heard_ms = []
    for click_s in clicks_s:
        later = [p for p in pulses_s if p > click_s]
        if later:
            heard_ms.append(1000.0 * (later[0] - click_s))
    latencies_ms = []
    for click_s in clicks_s:
        hits = np.flatnonzero((times > click_s) & (distance > threshold))
        if len(hits):
            latencies_ms.append(1000.0 * (times[hits[0]] - click_s))
    print(f"\nsound onset -> first displayed frame that reacts; demo model, {args.device} "
          f"{args.precision}, {args.fps:g} fps display, JACK dummy 48 kHz / 256-sample "
          f"period\n")  # fmt: skip
    print(f"clicks heard: {len(latencies_ms)} of {len(clicks_s)}")
    print("each (ms):", " ".join(f"{v:.0f}" for v in latencies_ms))
    print("analysed (ms):", " ".join(f"{v:.0f}" for v in heard_ms))
    if latencies_ms:
        median, p95 = statistics.median(latencies_ms), float(np.percentile(latencies_ms, 95))
        bar_ms = 2 * 1000.0 / args.fps + hop_ms
        print(f"latency: median {median:.0f} ms, p95 {p95:.0f} ms, max {max(latencies_ms):.0f} ms"
              f"; of it the analysis: median {statistics.median(heard_ms):.0f} ms")
        verdict = "within" if median <= bar_ms else "OVER"
        print(f"bar: 2 generated frames (at {args.fps:g} fps; {gen_ms:.1f} ms to generate "
              f"one) + one analysis hop ({hop_ms:.1f} ms) = {bar_ms:.0f} ms: median {verdict}")


if __name__ == "__main__":
    main()
