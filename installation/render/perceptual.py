"""Perceptual re-timing of a walk (`walk.perceptual: true`): the image changes at a steady rate.

Once, when the show loads, each segment of the walk is rendered small at evenly spaced path phases
(no easing), about SAMPLES_PER_S per second of the segment; the mean absolute change between
consecutive images gives a cumulative change table per segment (monotone, 0 -> 1). The timeline
maps the eased segment phase through the (smooth) inverse of that table
(`installation/walk/timeline.py`).

A walk of several segments also shares its moving time among them by their image change (each
within 1/3 and 3 times its own duration), so a short hop between two similar seeds does not crawl
while a long one races.

psi automation is part of what is measured: each sample is truncated by the psi the section has
at the moment the retimed walk passes it (at low psi the same path step changes the picture less,
so the walk hurries there). Where it passes depends on the tables, so they are measured twice:
once with psi at the plain timing, then at the timing those tables give. Tables are cached in
memory and, optionally, on disk.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from installation.models.latents import map_z
from installation.show.schema import ModelEntry, Section
from installation.walk.easing import ease
from installation.walk.timeline import (
    evaluate,
    segment_count,
    segment_latent,
    segment_timing,
)

log = logging.getLogger(__name__)

BATCH = 16
SAMPLES_PER_S = 4  # table samples per second of the longest segment ...
SAMPLES_MIN, SAMPLES_MAX = 16, 64  # ... within these bounds
SHARE_RANGE = (1 / 3, 3.0)  # a segment's retimed duration, relative to the show's
PSI_PASSES = 3  # measurements with psi automation: at the plain timing, then twice re-timed
CACHE_VERSION = 3  # 2: psi automation measured, samples per second; 3: time shares
UNIFORM_MIX = 1e-3  # share of a uniform table mixed in, so tables are strictly increasing

Retime = tuple[tuple[np.ndarray, ...], np.ndarray | None]  # (tables, shares)
_memory: dict[tuple[Any, ...], Retime] = {}


def default_cache_dir() -> Path:
    """~/.cache/latent-walk/perceptual (XDG_CACHE_HOME honoured)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "latent-walk" / "perceptual"


def clear_memory_cache() -> None:
    """Forget every in-memory table (tests, reloads)."""
    _memory.clear()


def _walk_signature(section: Section) -> bytes:
    """What shapes the measured frames: the walk and the psi/cutoff automation (reprs)."""
    automation = section.automation
    return repr((CACHE_VERSION, section.walk, automation.psi, automation.cutoff)).encode()


def _disk_key(
    section: Section, keyframes: np.ndarray, entry: ModelEntry | None, samples: int, size_px: int
) -> str:
    """sha1 over the model file (path, size, mtime), the walk, the latents and the settings."""
    digest = hashlib.sha1()
    if entry is not None:
        path = Path(entry.path)
        digest.update(str(path.resolve() if str(path) else path).encode())
        try:
            stat = path.stat()
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        except OSError:
            pass
        digest.update(f"{entry.psi}:{entry.cutoff}:{entry.class_index}".encode())
    digest.update(_walk_signature(section))
    digest.update(f"{samples}:{size_px}:{keyframes.shape}:{keyframes.dtype}".encode())
    digest.update(np.ascontiguousarray(keyframes).tobytes())
    return digest.hexdigest()


def _read_cache(path: Path, n_segments: int, samples: int) -> Retime | None:
    """(tables, shares) from a cache file, or None when it is missing, broken or does not fit."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            tables = np.asarray(npz["tables"], dtype=np.float64)
            shares = np.asarray(npz["shares"], dtype=np.float64) if "shares" in npz else None
    except Exception as exc:  # a broken file of any kind is ignored (and rewritten)
        log.warning("ignoring broken perceptual cache %s: %s", path, exc)
        return None
    fits = tables.shape == (n_segments, samples + 1) and np.all(np.isfinite(tables))
    if shares is not None:
        fits = fits and shares.shape == (n_segments,) and bool(np.all(shares > 0))
        shares = shares if len(shares) > 1 else None
    if not fits:
        log.warning("ignoring perceptual cache %s: unexpected content", path)
        return None
    return tuple(tables), shares


def _write_cache(path: Path, retime: Retime) -> None:
    """Write (tables, shares) atomically; failures only log."""
    tables, shares = retime
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        if shares is None:
            np.savez(tmp, tables=np.stack(tables))
        else:
            np.savez(tmp, tables=np.stack(tables), shares=shares)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write perceptual cache %s: %s", path, exc)


def _device(G: Any) -> torch.device:
    """The device of G's parameters (cpu when it has none)."""
    params = list(G.parameters()) if hasattr(G, "parameters") else []
    return params[0].device if params else torch.device("cpu")


