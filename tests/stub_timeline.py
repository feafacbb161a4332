"""A schedule for render-loop tests that need no network: sections with lengths, plain frames."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from installation.walk.timeline import FrameParams


def stub_params(t_s: float = 0.0, section_name: str = "a") -> FrameParams:
    """Frame parameters with nothing to render (the fake renderers only look at the slots)."""
    return FrameParams(
        section_index=0, section_name=section_name, model="m", latent=np.zeros(1, np.float32),
        space="w", psi=None, cutoff=None, noise_mode="const", noise_strength=None,
        translate_xy=(0.0, 0.0), rotate_deg=0.0,
    )  # fmt: skip


class StubTimeline:
    """Sections of the given lengths, looping; at() gives stub frames, active() as Timeline."""

    def __init__(self, lengths_s: list[float] | None = None, names: list[str] | None = None):
        self.lengths_s = lengths_s or [2.0, 3.0]
        names = names or [chr(ord("a") + i) for i in range(len(self.lengths_s))]
        self.show = SimpleNamespace(sections=[SimpleNamespace(name=n, live=()) for n in names],
                                    settings=SimpleNamespace(opening_hours=None))  # fmt: skip

    def active(self, t_s: float):
        return 0.0, self

    def at(self, t_s: float, live=None) -> FrameParams:
        return stub_params(t_s)
