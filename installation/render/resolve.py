"""Keyframe latents of a section, resolved once against its generator (mapping runs here only).

`resolve_section(section, G)` turns every keyframe, mixing source and direction of a section into
numpy arrays the pure timeline (`installation/walk/timeline.py`) interpolates. In `space: w` a
keyframe is a ws array [num_ws, w_dim]; in `space: z` a z vector [z_dim].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from installation.errors import ShowError
from installation.models.latents import map_z, seed_to_z
from installation.show.arrays import ArrayFileError, read_direction, read_latent_file
from installation.show.schema import Direction, Keyframe, ModelEntry, Section, Show
from installation.walk.paths import random_walk_seeds


@dataclass(frozen=True, eq=False)
class SectionLatents:
    """Numpy latents of one section; no torch inside.

    keyframes: [K, num_ws, w_dim] (space w) or [K, z_dim] (space z); for noise_loop K = 1, the
    loop's centre. mixing_sources: one ws [num_ws, w_dim] per `section.mixing` entry.
    directions: one [num_ws, w_dim] per `section.directions` entry (a [w_dim] file broadcast).
    retime: for `walk.perceptual` sections, one cumulative image-change table per walk segment
    (render/perceptual.py), which the timeline inverts; None = plain timing. retime_shares:
    each segment's share of the walk's moving time (None: the show's durations).
    """

    space: str
    keyframes: np.ndarray
    mixing_sources: tuple[np.ndarray, ...]
    directions: tuple[np.ndarray, ...]
    w_avg: np.ndarray  # [w_dim]
    num_ws: int
    retime: tuple[np.ndarray, ...] | None = None
    retime_shares: np.ndarray | None = None


def as_ws(array: np.ndarray, num_ws: int, w_dim: int) -> np.ndarray | None:
    """ws [num_ws, w_dim] from a stored w: [w_dim] (broadcast), [num_ws, w_dim] or [1, ...].

    None when the shape is none of these (the caller says where and why).
    """
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.shape == (w_dim,):
        return np.broadcast_to(array, (num_ws, w_dim)).copy()
    if array.shape == (num_ws, w_dim):
        return array
    return None


class _Resolver:
    """Maps seeds and z through one generator and checks file shapes against it."""

    def __init__(self, section: Section, G: Any, entry: ModelEntry | None) -> None:
        self.section = section
        self.G = G
        self.entry = entry or ModelEntry(name=section.model, path=Path())
        self.num_ws = int(G.num_ws)
        self.w_dim = int(G.w_dim)
        self.z_dim = int(G.z_dim)
        w_avg = getattr(G.mapping, "w_avg", None)
        self.has_w_avg = w_avg is not None
        if w_avg is None:
            self.w_avg = np.zeros(self.w_dim, dtype=np.float32)
        else:
            self.w_avg = w_avg.detach().cpu().numpy().astype(np.float32)  # [w_dim]

    def mapping_device(self) -> torch.device:
        """The device the mapping network lives on (its inputs must be there too)."""
        params = list(self.G.mapping.parameters())
        return params[0].device if params else torch.device("cpu")

    def where(self, field: str) -> str:
        """'section 'intro': walk.keyframes[2]' for error messages."""
        return f"section {self.section.name!r}: {field}"

    def map_z(self, z: np.ndarray, psi: float | None) -> np.ndarray:
        """z [z_dim] -> ws [num_ws, w_dim] with the keyframe psi or the model entry's psi."""
        psi = self.entry.psi if psi is None else psi
        if not self.has_w_avg:
            psi = 1.0
        c_dim = int(getattr(self.G, "c_dim", 0))
        class_index = self.entry.class_index
        if c_dim > 0 and class_index is not None and class_index >= c_dim:
            raise ShowError(
                f"model {self.entry.name!r}: class_index {class_index} is "
                f"outside 0..{c_dim - 1} (the model has {c_dim} classes)"
            )
        device = self.mapping_device()
        z_t = torch.from_numpy(z[None].astype(np.float32)).to(device)  # [1, z_dim]
        with torch.inference_mode():
            ws = map_z(self.G, z_t, class_index, psi, self.entry.cutoff)
        return ws[0].detach().cpu().numpy().astype(np.float32)  # [num_ws, w_dim]

    def load_array(self, path: Path, field: str) -> np.ndarray:
        """The array of a .npy, or a .npz's latent (LATENT_KEYS); unreadable files raise ShowError.

        Sizes are checked from the headers before anything is read (show/arrays.py).
        """
        try:
            return read_latent_file(path)
        except ArrayFileError as exc:
            raise ShowError(f"{self.where(field)}: {exc}") from None

    def ws_file(self, path: Path, field: str) -> np.ndarray:
        """A w file as ws [num_ws, w_dim] from [w_dim] (broadcast), [num_ws, w_dim] or [1, ...]."""
        array = self.load_array(path, field)
        ws = as_ws(array, self.num_ws, self.w_dim)
        if ws is not None:
            return ws
        raise ShowError(
            f"{self.where(field)}: {path}: expected shape [w_dim] = ({self.w_dim},) or "
            f"[num_ws, w_dim] = ({self.num_ws}, {self.w_dim}) for model {self.section.model!r}, "
            f"found {tuple(array.shape)}"
        )

    def z_file(self, path: Path, field: str) -> np.ndarray:
        """A z file as [z_dim] ([1, z_dim] accepted)."""
        array = self.load_array(path, field).reshape(-1)
        if array.shape != (self.z_dim,):
            found = tuple(self.load_array(path, field).shape)
            raise ShowError(
                f"{self.where(field)}: {path}: expected shape [z_dim] = ({self.z_dim},) "
                f"for model {self.section.model!r}, found {found}"
            )
        return array

    def seed_of(self, keyframe: Keyframe) -> int:
        """The seed of a seed keyframe, or the one a random keyframe draws."""
        seed = keyframe.seed or 0
        return random_walk_seeds(seed, 1)[0] if keyframe.kind == "random" else seed

    def ws(self, keyframe: Keyframe, field: str) -> np.ndarray:
        """A keyframe as ws [num_ws, w_dim]."""
        if keyframe.kind in ("seed", "random"):
            return self.map_z(seed_to_z(self.seed_of(keyframe), self.z_dim), keyframe.psi)
        if keyframe.kind == "z":
            assert keyframe.path is not None
            return self.map_z(self.z_file(keyframe.path, field), keyframe.psi)
        if keyframe.kind in ("w", "projected"):
            assert keyframe.path is not None
            return self.ws_file(keyframe.path, field)
        return np.broadcast_to(self.w_avg, (self.num_ws, self.w_dim)).copy()  # mean

    def z(self, keyframe: Keyframe, field: str) -> np.ndarray:
        """A keyframe as z [z_dim]; w and projected keyframes raise ShowError."""
        if keyframe.kind in ("seed", "random"):
            return seed_to_z(self.seed_of(keyframe), self.z_dim)
        if keyframe.kind == "z":
            assert keyframe.path is not None
            return self.z_file(keyframe.path, field)
        if keyframe.kind == "mean":
            return np.zeros(self.z_dim, dtype=np.float32)  # the mean of z's distribution
        raise ShowError(
            f"{self.where(field)}: a {keyframe.kind} keyframe is in w and cannot be used in a "
            "walk with space: z (use space: w)"
        )

    def latent(self, keyframe: Keyframe, field: str) -> np.ndarray:
        """A keyframe in the walk's space."""
        if self.section.walk.space == "z":
            return self.z(keyframe, field)
        return self.ws(keyframe, field)

    def keyframes(self) -> np.ndarray:
        """[K, ...] latents the walk interpolates (K >= 1)."""
        walk = self.section.walk
        if walk.path == "random_walk":
            count = walk.random_walk.count if walk.random_walk else 8
            seed = walk.random_walk.seed if walk.random_walk else 0
            field = "walk.random_walk"
            latents = [
                self.latent(Keyframe(kind="seed", seed=s), field)
                for s in random_walk_seeds(seed, count)
            ]
        else:
            latents = [self.latent(k, f"walk.keyframes[{i}]") for i, k in enumerate(walk.keyframes)]
            if walk.path == "noise_loop":
                latents = latents[:1]
        if not latents:  # a noise loop around w_avg (or z = 0), or an empty walk
            latents = [self.latent(Keyframe(kind="mean"), "walk")]
        return np.stack(latents).astype(np.float32)

    def direction(self, direction: Direction, field: str) -> np.ndarray:
        """A direction as [num_ws, w_dim]: a .npy file, or entry `index` of a directions .npz
        (times its std when scale is 'sigma')."""
        if direction.index is None:
            return self.ws_file(direction.path, field)
        path, index = direction.path, direction.index
        try:
            array = read_direction(path, index, is_sigma=direction.scale == "sigma")
        except (ArrayFileError, KeyError, IndexError) as exc:
            raise ShowError(f"{self.where(field)}: cannot read {path}: {exc}") from None
        ws = as_ws(array, self.num_ws, self.w_dim)
        if ws is None:
            raise ShowError(
                f"{self.where(field)}: {path} entry {index} ({direction.entry}): expected shape "
                f"[w_dim] = ({self.w_dim},) or [num_ws, w_dim] = ({self.num_ws}, {self.w_dim}) "
                f"for model {self.section.model!r}, found {tuple(array.shape)}"
            )
        return ws


def resolve_section(
    section: Section,
    G: Any,
    entry: ModelEntry | None = None,
    perceptual_cache: Path | None | Literal["default"] = "default",
) -> SectionLatents:
    """Resolve the keyframes, mixing sources and directions of `section` against generator G.

    Args:
        section: a checked section.
        G: a generator (`installation.models.Generator`) of the section's model.
        entry: the section's model entry (psi, cutoff, class); None uses psi 1, no cutoff.
        perceptual_cache: on-disk cache directory of perceptual re-timing tables ("default":
            ~/.cache/latent-walk/perceptual when entry names a model file; None: memory only).
    Returns:
        SectionLatents of numpy float32 arrays.
    Raises:
        ShowError: a w/projected keyframe in a z walk, or a file whose shape does not fit G.
    """
    resolver = _Resolver(section, G, entry)
    mixing = tuple(resolver.ws(m.source, f"mixing[{i}].from") for i, m in enumerate(section.mixing))
    directions = tuple(
        resolver.direction(d, f"directions[{i}].file") for i, d in enumerate(section.directions)
    )
    latents = SectionLatents(
        space=section.walk.space,
        keyframes=resolver.keyframes(),
        mixing_sources=mixing,
        directions=directions,
        w_avg=resolver.w_avg,
        num_ws=resolver.num_ws,
    )
    if not section.walk.perceptual:
        return latents
    from installation.render import perceptual

    cache_dir: Path | None
    if perceptual_cache == "default":
        has_file = entry is not None and str(entry.path) not in ("", ".") and entry.path.is_file()
        cache_dir = perceptual.default_cache_dir() if has_file else None
    else:
        cache_dir = perceptual_cache
    retime, shares = perceptual.section_retime(
        section, latents, G, entry=entry, cache_dir=cache_dir
    )
    return replace(latents, retime=retime, retime_shares=shares)


def resolve_show(show: Show, generators: Mapping[str, Any]) -> dict[str, SectionLatents]:
    """SectionLatents of every section, keyed by section name; generators keyed by model name."""
    return {
        s.name: resolve_section(s, generators[s.model], show.model(s.model)) for s in show.sections
    }
