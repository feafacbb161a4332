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
class StepKeyframe:
    """Go to the walk's next (+1) or previous (-1) keyframe in the playing section (a cut)."""

    delta: int


@dataclass(frozen=True)
class SetTempo:
    """The music's tempo now (BPM, > 0): sections that count in beats follow it (walk/tempo.py).

    Sent by the sound input with each new estimate, by a render to music, or by anyone over OSC
    (`/tempo`, e.g. a tap-tempo button)."""

    bpm: float


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


@dataclass(frozen=True)
class GlideTo:
    """Leave the schedule's walk for a place in latent space, gliding there over `glide_s`.

    `seed`: the model's z for that seed (mapped with the section's psi); `latent`: the name of a
    stored latent of the show folder's `latents/` (a .npy/.npz of ws or w, by file stem). The
    place holds like any live value (the default hold), then the walk takes over again.
    Exactly one of the two is set.
    """

    seed: int | None = None
    latent: str | None = None
    glide_s: float = 2.0


@dataclass(frozen=True)
class SetNoiseMode:
    """Noise inputs of StyleGAN2 models from now on: const, random or none (None: the show's)."""

    mode: str | None


@dataclass(frozen=True)
class SetMixing:
    """Style mixing from now on: ws rows first..stop-1 come from `seed` (None: the show's own)."""

    seed: int | None
    first: int = 0
    stop: int | None = None


@dataclass(frozen=True)
class HoldSection:
    """Play section `name` over and over (outside opening hours); None: back to where it was."""

    name: str | None


@dataclass(frozen=True)
class SensorInput:
    """A sensor reading for the show's `sensors` mapping of that name (values as received)."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class SavePreset:
    """Save everything live now as preset `name` in the show's `<stem>.presets.yaml`.

    Live values, speed, noise mode, mixing and glide target; `with_time`: also the section and
    show time, which a recall then goes back to. A preset of the same name is replaced.
    """

    name: str
    with_time: bool = False


@dataclass(frozen=True)
class RecallPreset:
    """Go to preset `name`: live values glide to its values over `glide_s` (None: each with
    its section's slew), its overrides apply, and a preset saved with time seeks there."""

    name: str
    glide_s: float | None = None


@dataclass(frozen=True)
class ListPresets:
    """Re-read the show's presets file (the status board lists the names)."""


@dataclass(frozen=True)
class Bookmark:
    """Store the ws on screen now as `latents/<name>.npy` next to the show (never replaced)."""

    name: str


@dataclass(frozen=True)
class FollowClock:
    """A leader's show clock as a follower received it (--sync follow; walk/follow.py).

    `show_s` was the leader's show time when the message arrived here at `received_wall_s`
    (this machine's wall clock, the one the render loop runs on), running at `rate` unless
    `is_paused`. `session` tells leader processes apart (a restarted leader has another);
    `epoch` counts the leader's cuts (a seek there is a seek here). The Player slews towards it.
    """

    show_s: float
    rate: float
    is_paused: bool
    received_wall_s: float
    session: int = 0
    epoch: int = 0


@dataclass(frozen=True)
class ClockLost:
    """The leader's clock has not been heard for a while: play on alone at the leader's rate."""


@dataclass(frozen=True)
class MidiLearn:
    """Bind the next MIDI control moved to live parameter `target` and save it to the show's
    MIDI mapping file. Control-side: control/router.py hands it to the MIDI input (control/
    midi.py), never to the Player."""

    target: str


Command = (
    TogglePause
    | SetPaused
    | JumpSection
    | StepKeyframe
    | GoToSection
    | Seek
    | ReloadShow
    | SetSpeed
    | SetTempo
    | SetLive
    | Blackout
    | LoadShow
    | GlideTo
    | SetNoiseMode
    | SetMixing
    | SensorInput
    | HoldSection
    | SavePreset
    | RecallPreset
    | ListPresets
    | Bookmark
    | FollowClock
    | ClockLost
    | MidiLearn
)