def _to_ws(
    G: Any, latents: torch.Tensor, space: str, entry: ModelEntry | None, truncate: bool = True
) -> torch.Tensor:
    """[N, num_ws, w_dim] ws from [N, num_ws, w_dim] (space w) or [N, z_dim] (space z).

    z is mapped with the entry's psi, or with none when `truncate` is false.
    """
    if space == "w":
        return latents
    psi = entry.psi if entry is not None and truncate else 1.0
    if getattr(G.mapping, "w_avg", None) is None:
        psi = 1.0
    class_index = entry.class_index if entry is not None else None
    cutoff = entry.cutoff if entry is not None else None
    return map_z(G, latents, class_index, psi, cutoff)


def render_small(
    G: Any,
    latents: np.ndarray,
    space: str,
    size_px: int,
    entry: ModelEntry | None = None,
    truncation: tuple[np.ndarray, int | None] | None = None,
) -> torch.Tensor:
    """Images of latents [N, ...] downsampled to [N, C, size_px, size_px] float32 (cpu).

    `truncation`: (psi [N], cutoff) applied as psi automation does (rows [:cutoff] pulled
    towards w_avg): to w as it is, or to z mapped without truncation; None: z mapped with the
    entry's psi, w as it is.
    """
    device = _device(G)
    out = []
    with torch.inference_mode():
        for start in range(0, len(latents), BATCH):
            batch = torch.from_numpy(np.asarray(latents[start : start + BATCH], np.float32))
            ws = _to_ws(G, batch.to(device), space, entry, truncate=truncation is None)
            if truncation is not None:
                psi, cutoff = truncation
                ws = _truncate(G, ws, psi[start : start + BATCH], cutoff)
            img = G.synthesis(ws, noise_mode="const").float()  # [B, C, H, W]
            if img.shape[-1] != size_px or img.shape[-2] != size_px:
                img = F.interpolate(img, size=(size_px, size_px), mode="area")
            out.append(img.cpu())
    return torch.cat(out)


def _truncate(G: Any, ws: torch.Tensor, psi: np.ndarray, cutoff: int | None) -> torch.Tensor:
    """ws [N, num_ws, w_dim] with rows [:cutoff] at w_avg + psi * (ws - w_avg), psi [N]."""
    w_avg = getattr(G.mapping, "w_avg", None)
    if w_avg is None:
        return ws
    scale = torch.from_numpy(np.asarray(psi, np.float32)).to(ws.device)[:, None, None]
    rows = slice(0, cutoff)
    ws = ws.clone()
    ws[:, rows] = w_avg + scale * (ws[:, rows] - w_avg)
    return ws


def change_table(images: torch.Tensor) -> np.ndarray:
    """Normalised cumulative mean absolute change [N] (0 -> 1) along images [N, C, H, W]."""
    steps = (images[1:] - images[:-1]).abs().flatten(1).mean(1).double().numpy()  # [N - 1]
    grid = np.linspace(0.0, 1.0, len(images))
    total = float(steps.sum())
    if not np.isfinite(total) or total <= 0:
        return grid
    cumulative = np.concatenate([[0.0], np.cumsum(steps)]) / total
    table = (1.0 - UNIFORM_MIX) * cumulative + UNIFORM_MIX * grid
    table[0], table[-1] = 0.0, 1.0
    return table


def sample_count(section: Section, n_keyframes: int) -> int:
    """Table samples per segment: SAMPLES_PER_S per second of the longest segment, bounded."""
    longest_s = max((d for _, d, _ in segment_timing(section, n_keyframes)), default=0.0)
    return int(np.clip(math.ceil(SAMPLES_PER_S * longest_s), SAMPLES_MIN, SAMPLES_MAX))


def _passing_times(
    section: Section, n_keyframes: int, retime: Retime | None, samples: int
) -> np.ndarray:
    """Walk seconds [n_segments, samples + 1] at which the walk passes each table sample.

    With `retime` the retimed walk reaches path phase q when its eased phase equals the
    table's value at q, on the shared-out durations; without, when the eased phase equals q.
    """
    tables, shares = retime if retime is not None else (None, None)
    grid = np.linspace(0.0, 1.0, samples + 1)
    dense = np.linspace(0.0, 1.0, 1025)
    times = []
    timing = segment_timing(section, n_keyframes, shares)
    for index, (start_s, duration_s, easing) in enumerate(timing):
        eased = grid if tables is None else np.asarray(tables[index], np.float64)
        curve = np.asarray(ease(easing, dense), np.float64)  # eased phase of each plain phase
        phase = np.interp(eased, curve, dense)  # the plain (time) phase of each eased phase
        times.append(start_s + phase * duration_s)
    return np.stack(times)


