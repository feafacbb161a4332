"""Which implementation the kernel ops use, chosen once at startup (STYLE.md section 7).

- "reference": the literal spec definition in plain PyTorch (slow; the one tests trust).
- "torch": the exact fast PyTorch path (polyphase, separable); the default before `select()`.
- "cuda": compiled kernels; not available yet, so `select("cuda")` raises.
- "auto": "cuda" if the kernels load, else "torch".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, get_args

import torch

from kernels import _compile

log = logging.getLogger(__name__)

Backend = Literal["auto", "cuda", "torch", "reference"]
_NAMES: tuple[str, ...] = get_args(Backend)

_selected: str = "torch"
_reason: str = "default (select() not called)"


def select(name: Backend = "auto") -> str:
    """Choose the backend once at startup, log the choice and reason, and return the chosen name."""
    global _selected, _reason
    if name not in _NAMES:
        raise ValueError(f"backend must be one of {', '.join(_NAMES)}; got {name!r}")
    if name in ("torch", "reference"):
        _selected, _reason = name, "requested"
        log.info("kernels: backend=%s (%s)", _selected, _reason)
        return _selected
    module, why = _compile.load()
    if module is not None:
        _selected, _reason = "cuda", why or "CUDA kernels loaded"
        log.info("kernels: backend=cuda (%s)", _reason)
        return _selected
    if name == "cuda":
        raise RuntimeError(f"kernels: backend=cuda requested but the kernels can't load: {why}")
    _selected, _reason = "torch", why
    if torch.cuda.is_available():
        log.warning("kernels: CUDA device present but kernels can't load (%s); backend=torch", why)
    else:
        log.info("kernels: backend=torch (%s)", why)
    return _selected


def current() -> str:
    """The backend in use: "cuda", "torch" or "reference"."""
    return _selected


def reason() -> str:
    """Why the current backend was chosen."""
    return _reason


@contextmanager
def use_backend(name: Backend) -> Iterator[str]:
    """Temporarily use another backend (for tests and benchmarks); "auto" selects as at startup."""
    global _selected, _reason
    saved = (_selected, _reason)
    try:
        if name == "auto" or name == "cuda":
            select(name)
        elif name in _NAMES:
            _selected, _reason = name, "use_backend()"
        else:
            raise ValueError(f"backend must be one of {', '.join(_NAMES)}; got {name!r}")
        yield _selected
    finally:
        _selected, _reason = saved
