"""Generators: load NVIDIA StyleGAN2/StyleGAN3 files safely and render them exactly.

G = load_generator("ffhq.pkl", device="cpu")
ws = G.mapping(z, c, truncation_psi=0.7)
img = G.synthesis(ws, noise_mode="const")

The names below load on first use, so `models.latents` (NVIDIA's latent rules, which the
timeline uses on numpy arrays) can be imported without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checkpoint import save_generator
    from .generator import Generator
    from .load import load_generator
    from .spec import NetworkSpec

_HOMES = {
    "Generator": "generator",
    "NetworkSpec": "spec",
    "load_generator": "load",
    "save_generator": "checkpoint",
}

__all__ = ["Generator", "NetworkSpec", "load_generator", "save_generator"]


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first used (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