def time_shares(section: Section, n_keyframes: int, totals: np.ndarray) -> np.ndarray | None:
    """Each segment's share of the moving time, by its image change `totals` [n_segments].

    Bounded to SHARE_RANGE times the segment's own share of the show's durations; None for a
    walk of one segment or one without change.
    """
    totals = np.asarray(totals, np.float64)
    if len(totals) < 2 or not np.all(np.isfinite(totals)) or totals.sum() <= 0:
        return None
    durations = np.array([d for _, d, _ in segment_timing(section, n_keyframes)])
    nominal = durations / durations.sum()
    shares = np.clip(totals / totals.sum(), nominal * SHARE_RANGE[0], nominal * SHARE_RANGE[1])
    for _ in range(8):  # renormalise, keeping the bounds
        shares = np.clip(shares / shares.sum(), nominal * SHARE_RANGE[0], nominal * SHARE_RANGE[1])
    return shares / shares.sum()


def _measure(
    section: Section,
    points: np.ndarray,
    space: str,
    G: Any,
    size_px: int,
    entry: ModelEntry | None,
    truncation: tuple[np.ndarray, int | None] | None,
    n_keyframes: int,
    samples: int,
) -> Retime:
    """(tables, shares) from the rendered points (truncated as given)."""
    images = render_small(G, points, space, size_px, entry, truncation)
    n_segments = len(points) // (samples + 1)
    parts = [images[i * (samples + 1) : (i + 1) * (samples + 1)] for i in range(n_segments)]
    totals = np.array([float((p[1:] - p[:-1]).abs().flatten(1).mean(1).sum()) for p in parts])
    tables = tuple(change_table(part) for part in parts)
    return tables, time_shares(section, n_keyframes, totals)


def segment_retime_tables(
    section: Section,
    latents: Any,
    G: Any,
    samples: int | None = None,
    size_px: int = 64,
    entry: ModelEntry | None = None,
    cache_dir: Path | None = None,
) -> tuple[np.ndarray, ...]:
    """Cumulative image-change table per walk segment (float64 [samples + 1], 0 -> 1, increasing).

    The tables of section_retime(), which takes the same arguments.
    """
    return section_retime(section, latents, G, samples, size_px, entry, cache_dir)[0]


def section_retime(
    section: Section,
    latents: Any,
    G: Any,
    samples: int | None = None,
    size_px: int = 64,
    entry: ModelEntry | None = None,
    cache_dir: Path | None = None,
) -> Retime:
    """(one change table per walk segment, each segment's share of the moving time or None).

    Args:
        section: the section whose walk is measured.
        latents: its resolved latents (SectionLatents; only `keyframes` and `space` are read).
        G: the section's generator.
        samples: steps per segment (samples + 1 renders per segment); None: sample_count().
        size_px: side of the downsampled images compared.
        entry: the model entry (psi/cutoff/class for z walks; model path for the disk key).
        cache_dir: directory of the on-disk cache, or None for memory only.
    Returns:
        Tables float64 [samples + 1] (0 -> 1, increasing; noise_loop: one for the whole loop)
        and shares float64 [n_segments] summing to 1 (None for one segment).
    """
    keyframes = np.asarray(latents.keyframes, dtype=np.float32)
    space = getattr(latents, "space", section.walk.space)
    n_keyframes = len(keyframes)
    if samples is None:
        samples = sample_count(section, n_keyframes)
    key = (
        id(G),
        section.name,
        _walk_signature(section),
        samples,
        size_px,
        hashlib.sha1(np.ascontiguousarray(keyframes).tobytes()).hexdigest(),
    )
    if key in _memory:
        return _memory[key]
    n_segments = segment_count(section, n_keyframes)
    cache_file = None
    if cache_dir is not None:
        cache_file = (
            Path(cache_dir) / f"{_disk_key(section, keyframes, entry, samples, size_px)}.npz"
        )
        cached = _read_cache(cache_file, n_segments, samples)
        if cached is not None:
            _memory[key] = cached
            return cached
    grid = np.linspace(0.0, 1.0, samples + 1)
    points = np.concatenate(
        [segment_latent(section, keyframes, i, grid) for i in range(n_segments)]
    )  # [n_segments * (samples + 1), ...]
    measure = lambda truncation: _measure(  # noqa: E731
        section, points, space, G, size_px, entry, truncation, n_keyframes, samples
    )
    psi_signal = section.automation.psi
    if psi_signal is None:
        retime = measure(None)
    else:
        cutoff_signal = section.automation.cutoff
        cutoff = entry.cutoff if entry is not None else None
        retime = None
        for _ in range(PSI_PASSES):  # psi where the plain walk passes, then the retimed one
            times = _passing_times(section, n_keyframes, retime, samples).reshape(-1)
            psi = np.array([evaluate(psi_signal, float(t)) for t in times])
            if cutoff_signal is not None:  # a changing cutoff: the one at the walk's middle
                cutoff = max(int(round(evaluate(cutoff_signal, float(np.median(times))))), 0)
            retime = measure((psi, cutoff))
    _memory[key] = retime
    if cache_file is not None:
        _write_cache(cache_file, retime)
    return retime
