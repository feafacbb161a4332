"""Live overrides through the real renderer: glide to a seed or a stored latent, live mixing,
noise mode, all applied by the render loop on the render thread (fake wall clock)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from live_loop import SHOW_TEXT, FakeClock, start_loop, step_frames

from installation.models.latents import to_uint8
from installation.render.frame import Frame
from installation.render.loop import LoopSettings, RenderLoop
from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from installation.walk.commands import GlideTo, SensorInput, SetMixing, SetNoiseMode
from tiny_models import tiny_sg3


@pytest.fixture
def setup(tmp_path: Path):
    (tmp_path / "tiny.safetensors").write_bytes(b"")  # the loader only checks that it exists
    (tmp_path / "show.yaml").write_text(SHOW_TEXT, encoding="utf-8")
    show = load_show(tmp_path / "show.yaml")
    renderer = ShowRenderer(show, {"tiny": tiny_sg3()}, "cpu")
    clock = FakeClock()
    loop, frames, commands = start_loop(renderer, clock)
    return loop, renderer, clock, frames, commands, tmp_path


def image_of(renderer: ShowRenderer, ws: np.ndarray) -> np.ndarray:
    G = renderer.generators["tiny"]
    with torch.inference_mode():
        return to_uint8(G.synthesis(torch.from_numpy(ws)[None]))[0]


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_glide_to_a_seed_reaches_its_image_and_holds(setup):
    loop, renderer, clock, frames, commands, _ = setup
    step_frames(loop, clock, frames, 3)
    commands.put(GlideTo(seed=7, glide_s=0.0))
    target = image_of(renderer, renderer.target_ws("tiny", 7))
    later = step_frames(loop, clock, frames, 6)[1:]
    assert all(close(f.rgb8(), target) for f in later)  # the walk goes on, the image stays
    assert not close(step_frames(loop, clock, frames, 1)[0].rgb8(), image_of(
        renderer, renderer.target_ws("tiny", 8)))  # fmt: skip


def test_glide_weight_rises_over_the_glide_time(setup):
    loop, renderer, clock, frames, commands, _ = setup
    step_frames(loop, clock, frames, 2)
    commands.put(GlideTo(seed=7, glide_s=2.0))
    target = image_of(renderer, renderer.target_ws("tiny", 7))
    glide = step_frames(loop, clock, frames, 30)
    distances = [np.abs(f.rgb8().astype(int) - target.astype(int)).mean() for f in glide]
    assert distances[0] > 5 and distances[-1] < 0.6  # arrived after 2 s (frames at 10 fps)
    assert distances[5] > distances[15] > distances[-1]


def test_glide_to_a_stored_latent_and_a_bad_one(setup, caplog):
    loop, renderer, clock, frames, commands, tmp_path = setup
    ws = renderer.target_ws("tiny", 11)
    (tmp_path / "latents").mkdir()
    np.savez(tmp_path / "latents" / "found.npz", w=ws)
    np.save(tmp_path / "latents" / "wrong.npy", np.zeros((3, 5), np.float32))
    commands.put(GlideTo(latent="wrong", glide_s=0.0))
    commands.put(GlideTo(latent="missing", glide_s=0.0))
    step_frames(loop, clock, frames, 1)
    assert "shape (3, 5)" in caplog.text and "no missing.npy or missing.npz" in caplog.text
    commands.put(GlideTo(latent="found", glide_s=0.0))
    later = step_frames(loop, clock, frames, 4)[1:]
    assert all(close(f.rgb8(), image_of(renderer, ws)) for f in later)


def test_live_mixing_replaces_rows_and_off_restores(setup):
    loop, renderer, clock, frames, commands, _ = setup
    commands.put(SetMixing(seed=5, first=4, stop=None))
    mixed = step_frames(loop, clock, frames, 2)[-1]
    source = renderer.target_ws("tiny", 5)
    params = loop.player.params_at(mixed.show_time_s, clock())
    ws = renderer.ws(params).numpy()
    np.testing.assert_allclose(ws[4:], source[4:], atol=1e-6)
    commands.put(SetMixing(seed=None))
    step_frames(loop, clock, frames, 1)
    assert loop.player.mixing is None


def test_noise_mode_override_is_checked(setup, caplog):
    loop, renderer, clock, frames, commands, _ = setup
    commands.put(SetNoiseMode("random"))
    commands.put(SetNoiseMode("loud"))
    step_frames(loop, clock, frames, 1)
    assert loop.player.noise_mode == "random"
    assert "noise mode 'loud' dropped" in caplog.text


SENSOR_SHOW = (
    SHOW_TEXT
    + """\
