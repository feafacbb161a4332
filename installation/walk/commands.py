"""Commands: what the keyboard, a show reload and OSC ask of the render thread.

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


@dataclass(frozen=True)
class SetSpeed:
    """Play the show clock at `speed` times real time (> 0; 1 is normal)."""

    speed: float


@dataclass(frozen=True)
class SetLive:
    """Steer a live parameter: it glides to `value`, holds, then the schedule takes over.

    `name` is one of the show's live targets (psi, cutoff, noise_strength, translate_x,
    translate_y, rotate_deg) or `direction/<name>` for a section direction's intensity. How fast
    it glides (slew) and how long it holds come from the section's `live` entry, else defaults.
    """

    name: str
    value: float


@dataclass(frozen=True)
class Blackout:
    """Fade the picture to `level` (0 black .. 1 normal) over `fade_s` seconds."""

    level: float
    fade_s: float = 1.0


@dataclass(frozen=True)
class LoadShow:
    """Switch to another show file of the shows folder, by name (no paths)."""

    name: str


Command = (
    TogglePause
    | SetPaused
    | JumpSection
    | GoToSection
    | Seek
    | ReloadShow
    | SetSpeed
    | SetLive
    | Blackout
    | LoadShow
)
