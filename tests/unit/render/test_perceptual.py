"""Perceptual re-timing: change tables on a tiny SG3, steadier image change, the disk cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from installation.render import perceptual
from installation.render.perceptual import render_small, segment_retime_tables
from installation.render.resolve import resolve_section
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.timeline import Timeline
from tiny_models import tiny_sg3, wide_tiny_sg3

W_DIM, NUM_WS, SIZE = 8, 16, 16


@pytest.fixture(scope="module")
def G() -> Any:
    """A tiny random StyleGAN3-T (z 8, w 8, 16 ws, 16 px)."""
    return tiny_sg3()


@pytest.fixture(autouse=True)
def _fresh_memory() -> None:
    perceptual.clear_memory_cache()


def write_show(tmp_path: Path, walk: str) -> Show:
    """A one-section show (model m) with the given walk (flow YAML)."""
    (tmp_path / "m.pkl").write_bytes(b"")
    text = "models:\n  m: {path: m.pkl}\nsections:\n  - name: s\n    model: m\n    loops: 1\n"
    (tmp_path / "show.yaml").write_text(text + f"    walk: {walk}\n")
    return load_show(tmp_path / "show.yaml")


def uneven_cubic(tmp_path: Path) -> Show:
    """Cubic walk k0 -> k1 (very near k0) -> k2: the spline overshoots, speed is very uneven."""
    rng = np.random.default_rng(3)
    k0 = rng.standard_normal((NUM_WS, W_DIM)).astype(np.float32)
    k2 = rng.standard_normal((NUM_WS, W_DIM)).astype(np.float32) * 2
    k1 = k0 + 0.05 * (k2 - k0)
    for name, w in (("k0", k0), ("k1", k1), ("k2", k2)):
        np.save(tmp_path / f"{name}.npy", w)
    return write_show(
        tmp_path,
        "{path: cubic, perceptual: true, seconds_per_keyframe: 4,"
        " keyframes: [{w: k0.npy}, {w: k1.npy}, {w: k2.npy}]}",
    )


def test_tables_monotone_from_0_to_1(tmp_path: Path, G: Any) -> None:
    """One table per segment (closed adds one, noise loop has one), increasing from 0 to 1."""
    show = uneven_cubic(tmp_path)
    latents = resolve_section(show.sections[0], G, perceptual_cache=None)
    assert latents.retime is not None and len(latents.retime) == 2
    for table in latents.retime:
        assert table.shape == (17,) and table[0] == 0.0 and table[-1] == 1.0
        assert np.all(np.diff(table) > 0)
    closed = write_show(tmp_path, "{path: linear, closed: true, keyframes: [{seed: 1}, {seed: 2}]}")
    section = closed.sections[0]
    tables = segment_retime_tables(section, resolve_section(section, G), G, samples=4, size_px=8)
    assert len(tables) == 2 and all(t.shape == (5,) for t in tables)
    loop = write_show(tmp_path, "{space: z, path: noise_loop, noise: {seed: 1, radius: 1}}")
    section = loop.sections[0]
    tables = segment_retime_tables(section, resolve_section(section, G), G, samples=4, size_px=8)
    assert len(tables) == 1 and tables[0][0] == 0.0 and tables[0][-1] == 1.0
    plain = write_show(tmp_path, "{path: linear, keyframes: [{seed: 1}, {seed: 2}]}")
    assert resolve_section(plain.sections[0], G).retime is None


def step_cv(G: Any, timeline: Timeline, start_s: float, length_s: float, frames: int) -> float:
    """Coefficient of variation of the image change between equally spaced frames."""
    times = start_s + np.linspace(0.0, length_s, frames + 1)
    latents = np.stack([timeline.at(float(t)).latent for t in times])
    images = render_small(G, latents, "w", SIZE)
    steps = (images[1:] - images[:-1]).abs().flatten(1).mean(1).numpy()
    return float(steps.std() / steps.mean())


def test_retiming_makes_change_steadier(tmp_path: Path, G: Any) -> None:
    """Per segment, the per-frame image change varies much less with the re-timing than without."""
    show = uneven_cubic(tmp_path)
    latents = resolve_section(show.sections[0], G, perceptual_cache=None)
    # the segments keep their own durations here (no time shares), so each window is a segment
    retimed = Timeline(show, {"s": replace(latents, retime_shares=None)})
    plain = Timeline(show, {"s": replace(latents, retime=None, retime_shares=None)})
    cvs = [
        (step_cv(G, plain, start_s, 4.0, 32), step_cv(G, retimed, start_s, 4.0, 32))
        for start_s in (0.0, 4.0)
    ]
    print("cv of per-frame change (plain, retimed) per segment:", cvs)
    (before_0, after_0), (before_1, after_1) = cvs
    assert before_0 > 1.0 and after_0 < 0.3 * before_0  # the overshooting segment
    assert after_1 < before_1


def test_disk_cache_reused_and_broken_file_rewritten(
    tmp_path: Path, G: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second load reads the file (no rendering); a corrupt file is ignored and rewritten."""
    show = write_show(tmp_path, "{path: slerp, keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}")
    section = show.sections[0]
    latents = resolve_section(section, G)
    cache = tmp_path / "cache"
    first = segment_retime_tables(section, latents, G, samples=4, size_px=8, cache_dir=cache)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1

    calls = []
    real_render = perceptual.render_small

    def counting_render(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(1)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(perceptual, "render_small", counting_render)
    perceptual.clear_memory_cache()
    second = segment_retime_tables(section, latents, G, samples=4, size_px=8, cache_dir=cache)
    assert calls == [] and all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))

    files[0].write_bytes(b"not a zip file")
    perceptual.clear_memory_cache()
    third = segment_retime_tables(section, latents, G, samples=4, size_px=8, cache_dir=cache)
    assert calls == [1]
    np.testing.assert_allclose(np.stack(third), np.stack(first), atol=1e-12)
    with np.load(files[0]) as npz:
        np.testing.assert_allclose(npz["tables"], np.stack(first), atol=1e-12)


def test_loop_with_psi_automation_changes_at_a_steady_rate(tmp_path: Path) -> None:
    """A closed loop whose psi breathes: with psi measured and the time shared among segments,
    the per-frame change varies by <= 0.15 (coefficient of variation, issue 14), far less than
    with plain timing or with per-segment tables that leave psi out (the re-timing before)."""
    G = wide_tiny_sg3()  # w_dim 64: seeds far apart in directions of their own, as in real models
    show = write_show(
        tmp_path,
        "{path: cubic, closed: true, easing: linear, perceptual: true, seconds_per_keyframe: 4,"
        " keyframes: [{seed: 1}, {seed: 2}, {seed: 3}]}\n"
        "    automation: {psi: {keys: [[0, 0.3], [6, 1.0], [12, 0.3]], easing: sine_in_out}}",
    )
    section = show.sections[0]
    latents = resolve_section(section, G, perceptual_cache=None)
    no_psi = replace(section, automation=replace(section.automation, psi=None))
    old_tables = segment_retime_tables(no_psi, latents, G)
    variants = {
        "plain": replace(latents, retime=None, retime_shares=None),
        "before": replace(latents, retime=old_tables, retime_shares=None),
        "now": latents,
    }
    cvs = {
        name: step_cv(G, Timeline(show, {"s": variant}), 0.0, 12.0, 60)
        for name, variant in variants.items()
    }
    print("cv of per-frame change over the loop:", cvs)
    assert latents.retime_shares is not None and latents.retime_shares.sum() == pytest.approx(1)
    assert cvs["now"] <= 0.15
    assert cvs["now"] < 0.5 * min(cvs["before"], cvs["plain"])
