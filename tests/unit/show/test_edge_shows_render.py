"""Validate OK => the show plays: edge-case shows that validate render the first frame of every
section through the real ShowRenderer and timeline (a tiny StyleGAN3 in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from installation.models import save_generator
from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from installation.show.schema import (
    FPS_RANGE,
    MAX_CUTOFF,
    MAX_LAYER,
    MAX_NOISE_HARMONICS,
    MAX_NOISE_RADIUS,
    MAX_NUMBER,
    MAX_PSI,
    MAX_SEED,
    MAX_TIME_S,
    MIN_TIME_S,
    SPEED_RANGE,
)
from installation.walk.sensors import SensorBank
from tiny_models import TINY_W_DIM, tiny_sg3

HEAD = "models:\n  tiny: {path: tiny.safetensors, psi: %s, cutoff: %s, class_index: 99999}\n"
WALK2 = f"{{path: linear, keyframes: [{{seed: 0}}, {{seed: {MAX_SEED}}}]}}"
# one section per edge: each value is the extreme the format allows
SECTIONS = {
    "shortest": f"duration_s: {MIN_TIME_S}, walk: {WALK2}",
    "longest": f"duration_s: {MAX_TIME_S}, walk: {WALK2}",
    "many_loops": f"loops: 1000, walk: {{path: linear, seconds_per_keyframe: {MIN_TIME_S}, "
    "keyframes: [{seed: 1}, {seed: 2}]}",
    "seed_edges": f"duration_s: 2, walk: {{path: slerp, closed: true, keyframes: [{{seed: 0}}, "
    f"{{seed: {MAX_SEED}, psi: {-MAX_PSI}}}, {{random: {MAX_SEED}, psi: {MAX_PSI}}}]}}",
    "long_holds": f"duration_s: 2, walk: {{path: cubic, keyframes: [{{seed: 1, "
    f"hold_s: {MAX_TIME_S}, duration_s: {MIN_TIME_S}}}, {{mean: true}}]}}",
    "noise_edges": f"duration_s: 5, walk: {{path: noise_loop, seconds_per_keyframe: {MIN_TIME_S},"
    f" noise: {{seed: {MAX_SEED}, radius: {MAX_NOISE_RADIUS}, "
    f"harmonics: {MAX_NOISE_HARMONICS}}}}}",
    "noise_denormal_radius": "duration_s: 5, walk: {path: noise_loop, noise: {radius: 1.0e-320}}",
    "random_walk_big": f"duration_s: 3, walk: {{path: random_walk, closed: true, random_walk: "
    f"{{seed: {MAX_SEED}, count: 1000}}, seconds_per_keyframe: {MIN_TIME_S}}}",
    "z_walk": f"duration_s: 2, walk: {{space: z, path: slerp, keyframes: [{{seed: 3}}, "
    f"{{mean: true, psi: {MAX_PSI}}}]}}",
    "lfo_edges": f"duration_s: 2, walk: {WALK2}, automation: {{"
    f"psi: {{lfo: {{period_s: {MIN_TIME_S}, amplitude: {MAX_PSI}, phase: {MAX_NUMBER}}}}}, "
    f"rotate_deg: {{lfo: {{period_s: {MAX_TIME_S}, amplitude: {MAX_NUMBER}}}}}, "
    f"translate_x: {{keys: [[0, {-MAX_NUMBER}], [{MAX_TIME_S}, {MAX_NUMBER}]]}}, "
    f"cutoff: {{keys: [[0, 0], [{MIN_TIME_S}, {MAX_CUTOFF}]]}}, "
    f"noise_strength: {{keys: [[0, {MAX_NUMBER}]]}}}}",
    "mixing_directions": f"duration_s: 2, walk: {WALK2}, mixing: [{{layers: [{MAX_LAYER}, "
    f'{MAX_LAYER}], from: {{seed: {MAX_SEED}}}}}, {{layers: "0-", from: {{mean: true}}}}], '
    f'directions: [{{file: d.npy, layers: "{MAX_LAYER}-", intensity: {MAX_NUMBER}}}, '
    f"{{file: dirs.npz, index: 1, scale: sigma, intensity: {{lfo: {{period_s: {MIN_TIME_S}, "
    f"amplitude: {MAX_NUMBER}}}}}}}]",
    "w_files": "duration_s: 2, transition: {kind: image_crossfade, duration_s: 10000000}, "
    "walk: {path: linear, keyframes: [{w: w.npy}, {projected: p.npz}, {z: z.npy}]}",
    "crossfade_long": f"duration_s: 2, transition: {{kind: crossfade, duration_s: {MAX_TIME_S}}},"
    f" walk: {WALK2}",
}


# sensor mappings at the edges: ranges a denormal apart are refused, these are the extremes kept
SENSORS = (
    "sensors:\n"
    f"  wide: {{target: psi, input: [{-MAX_NUMBER}, {MAX_NUMBER}], output: [{MAX_NUMBER}, "
    f"{-MAX_NUMBER}], curve: log, dead_band: {MAX_NUMBER}, timeout_s: {MAX_TIME_S}, index: 15, "
    "smoothing: {kind: one_euro, min_cutoff_hz: 1.0e-7, beta: 1000000, d_cutoff_hz: 1000}}\n"
    "  narrow: {target: speed, input: [0, 1.0e-6], output: [0, 1], curve: exp, timeout_s: 0, "
    f"smoothing: {{kind: exponential, time_constant_s: {MIN_TIME_S}}}}}\n"
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SG3 and the latent files the corpus names."""
    root = tmp_path_factory.mktemp("edges")
    G = tiny_sg3()
    save_generator(G, root / "tiny.safetensors")
    rng = np.random.default_rng(0)
    np.save(root / "w.npy", rng.standard_normal((G.num_ws, TINY_W_DIM)).astype(np.float32))
    np.save(root / "z.npy", rng.standard_normal(TINY_W_DIM).astype(np.float32))
    np.save(root / "d.npy", np.full(TINY_W_DIM, 1e-30, dtype=np.float32))
    np.savez(root / "p.npz", w=rng.standard_normal(TINY_W_DIM).astype(np.float32))
    np.savez(root / "dirs.npz", directions=rng.standard_normal((3, TINY_W_DIM)),
             std=np.array([1.0, 1e-38, 3.0]), names=np.array(["a", "b", "c"]))  # fmt: skip
    return root


