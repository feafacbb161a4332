"""The show the end-to-end control tests steer: a tiny StyleGAN3, two sections, live psi."""

from __future__ import annotations

from pathlib import Path

from installation.models import load_generator, save_generator
from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from tiny_models import tiny_sg3


def show_text(duration_s: float = 30) -> str:
    """Sections 'drift' (live psi in -1..2, no slew, 60 s hold) and 'second', each duration_s."""
    return f"""\
models:
  tiny: {{path: tiny.safetensors, psi: 0.8}}
sections:
  - name: drift
    model: tiny
    duration_s: {duration_s:g}
    walk: {{space: z, path: slerp, closed: true, seconds_per_keyframe: 0.5,
           keyframes: [{{seed: 1}}, {{seed: 2}}, {{seed: 3}}]}}
    live:
      psi: {{range: [-1, 2], slew_s: 0, hold_s: 60}}
  - name: second
    model: tiny
    duration_s: {duration_s:g}
    walk: {{space: z, path: slerp, closed: true, seconds_per_keyframe: 0.5,
           keyframes: [{{seed: 4}}, {{seed: 5}}]}}
"""


def write_show(root: Path, duration_s: float = 30) -> Path:
    """The tiny model and show.yaml in `root`; the show file's path."""
    save_generator(tiny_sg3(), root / "tiny.safetensors")
    path = root / "show.yaml"
    path.write_text(show_text(duration_s), encoding="utf-8")
    return path


def renderer_for(show_path: Path) -> ShowRenderer:
    """A CPU ShowRenderer of the show at show_path, exact precision."""
    show = load_show(show_path)
    generators = {e.name: load_generator(e.path, "cpu", "exact") for e in show.models}
    return ShowRenderer(show, generators, "cpu")