sensors:
  proximity:
    target: psi
    input: [0, 1000]
    output: [1.0, 0.0]
    smoothing: none
    timeout_s: 5
"""
)


def test_sensor_readings_steer_their_target_and_unknown_ones_are_logged(tmp_path, caplog):
    (tmp_path / "tiny.safetensors").write_bytes(b"")
    (tmp_path / "show.yaml").write_text(SENSOR_SHOW, encoding="utf-8")
    show = load_show(tmp_path / "show.yaml")
    renderer = ShowRenderer(show, {"tiny": tiny_sg3()}, "cpu")
    clock = FakeClock()
    frames: queue.Queue[Frame] = queue.Queue(maxsize=1000)
    commands: queue.SimpleQueue = queue.SimpleQueue()
    loop = RenderLoop(renderer, frames, commands, LoopSettings(fps=10.0, max_batch=1), clock)
    loop._start(threading.Event())
    commands.put(SensorInput("proximity", (1000.0,)))  # closest: psi 0, the average image
    commands.put(SensorInput("doorbell", (1.0,)))
    G = renderer.generators["tiny"]
    average = image_of(renderer, G.mapping.w_avg.expand(G.num_ws, -1).numpy())
    later = step_frames(loop, clock, frames, 5)[2:]
    assert all(close(f.rgb8(), average) for f in later)
    assert "sensor 'doorbell' is not in the show (it has: proximity)" in caplog.text
    clock.now_s += 5 + 1  # the sensor goes quiet past its timeout (+ the glide back)
    back = step_frames(loop, clock, frames, 2)[-1]
    assert not close(back.rgb8(), average)


def test_osc_options_command_line_then_show_then_defaults(tmp_path):
    from installation.app import osc_options
    from installation.settings import AppSettings

    (tmp_path / "show.yaml").write_text(
        SHOW_TEXT.replace("models:", "show:\n  osc: {port: 9100, allow: [loopback]}\nmodels:"),
        encoding="utf-8",
    )
    (tmp_path / "tiny.safetensors").write_bytes(b"")
    show = load_show(tmp_path / "show.yaml")
    options = osc_options(AppSettings(), show)
    assert options is not None
    assert (options.port, options.allow, options.host) == (9100, ("loopback",), "0.0.0.0")
    options = osc_options(AppSettings(osc_port=9200, osc_allow=("any",)), show)
    assert (options.port, options.allow) == (9200, ("any",))
    assert osc_options(AppSettings(), None) is None  # no port anywhere: no OSC


def test_a_stored_latent_announcing_terabytes_is_dropped_from_its_header(setup, caplog):
    loop, renderer, clock, frames, commands, tmp_path = setup
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    (tmp_path / "latents").mkdir()
    (tmp_path / "latents" / "huge.npy").write_bytes(
        b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    )  # 4 TiB announced in 128 bytes: nothing is allocated
    commands.put(GlideTo(latent="huge", glide_s=0.0))
    assert len(step_frames(loop, clock, frames, 2)) == 2  # the loop renders on
    assert "glide to 'huge' dropped" in caplog.text
    assert "an array here is at most 64 MiB" in caplog.text
    assert loop.player.latent_target is None
