"""Commands: what the keyboard, a show reload and (later) OSC ask of the render thread.

Frozen values, produced anywhere, applied only on the render thread in arrival order
(STYLE.md §8). They never touch a tensor, a window or a socket.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TogglePause:
    """Pause the show clock, or resume it."""


@dataclass(frozen=True)
class SetPaused:
    """Pause (True) or resume (False) the show clock."""

    is_paused: bool


@dataclass(frozen=True)
class JumpSection:
    """Go to the start of the section `delta` places away (+1 next, -1 previous), wrapping."""

    delta: int


@dataclass(frozen=True)
class GoToSection:
    """Go to the start of a section, by index (0-based) or name, in the current playlist pass."""

    target: int | str


@dataclass(frozen=True)
class Seek:
    """Move the show clock to `show_s` seconds."""

    show_s: float


@dataclass(frozen=True)
class ReloadShow:
    """Re-read the show file and switch to it as the show's reload settings say."""


Command = TogglePause | SetPaused | JumpSection | GoToSection | Seek | ReloadShow
