"""The show format as frozen dataclasses: what `show/load.py` builds and the timeline reads.

Everything here is already checked: paths are absolute, enumerations are one of their Literals,
numbers are in range. See `installation/show/load.py` for the YAML side and the error messages.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

log = logging.getLogger(__name__)

Easing = Literal[
    "linear",
    "sine_in_out",
    "sine_in",
    "sine_out",
    "quad_in_out",
    "cubic_in_out",
    "cubic_in",
    "cubic_out",
    "quart_in_out",
    "quint_in_out",
    "expo_in_out",
    "circ_in_out",
    "smoothstep",
    "smootherstep",
]
NoiseMode = Literal["const", "random", "none"]
TransitionKind = Literal["cut", "crossfade", "image_crossfade"]
Space = Literal["w", "z"]
PathKind = Literal["linear", "slerp", "cubic", "noise_loop", "random_walk"]
KeyframeKind = Literal["seed", "w", "z", "projected", "mean", "random"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
AutomationTarget = Literal[
    "psi", "cutoff", "noise_strength", "translate_x", "translate_y", "rotate_deg"
]
ReloadWhen = Literal["now", "section_end"]
LiveTarget = Literal[
    "psi", "cutoff", "noise_strength", "translate_x", "translate_y", "rotate_deg", "speed"
]
SensorCurve = Literal["linear", "ease_in", "ease_out", "smooth", "log", "exp"]
LfoShape = Literal["sine", "triangle", "saw", "square", "sample_hold"]
SmoothingKind = Literal["none", "exponential", "one_euro"]

# How a direction's vector is scaled before `intensity`: as stored ('raw': a .npy, or a .npz's
# unit vector) or by the .npz's std ('sigma': intensity in standard deviations of w).
DirectionScale = Literal["raw", "sigma"]

EASING_NAMES: tuple[str, ...] = get_args(Easing)
NOISE_MODES: tuple[str, ...] = get_args(NoiseMode)
TRANSITION_KINDS: tuple[str, ...] = get_args(TransitionKind)
SPACES: tuple[str, ...] = get_args(Space)
PATH_KINDS: tuple[str, ...] = get_args(PathKind)
KEYFRAME_KINDS: tuple[str, ...] = get_args(KeyframeKind)
DAYS: tuple[str, ...] = get_args(Day)
AUTOMATION_TARGETS: tuple[str, ...] = get_args(AutomationTarget)
LIVE_TARGETS: tuple[str, ...] = get_args(LiveTarget)
DIRECTION_SCALES: tuple[str, ...] = get_args(DirectionScale)
RELOAD_WHEN: tuple[str, ...] = get_args(ReloadWhen)
SENSOR_CURVES: tuple[str, ...] = get_args(SensorCurve)
LFO_SHAPES: tuple[str, ...] = get_args(LfoShape)
SMOOTHING_KINDS: tuple[str, ...] = get_args(SmoothingKind)
# Limits of the format: beyond what a real show uses, and what keeps every valid show renderable
# (no division by a denormal, no sum that overflows, no seed NVIDIA's tools refuse).
MAX_SEED = 2**32 - 1  # np.random.RandomState (NVIDIA's seeds) takes 0 .. 2**32 - 1
MIN_TIME_S = 1e-3  # the shortest duration, period or step in seconds
MAX_TIME_S = 1e7  # the longest single time in seconds (about 116 days)
MAX_SHOW_S = 1e8  # the longest section, and the longest pass through a show
MAX_NUMBER = 1e6  # the largest magnitude of any other number
MAX_INTEGER = 10**9  # the largest other integer
MAX_PSI = 100.0  # |psi|; real shows use -1 .. 2
MAX_LOOPS = 10**6
MAX_RANDOM_WALK_COUNT = 1000  # seeds of a random walk (each is mapped at startup)
MAX_KEYFRAMES = 1000  # keyframes of a walk
MAX_NOISE_HARMONICS = 64
MAX_NOISE_RADIUS = 1000.0
MAX_LAYER = 1024  # ws rows (real models have at most 18)
MAX_CUTOFF = 1024
MAX_SIZE_PX = 16384
FPS_RANGE = (0.1, 1000.0)
SPEED_RANGE = (0.01, 100.0)
TEMPO_RANGE_BPM = (20.0, 400.0)  # show.tempo_bpm; a live tempo is followed within 1/4..4x of it
DEFAULT_TEMPO_BPM = 120.0

NAMED_LAYERS: dict[str, tuple[int, int | None]] = {
    "coarse": (0, 3),
    "middle": (4, 7),
    "fine": (8, None),
}


@dataclass(frozen=True)
class OutputSettings:
    """Size and frame rate of an offline render (`--out`).

    size_px None: the model's own resolution; otherwise frames are fitted into it (--fit).
    """

    size_px: tuple[int, int] | None = None
    fps: float = 30.0


# `show.outputs` (several screens of one PC): the names and bounds of display/outputs.py and
# display/fit.py, which show/ may not import (tests/unit/show/test_outputs_block.py holds them
# equal)
OUTPUT_FITS = ("letterbox", "fill", "stretch")
MAX_OUTPUTS = 16
MAX_OVERLAP_FRACTION = 0.5
BLEND_GAMMA_RANGE = (1.0, 4.0)
DEFAULT_BLEND_GAMMA = 2.2
MAX_OVERLAP_PX = 99999
MAX_DISPLAY_INDEX = 63


@dataclass(frozen=True)
class OutputScreen:
    """One output: its monitor (display index) and fit (None: the app's --fit)."""

    display: int
    fit: str | None = None


@dataclass(frozen=True)
class OutputsSettings:
    """`show.outputs`: screens left to right that one frame spans, with an edge blend.

    overlap: the strip neighbours share, a fraction of an output's width, or its pixels when
    `overlap_is_px`.
    """

    screens: tuple[OutputScreen, ...]
    overlap: float = 0.0
    overlap_is_px: bool = False
    gamma: float = DEFAULT_BLEND_GAMMA


@dataclass(frozen=True)
class OpeningHours:
    """When the show plays; `outside` is black, hold or the name of a section played meanwhile."""

    days: tuple[Day, ...] = DAYS  # type: ignore[assignment]
    start: datetime.time = datetime.time(0, 0)  # YAML `from`
    end: datetime.time = datetime.time(23, 59)  # YAML `to`
    outside: str = "black"


@dataclass(frozen=True)
class ReloadSettings:
    """How a hot reload switches to the new show: `now` or at the next section end, faded."""

    when: ReloadWhen = "now"
    crossfade_s: float = 2.0


@dataclass(frozen=True)
class OscSettings:
    """The show's `show.osc` block; None everywhere means "not set by the show".

    The app's command line overrides each field, and what neither sets falls back to the app's
    defaults (installation/settings.py). `port` None: no OSC server unless --osc-port is given.
    `allow` entries are loopback, local, any, an IP address or a CIDR network (checked);
    `feedback` is (host, port) of a tablet that also gets status replies and heartbeats.
    `oscquery_port`: serve the OSCQuery namespace on this TCP port (docs/control.md).
    """

    port: int | None = None
    host: str | None = None
    allow: tuple[str, ...] | None = None
    feedback: tuple[str, int] | None = None
    heartbeat_s: float | None = None  # 0: no heartbeats
    oscquery_port: int | None = None  # None: no OSCQuery server unless --oscquery-port


@dataclass(frozen=True)
class HttpSettings:
    """The show's `show.http` block (the web remote and JSON API); None: not set by the show.

    The command line (--http-port, --http-host, --http-token) overrides each field. `allow`
    None: OSC's allow-list rules (show.osc.allow, --osc-allow); `token` None: a new one at start.
    """

    port: int | None = None
    host: str | None = None
    allow: tuple[str, ...] | None = None
    token: str | None = None


@dataclass(frozen=True)
class ShowSettings:
    """The optional `show:` block."""

    title: str = ""
    output: OutputSettings = field(default_factory=OutputSettings)
    background: str = "#000000"
    speed: float = 1.0
    opening_hours: OpeningHours | None = None
    reload: ReloadSettings = field(default_factory=ReloadSettings)
    osc: OscSettings = field(default_factory=OscSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    tempo_bpm: float = DEFAULT_TEMPO_BPM  # what beats mean without sound (beats_per_keyframe)
    outputs: OutputsSettings | None = None  # None: one screen (--display, or --outputs)


@dataclass(frozen=True)
class ModelEntry:
    """A named generator file with its default rendering options."""

    name: str
    path: Path
    psi: float = 1.0
    cutoff: int | None = None
    noise_mode: NoiseMode = "const"
    class_index: int | None = None


@dataclass(frozen=True)
class Transition:
    """How a section hands over to the next one (the last one to the first)."""

    kind: TransitionKind = "cut"
    duration_s: float = 0.0


# A live value glides in over this long and holds this long after the last message, then the
# schedule takes over again; a section's `live` entry can set both per parameter.
LIVE_DEFAULT_SLEW_S = 0.5
LIVE_DEFAULT_HOLD_S = 30.0


@dataclass(frozen=True)
class LiveParam:
    """A parameter a performer may steer: its range, smoothing and how long a value holds."""

    name: str  # a LiveTarget, or direction/<file stem, stem.entry (.npz) or index>
    range: tuple[float, float]
    slew_s: float = LIVE_DEFAULT_SLEW_S
    hold_s: float = LIVE_DEFAULT_HOLD_S


# Defaults of a sensor mapping (shows/README.md "Sensors"). The one-euro values are the
# starting point Casiez et al. 2012 (§4) suggest: beta 0 and a cutoff near 1 Hz, then tune.
SENSOR_DEFAULT_TIMEOUT_S = 5.0
SMOOTHING_DEFAULT_TIME_CONSTANT_S = 0.3
SMOOTHING_DEFAULT_MIN_CUTOFF_HZ = 1.0
SMOOTHING_DEFAULT_BETA = 0.0
SMOOTHING_DEFAULT_D_CUTOFF_HZ = 1.0
SENSOR_MAX_VALUES = 16  # values per /sensor message (installation/control/addresses.py)


@dataclass(frozen=True)
class Smoothing:
    """How a sensor's readings are smoothed, in input units, with the real time between them.

    none: not at all; exponential: a first-order low-pass with `time_constant_s`; one_euro: the
    1-euro filter (Casiez et al. 2012): `min_cutoff_hz` against jitter at rest, `beta` (per input
    unit per second) against lag when the reading moves, `d_cutoff_hz` for its speed estimate.
    """

    kind: SmoothingKind = "none"
    time_constant_s: float = SMOOTHING_DEFAULT_TIME_CONSTANT_S
    min_cutoff_hz: float = SMOOTHING_DEFAULT_MIN_CUTOFF_HZ
    beta: float = SMOOTHING_DEFAULT_BETA
    d_cutoff_hz: float = SMOOTHING_DEFAULT_D_CUTOFF_HZ


@dataclass(frozen=True)
class Sensor:
    """A show-level mapping from `/sensor/<name>` readings to a live parameter.

    The reading `index` of a message is clamped to `input_range`, changes smaller than
    `dead_band` (input units) are ignored, it is smoothed, shaped by `curve` and mapped onto
    `output_range` (either range may be decreasing). The value holds `timeout_s` after the last
    reading, then the schedule takes over again.
    """

    name: str
    target: str  # a LiveTarget, or direction/<file stem, stem.entry (.npz) or index>
    input_range: tuple[float, float]  # YAML `input`
    output_range: tuple[float, float]  # YAML `output`
    curve: SensorCurve = "linear"
    smoothing: Smoothing = field(default_factory=Smoothing)
    dead_band: float = 0.0
    timeout_s: float = SENSOR_DEFAULT_TIMEOUT_S
    index: int = 0


@dataclass(frozen=True)
class Keyframe:
    """One point of a walk; `kind` says which of the fields matter.

    seed: `seed`; random: `seed` seeds the generator the seed is drawn from; w/z: `path` to a
    .npy; projected: `path` to a .npz with `w`; mean: w_avg.
    """

    kind: KeyframeKind
    seed: int | None = None
    path: Path | None = None
    psi: float | None = None
    hold_s: float = 0.0
    duration_s: float | None = None  # of the segment that leaves this keyframe
    easing: Easing | None = None


@dataclass(frozen=True)
class NoiseLoop:
    """A smooth periodic random walk (path: noise_loop)."""

    seed: int = 0
    radius: float = 1.0
    harmonics: int = 3


@dataclass(frozen=True)
class RandomWalk:
    """A walk between `count` random seeds drawn from a generator seeded with `seed`."""

    seed: int = 0
    count: int = 8


@dataclass(frozen=True)
class Walk:
    """The path through latent space of one section."""

    space: Space = "w"
    path: PathKind = "linear"
    closed: bool = False
    easing: Easing = "linear"
    seconds_per_keyframe: float = 4.0  # with beats_per_keyframe: those beats at show.tempo_bpm
    beats_per_keyframe: float | None = None  # keyframes on beats: the section follows the tempo
    perceptual: bool = False
    keyframes: tuple[Keyframe, ...] = ()
    noise: NoiseLoop | None = None
    random_walk: RandomWalk | None = None

    def period_s(self) -> float:
        """Seconds of one pass through the walk, at speed 1."""
        if self.path == "random_walk":
            count = self.random_walk.count if self.random_walk else RandomWalk().count
            segments = count if self.closed else max(count - 1, 1)
            return segments * self.seconds_per_keyframe
        if self.path == "noise_loop":
            return self.seconds_per_keyframe * max(len(self.keyframes), 1)
        keys = self.keyframes
        n_segments = len(keys) if self.closed else len(keys) - 1
        total = sum(k.hold_s for k in keys)
        for k in keys[: max(n_segments, 0)]:
            total += k.duration_s if k.duration_s is not None else self.seconds_per_keyframe
        return total


@dataclass(frozen=True)
class Curve:
    """Keyframed values: (time_s, value) pairs, time ascending, eased between keys."""

    keys: tuple[tuple[float, float], ...]
    easing: Easing = "linear"


@dataclass(frozen=True)
class Lfo:
    """center + amplitude * wave(t / period_s + phase), wave of `shape` (walk/timeline.py
    `wave`): within -1..1, 0 rising at cycle 0 (sine, triangle, saw), +1 for the first half of
    a cycle (square), or a new random level each cycle from `seed` (sample_hold)."""

    period_s: float
    amplitude: float = 1.0
    center: float = 0.0
    phase: float = 0.0
    shape: LfoShape = "sine"
    seed: int = 0  # sample_hold's levels
    period_beats: float | None = None  # given in beats: period_s is them at show.tempo_bpm


Signal = Curve | Lfo | float


@dataclass(frozen=True)
class Automation:
    """Numeric parameters over section time; None leaves the model's default."""

    psi: Curve | Lfo | None = None
    cutoff: Curve | Lfo | None = None
    noise_strength: Curve | Lfo | None = None
    translate_x: Curve | Lfo | None = None
    translate_y: Curve | Lfo | None = None
    rotate_deg: Curve | Lfo | None = None


@dataclass(frozen=True)
class Layers:
    """An inclusive range of ws rows; `last` None means up to the model's last row."""

    first: int
    last: int | None


@dataclass(frozen=True)
class Mixing:
    """Style mixing: the rows `layers` of ws come from `source`."""

    layers: Layers
    source: Keyframe  # YAML `from`


@dataclass(frozen=True)
class Direction:
    """A latent direction added to ws rows `layers`, scaled by `intensity` over time.

    `path` is a .npy holding one direction, or a directions .npz (`latent-walk directions`) of
    which entry `index` (named `entry`) is meant. With scale 'sigma' the unit direction is
    multiplied by the file's std for it, so intensity counts standard deviations of w.
    """

    path: Path
    layers: Layers
    intensity: Curve | Lfo | float = 1.0
    index: int | None = None  # entry of a .npz; None for a .npy
    entry: str | None = None  # that entry's name in the .npz (e.g. pc3)
    scale: DirectionScale = "raw"

    @property
    def live_name(self) -> str:
        """What `direction/<name>` steers: the file's stem, or <stem>.<entry> for a .npz entry."""
        return f"{self.path.stem}.{self.entry}" if self.entry is not None else self.path.stem


@dataclass(frozen=True)
class Section:
    """One entry of the playlist: a model, a walk and what changes over its time."""

    name: str
    model: str
    walk: Walk
    duration_s: float | None = None
    loops: int | None = None
    transition: Transition = field(default_factory=Transition)
    live: tuple[LiveParam, ...] = ()
    automation: Automation = field(default_factory=Automation)
    mixing: tuple[Mixing, ...] = ()
    directions: tuple[Direction, ...] = ()
    # counts in beats somewhere (beats_per_keyframe, an LFO's period_beats): its walk and
    # automation follow the live tempo (walk/tempo.py); set by the loader
    follows_tempo: bool = False

    def length_s(self, speed: float = 1.0) -> float:
        """Seconds of show time this section lasts."""
        if self.duration_s is not None:
            return self.duration_s
        return (self.loops or 1) * self.walk.period_s() / speed


@dataclass(frozen=True)
class AudioMessage:
    """One OSC-table message an audio event sends (checked against the table when the show
    starts: show/ does not know the table; `line` says where it was written)."""

    address: str
    args: tuple[str | int | float | bool, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class AudioEvent:
    """What a sound event (an onset, a beat) does: `messages` in turn, one per firing.

    It fires on every `every`-th event, and at most once per `min_interval_s`."""

    messages: tuple[AudioMessage, ...]
    every: int = 1
    min_interval_s: float = 0.0


@dataclass(frozen=True)
class AudioSettings:
    """The show's `audio:` block (shows/README.md §12); None: not set."""

    input: str | None = None  # a sound input, as --audio-in (the command line wins)
    on_onset: AudioEvent | None = None
    on_beat: AudioEvent | None = None


@dataclass(frozen=True)
class Show:
    """A whole show file, checked."""

    path: Path
    settings: ShowSettings
    models: tuple[ModelEntry, ...]
    sections: tuple[Section, ...]
    sensors: tuple[Sensor, ...] = ()
    audio: AudioSettings = field(default_factory=AudioSettings)

    def model(self, name: str) -> ModelEntry:
        """The model entry called `name`."""
        for entry in self.models:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def total_s(self) -> float:
        """Seconds of one pass through all sections."""
        return sum(s.length_s(self.settings.speed) for s in self.sections)