def write_show(folder: Path, name: str, settings: str, psi: str, cutoff: str) -> Path:
    """A show of every SECTIONS entry and SENSORS with these show settings and psi/cutoff."""
    sections = "".join(
        f"  - {{name: {key}, model: tiny, {body}}}\n" for key, body in SECTIONS.items()
    )
    path = folder / name
    head = f"show: {settings}\n" + SENSORS + HEAD % (psi, cutoff)
    path.write_text(head + "sections:\n" + sections)
    return path


@pytest.mark.parametrize(
    ("settings", "psi", "cutoff"),
    [
        (f"{{speed: {SPEED_RANGE[0]}, output: {{fps: {FPS_RANGE[0]}, size_px: [1, 1]}}}}",
         str(-MAX_PSI), "1"),
        (f"{{speed: {SPEED_RANGE[1]}, output: {{fps: {FPS_RANGE[1]}}}, "
         f"reload: {{crossfade_s: {MAX_TIME_S}}}}}", str(MAX_PSI), str(MAX_CUTOFF)),
    ],
    ids=["slowest", "fastest"],
)  # fmt: skip
def test_every_section_of_an_edge_show_renders_its_first_frame(
    folder: Path, settings: str, psi: str, cutoff: str
) -> None:
    show = load_show(write_show(folder, "edges.yaml", settings, psi, cutoff))  # validates
    assert [s.name for s in show.sections] == list(SECTIONS)
    renderer = ShowRenderer(show, {"tiny": tiny_sg3()}, "cpu")
    timeline = renderer.timeline
    assert np.isfinite(sum(timeline.lengths_s))
    for index, section in enumerate(show.sections):
        start_s = timeline.section_start_s(index)
        frame = renderer.render(index, start_s)
        assert frame.pixels.shape == (3, 16, 16), section.name
        # the section's own frame: the timeline places its start inside it
        assert timeline.at(start_s).section_name == section.name
    bank = SensorBank(show.sensors)
    for wall_s in (0.0, 1e-9, 0.5, 2 * MAX_TIME_S):
        for name in bank.names:
            for value in (-1e300, 0.0, 5e-7, 1e300):
                out = bank.feed(name, [value] * 16, wall_s)
                assert out is not None and np.isfinite(out.value), (name, value, wall_s)
