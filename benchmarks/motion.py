"""Motion of the demo show: how steady the picture changes (issue 14, "motion that never lurches").

Renders shows/demo.yaml on the embedded demo model (fast precision, as a show plays) and prints,
side by side in one run:
- the seeds section (a closed perceptual loop with psi automation): the coefficient of variation
  of the frame-to-frame change (mean absolute pixel change, 8-bit levels) while the walk moves
  (its 2 s hold left out: there only psi changes the picture), with plain timing, with the
  per-segment re-timing that ignored psi (the one before issue 14), and with today's (psi
  measured, time shared among segments);
- each section's mean step per frame (the drift section must visibly move);
- across each section change with a transition: the largest ratio between consecutive steps
  (steps under STILL_LEVELS left out: a walk that eases in from a stop starts from still frames,
  where any ratio is meaningless).

    python benchmarks/motion.py              # about 2 minutes on 2 CPU cores
    python benchmarks/motion.py --fps 10
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import cpu_description  # noqa: E402 (benchmarks/machine.py, beside this script)

from installation.models import load_generator  # noqa: E402
from installation.render import perceptual  # noqa: E402
from installation.render.show_renderer import ShowRenderer  # noqa: E402
from installation.show.load import load_show  # noqa: E402
from installation.walk.timeline import Timeline, segment_timing  # noqa: E402

STILL_LEVELS = 0.1  # a step below this (8-bit levels) is a still picture: an ease-in's first frames


def steps(renderer: ShowRenderer, times: np.ndarray) -> np.ndarray:
    """Mean absolute change in 8-bit levels between the frames at consecutive `times`."""
    slots = list(enumerate(float(t) for t in times))
    frames = []
    for first in range(0, len(slots), 16):
        frames += renderer.render_batch(slots[first : first + 16])
    images = np.stack([f.pixels.astype(np.float64) for f in frames]) * 127.5
    return np.abs(np.diff(images, axis=0)).reshape(len(images) - 1, -1).mean(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=5.0, help="frame rate of the loop check")
    parser.add_argument("--show", type=Path, default=ROOT / "shows" / "demo.yaml")
    args = parser.parse_args()
    print(cpu_description())
    show = load_show(args.show)
    generators = {
        name: load_generator(entry.path).set_precision("fast")
        for name, entry in ((m, show.model(m)) for m in {s.model for s in show.sections})
    }
    perceptual.clear_memory_cache()
    renderer = ShowRenderer(show, generators, "cpu")
    timeline = renderer.timeline
    seeds = show.sections[0]
    latents = timeline.latents[seeds.name]
    G = generators[seeds.model]
    no_psi = replace(seeds, automation=replace(seeds.automation, psi=None))
    before = perceptual.segment_retime_tables(no_psi, latents, G, samples=16)  # issue 3's
    variants = {
        "plain timing": replace(latents, retime=None, retime_shares=None),
        "re-timed, psi ignored (before)": replace(latents, retime=before, retime_shares=None),
        "re-timed, psi measured, shared (now)": latents,
    }
    length_s = timeline.lengths_s[0] - seeds.transition.duration_s  # up to its crossfade
    times = np.arange(0.0, length_s, 1.0 / args.fps)
    print(f"\nseeds loop, {len(times)} frames at {args.fps:g} fps, holds left out:")
    n_keyframes = len(latents.keyframes)
    for name, variant in variants.items():
        renderer.timeline = Timeline(show, {**timeline.latents, seeds.name: variant})
        step = steps(renderer, times)
        timing = segment_timing(seeds, n_keyframes, variant.retime_shares)
        middle = (times[1:] + times[:-1]) / 2  # the time of each step
        walking = np.zeros(len(step), dtype=bool)
        for start_s, duration_s, _ in timing:
            walking |= (middle >= start_s) & (middle <= start_s + duration_s)
        moving = step[walking]
        cv = moving.std() / moving.mean()
        print(f"  {name:40s} cv {cv:.3f}  mean step {moving.mean():.2f} levels")
    renderer.timeline = timeline
    print("\nper section, mean step per frame at 30 fps (10 s from the section's 5th second):")
    for index, section in enumerate(show.sections):
        start_s = timeline.section_start_s(index) + 5.0
        step = steps(renderer, start_s + np.arange(0.0, 10.0, 1.0 / 3.0))  # 3 fps, then per frame
        print(f"  {section.name:10s} {step.mean() / 10.0:.2f} levels/frame")
    print("\nsection changes at 30 fps: largest ratio between consecutive steps")
    for index, section in enumerate(show.sections):
        window_s = section.transition.duration_s
        if section.transition.kind == "cut" or window_s <= 0:
            continue
        change_s = timeline.section_start_s(index) + timeline.lengths_s[index]
        step = steps(renderer, np.arange(change_s - window_s - 0.3, change_s + 0.5, 1 / 30))
        pairs = (step[1:] >= STILL_LEVELS) & (step[:-1] >= STILL_LEVELS)
        ratios = step[1:][pairs] / step[:-1][pairs]
        worst = float(np.max(np.maximum(ratios, 1 / ratios)))
        print(f"  {section.name} -> next ({section.transition.kind} {window_s:g} s): {worst:.2f}")


if __name__ == "__main__":
    main()
