"""Render-loop pipeline speed: generation only, display only, end to end, and the lookahead gain.

For each model (the embedded demo model and random-weight 256 px StyleGAN2 config-f / StyleGAN3-T
networks, see benchmarks/generator.py):

- generation only: ShowRenderer.render_batch on consecutive show times, batch 1 and batch N,
  frames/s (median of --repeats passes after warm-up), and their ratio (the lookahead gain);
- display only: OffscreenPresenter (EGL) upload + draw of generated frames into a WxH target,
  with and without blending, ctx.finish() after each (so the GL work is counted);
- end to end: `run_show.py --headless` in a subprocess for --seconds with --batch 1 and --batch N,
  from its --stats-json: generated and displayed frames/s, late and dropped frames.

All rows come from one run of this script, measured side by side.

    python benchmarks/pipeline.py                        # demo, sg2-256, sg3t-256 (~5 min on CPU)
    python benchmarks/pipeline.py --models demo --seconds 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

from generator import build  # noqa: E402

from installation.display.offscreen import OffscreenPresenter  # noqa: E402
from installation.models import load_generator, save_generator  # noqa: E402
from installation.render.frame import Frame  # noqa: E402
from installation.render.show_renderer import ShowRenderer  # noqa: E402
from installation.show.load import load_show  # noqa: E402

DEMO_SHOW = ROOT / "shows" / "demo.yaml"
SHOW_TEMPLATE = """\
models:
  bench: {{path: {path}, psi: 0.7}}
sections:
  - name: walk
    model: bench
    loops: 1
    walk:
      space: z
      path: slerp
      closed: true
      easing: sine_in_out
      seconds_per_keyframe: 4
      keyframes: [{{seed: 1}}, {{seed: 2}}, {{seed: 3}}, {{seed: 4}}]
"""


def show_for(model: str, workdir: Path) -> Path:
    """The demo show for the demo model; a one-section slerp loop for a random network."""
    if model == "demo":
        return DEMO_SHOW
    weights = workdir / f"{model}.safetensors"
    if not weights.exists():
        save_generator(build(model), weights)
    show = workdir / f"{model}.yaml"
    show.write_text(SHOW_TEMPLATE.format(path=weights.name), encoding="utf-8")
    return show


def renderer_for(show_path: Path, precision: str, device: str) -> ShowRenderer:
    """A ShowRenderer built as the app builds it."""
    show = load_show(show_path)
    generators = {e.name: load_generator(e.path, device, precision) for e in show.models}
    return ShowRenderer(show, generators, device)


def generation_fps(renderer: ShowRenderer, batch: int, repeats: int, fps: float) -> float:
    """Frames/s of render_batch at this batch size (median pass after two warm-up passes)."""
    times_s = []
    start_s = 5.0
    for k in range(-1, repeats + 1):
        slots = [(i, start_s + (k * batch + i) / fps) for i in range(batch)]
        began_s = time.perf_counter()
        renderer.render_batch(slots)
        if k > 0:
            times_s.append(time.perf_counter() - began_s)
    return batch / statistics.median(times_s)


def display_fps(frames: list[Frame], size_px: tuple[int, int], blend: bool, ticks: int) -> float:
    """Draws/s of the offscreen presenter for a stream of new frames (optionally blended)."""
    presenter = OffscreenPresenter(size_px)
    try:
        for k in range(3):  # warm-up: shader compile, textures
            presenter.present(frames[k % len(frames)])
        presenter.ctx.finish()
        began_s = time.perf_counter()
        for k in range(ticks):
            frame = frames[k % len(frames)]
            if blend:
                following = frames[(k + 1) % len(frames)]
                presenter.present(frame, following, (k % 4) / 4)
            else:
                presenter.present(frame)
            presenter.ctx.finish()
        return ticks / (time.perf_counter() - began_s)
    finally:
        presenter.close()


def end_to_end(show: Path, batch: int, seconds: float, size: str, device: str) -> dict:
    """Stats of a headless run_show.py (its own process) with this lookahead batch."""
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = Path(tmp) / "stats.json"
        command = [
            sys.executable, str(ROOT / "run_show.py"), str(show), "--headless", "--size", size,
            "--duration", str(seconds), "--batch", str(batch), "--no-watch", "--device", device,
            "--stats-json", str(stats_path), "--log-level", "WARNING",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 600)
        if result.returncode != 0:
            raise RuntimeError(f"run_show failed: {result.stderr[-2000:]}")
        return json.loads(stats_path.read_text())


def main() -> None:
    """Measure every model and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="demo,sg2-256,sg3t-256")
    parser.add_argument("--batch", type=int, default=8, help="lookahead batch (vs 1)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=12.0, help="end-to-end run length")
    parser.add_argument("--size", default="1280x720", help="display target")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--precision", default="fast")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            show = show_for(model, Path(tmp))
            renderer = renderer_for(show, args.precision, args.device)
            repeats = args.repeats if model == "demo" else max(2, args.repeats // 2)
            gen_1 = generation_fps(renderer, 1, repeats, args.fps)
            gen_n = generation_fps(renderer, args.batch, repeats, args.fps)
            frames = renderer.render_batch([(i, 5.0 + i / args.fps) for i in range(4)])
            draw = display_fps(frames, (width, height), blend=False, ticks=200)
            draw_blend = display_fps(frames, (width, height), blend=True, ticks=200)
            e2e_1 = end_to_end(show, 1, args.seconds, args.size, args.device)
            e2e_n = end_to_end(show, args.batch, args.seconds, args.size, args.device)
            rows.append((model, frames[0].size_px[0], gen_1, gen_n, draw, draw_blend, e2e_1, e2e_n))
            print(f"measured {model}", file=sys.stderr)
    print(
        f"\nCPU pipeline, precision={args.precision}, device={args.device}, display "
        f"{args.size} offscreen EGL, fps target {args.fps:g}, lookahead batch {args.batch}\n"
    )
    print(
        "| model | px | gen b1 fps | gen bN fps | gain | draw fps | draw+blend fps | e2e b1 "
        "gen fps | e2e bN gen fps | e2e gain | e2e bN display fps | late | dropped | batches |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for model, px, gen_1, gen_n, draw, blend, e2e_1, e2e_n in rows:
        print(
            f"| {model} | {px} | {gen_1:.2f} | {gen_n:.2f} | {gen_n / gen_1:.2f}x | {draw:.0f} | "
            f"{blend:.0f} | {e2e_1['generated_fps']:.2f} | {e2e_n['generated_fps']:.2f} | "
            f"{e2e_n['generated_fps'] / max(e2e_1['generated_fps'], 1e-9):.2f}x | "
            f"{e2e_n['display_fps']:.1f} | {e2e_n['frames_late']} | {e2e_n['frames_dropped']} | "
            f"{e2e_n['batch_sizes']} |"
        )


if __name__ == "__main__":
    main()
