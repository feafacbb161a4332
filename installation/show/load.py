"""Load a show file: YAML nodes (with their line marks) -> checked frozen dataclasses.

This is the only place a show is checked. Every problem becomes one line of one ShowError,
`file:line: field.path: message` (1-based line), and all of a file's problems come at once.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from installation.errors import ShowError
from installation.netcheck import (
    ALLOW_HELP,
    PORT_TEXT,
    TOKEN_TEXT,
    allow_entry,
    is_host,
    is_port,
    is_token,
)
from installation.show.arrays import (
    DIRECTION_NAMES_KEY,
    DIRECTION_STD_KEY,
    DIRECTIONS_KEY,
    LATENT_KEYS,
    NUMBERS,
    ArrayFileError,
    ArrayInfo,
    latent_key,
    npy_info,
    npz_infos,
    read_npz,
)
from installation.show.checker import (
    BAD,
    MAX_ERRORS,
    Checker,
    TooManyErrors,
    all_ok,
    describe,
    find,
    got,
    opt,
    read_list,
    read_pair,
    unknown_key,
)
from installation.show.schema import (
    AUTOMATION_TARGETS,
    BLEND_GAMMA_RANGE,
    DAYS,
    DEFAULT_BLEND_GAMMA,
    DIRECTION_SCALES,
    EASING_NAMES,
    FPS_RANGE,
    LFO_SHAPES,
    LIVE_DEFAULT_HOLD_S,
    LIVE_DEFAULT_SLEW_S,
    LIVE_TARGETS,
    MAX_CUTOFF,
    MAX_DISPLAY_INDEX,
    MAX_KEYFRAMES,
    MAX_LAYER,
    MAX_LOOPS,
    MAX_NOISE_HARMONICS,
    MAX_NOISE_RADIUS,
    MAX_OUTPUTS,
    MAX_OVERLAP_FRACTION,
    MAX_OVERLAP_PX,
    MAX_PSI,
    MAX_RANDOM_WALK_COUNT,
    MAX_SHOW_S,
    MAX_SIZE_PX,
    MAX_TIME_S,
    MIN_TIME_S,
    NAMED_LAYERS,
    NOISE_MODES,
    OUTPUT_FITS,
    PATH_KINDS,
    RELOAD_WHEN,
    SENSOR_CURVES,
    SENSOR_DEFAULT_TIMEOUT_S,
    SENSOR_MAX_VALUES,
    SMOOTHING_KINDS,
    SPACES,
    SPEED_RANGE,
    TEMPO_RANGE_BPM,
    TRANSITION_KINDS,
    AudioEvent,
    AudioMessage,
    AudioSettings,
    Automation,
    Curve,
    Direction,
    HttpSettings,
    Keyframe,
    Layers,
    Lfo,
    LiveParam,
    Mixing,
    ModelEntry,
    NoiseLoop,
    OpeningHours,
    OscSettings,
    OutputScreen,
    OutputSettings,
    OutputsSettings,
    RandomWalk,
    ReloadSettings,
    Section,
    Sensor,
    Show,
    ShowSettings,
    Smoothing,
    Transition,
    Walk,
)
from installation.show.yamlread import compose, join, read_show_text, short

log = logging.getLogger(__name__)

KEYFRAME_FORMS = ("seed", "w", "z", "projected", "mean", "random")
KEYFRAME_TIMING = ("hold_s", "duration_s", "easing")


@dataclass
class ShowChecker(Checker):
    """The Checker of a show: it also reads the headers of the latent and direction files."""

    headers: dict[Path, Any] = field(default_factory=dict)  # array file -> its header(s)
    names_bytes: int = 0  # of the directions names read so far
    array_files: int = 0  # distinct .npy/.npz files looked at

    def npy_info(self, path: Path) -> ArrayInfo:
        """The checked header of a .npy (read once per file)."""
        if path not in self.headers:
            self._count_file()
            self.headers[path] = npy_info(path)
        return self.headers[path]

    def npz_infos(self, path: Path) -> dict[str, ArrayInfo]:
        """The checked headers of a .npz's arrays (read once per file)."""
        if path not in self.headers:
            self._count_file()
            self.headers[path] = npz_infos(path)
        return self.headers[path]

    def positions(self, path: Path, names: list[str]) -> dict[str, int]:
        """{name: its first index} of a directions .npz's names (built once per file)."""
        key = path.with_name(path.name + "[positions]")
        if key not in self.headers:
            self.headers[key] = {}
            for index, name in enumerate(names):
                self.headers[key].setdefault(name, index)
        return self.headers[key]

    def _count_file(self) -> None:
        """One more array file; past MAX_ARRAY_FILES an ArrayFileError (reported where named)."""
        self.array_files += 1
        if self.array_files > MAX_ARRAY_FILES:
            raise ArrayFileError(f"a show names at most {MAX_ARRAY_FILES} latent and direction "
                                 "files")  # fmt: skip

    def names(self, path: Path, nbytes: int) -> list[str] | None:
        """The 'names' of a directions .npz (read once per file); None past MAX_NAMES_TOTAL."""
        key = path.with_name(path.name + "[names]")
        if key not in self.headers:
            if self.names_bytes + nbytes > MAX_NAMES_TOTAL:
                return None
            self.names_bytes += nbytes
            names = read_npz(path, (DIRECTION_NAMES_KEY,))[DIRECTION_NAMES_KEY]
            self.headers[key] = [str(n) for n in names]
        return self.headers[key]

    def array_file(
        self, node: Node, path: str, suffix: str, ranks: tuple[int, ...], shape_text: str
    ) -> Any:
        """A .npy (or a .npz's latent, LATENT_KEYS) of one of `ranks`, checked from its header."""
        resolved = self.file(node, path, (suffix,))
        if resolved is BAD:
            return BAD
        try:
            if suffix == ".npz":
                infos = self.npz_infos(resolved)
                key = latent_key(infos)
                if key is None:
                    has = ", ".join(infos) or "none"
                    wanted = " or ".join(repr(k) for k in LATENT_KEYS)
                    return self.error(node, path, f"{resolved} has no array {wanted} (has {has})")
                if infos[key].dtype.kind not in NUMBERS:
                    return self.error(node, path, f"{resolved}: {key!r} holds {infos[key].dtype} "
                                      "values; expected numbers")  # fmt: skip
                shape = infos[key].shape
                shape_text = f"{shape_text} (key {key})"
            else:
                shape = self.npy_info(resolved).shape
        except ArrayFileError as exc:
            return self.error(node, path, str(exc))
        if len(shape) not in ranks:
            return self.error(
                node, path, f"{resolved} must have shape {shape_text}, got {list(shape)}"
            )
        return resolved


# -- the format ------------------------------------------------------------------------------


def load_show(path: str | Path) -> Show:
    """Read and check a show file; raises ShowError listing every problem (nothing else)."""
    return validate_text(read_show_text(path), path)


def validate_text(text: str, path: str | Path) -> Show:
    """Check `text` as the contents of the show file `path` (relative files resolve from it).

    Raises:
        ShowError: every problem, one per line; never another exception type.
    """
    name = str(path)
    try:
        return _validate(text, path)
    except ShowError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, ArithmeticError, OSError) as err:
        # a hole in the checks: the file is refused, never a traceback; the log keeps the detail
        log.debug("show check failed on %s", name, exc_info=True)
        reason = f"{type(err).__name__}: {short(str(err), 200)}"
        raise ShowError(
            f"{name}: this file could not be checked ({reason}); please report it with the file"
        ) from None


def _validate(text: str, path: str | Path) -> Show:
    """validate_text without its last-resort guard."""
    name = str(path)
    root, structure, flagged = compose(text, name)
    c = ShowChecker(name, Path(path).resolve().parent, flagged=flagged, text=text)
    c.errors.extend(structure)
    if root is None:
        raise ShowError(f"{name}:1: the file is empty; a show needs 'models' and 'sections'")
    try:
        show = read_show(c, root, Path(path).resolve())
    except TooManyErrors:
        c.errors.append((math.inf, f"{name}: stopped after {MAX_ERRORS} problems; fix these first"))
        show = None
    if c.errors or show is None:
        raise ShowError("\n".join(m for _, m in sorted(c.errors, key=lambda e: e[0])))
    log.debug("loaded show %s: %d sections", name, len(show.sections))
    return show


def read_show(c: ShowChecker, root: Node, show_path: Path) -> Show:
    """The top level: show, models, sections; then the cross-references."""
    keys = c.mapping(root, "", ("models", "sections"), ("show", "sensors", "audio")) or {}
    settings = opt(c, keys, "show", "", lambda n, p: read_settings(c, n, p), ShowSettings())
    sensors = opt(c, keys, "sensors", "", lambda n, p: read_sensors(c, n, p), ())
    audio = opt(c, keys, "audio", "", lambda n, p: read_audio(c, n, p), AudioSettings())
    models: list[ModelEntry] = []
    entries: list[tuple[str, Node, Node]] = []
    if "models" in keys:
        entries = c.named_mapping(keys["models"], "models") or []
        if not entries and isinstance(keys["models"], MappingNode):
            c.error(keys["models"], "models", "must name at least 1 model")
        for name, _, node in entries:
            entry = read_model(c, node, f"models.{name}", name)
            if entry is not BAD:
                models.append(entry)
    # every section in file order, BAD where it had errors, so cross-checks keep the real indices
    # and neighbours (a broken section must not make its neighbours look mismatched)
    read_sections: list[Section | Any] = []
    section_nodes: list[Node] = []
    if "sections" in keys:
        for i, node in enumerate(c.sequence(keys["sections"], "sections", min_len=1) or []):
            read_sections.append(read_section(c, node, f"sections[{i}]"))
            section_nodes.append(node)
    declared = tuple(name for name, _, _ in entries)  # broken entries too: no echo errors
    cross_check(c, keys, settings, declared, read_sections, section_nodes)
    speed = settings.speed if settings is not BAD else ShowSettings().speed
    check_lengths(c, keys, speed, read_sections, section_nodes)
    settings = settings if settings is not BAD else ShowSettings()
    return Show(
        show_path,
        settings,
        tuple(models),
        tuple(in_seconds(s, settings.tempo_bpm) for s in read_sections if s is not BAD),
        sensors if sensors is not BAD else (),
        audio if audio is not BAD else AudioSettings(),
    )


MAX_BEATS = 10_000.0


def in_seconds(section: Section, tempo_bpm: float) -> Section:
    """The section with its beats (beats_per_keyframe, LFOs' period_beats) as seconds at the
    show's tempo, marked `follows_tempo` when it counts in beats anywhere."""
    seconds_per_beat = 60.0 / tempo_bpm
    found = [False]

    def convert(value: Any) -> Any:
        if isinstance(value, Lfo) and value.period_beats is not None:
            found[0] = True
            return dataclasses.replace(value, period_s=value.period_beats * seconds_per_beat)
        if isinstance(value, Walk) and value.beats_per_keyframe is not None:
            found[0] = True
            return dataclasses.replace(
                value, seconds_per_keyframe=value.beats_per_keyframe * seconds_per_beat
            )
        if isinstance(value, tuple):
            return tuple(convert(item) for item in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return dataclasses.replace(value, **changes)
        return value

    converted = convert(section)
    return dataclasses.replace(converted, follows_tempo=True) if found[0] else section


def cross_check(
    c: ShowChecker,
    keys: dict[str, Node],
    settings: Any,
    model_names: tuple[str, ...],
    sections: list[Section | Any],
    nodes: list[Node],
) -> None:
    """Names that refer to other entries: section models, unique names, `outside`, crossfades.

    `sections` holds every section in file order, BAD where it failed to read; `model_names`
    every name under `models:`, including entries with errors of their own.
    """
    seen: dict[str, int] = {}
    for i, (section, node) in enumerate(zip(sections, nodes, strict=True)):
        if section is BAD:  # its other errors are reported; an unknown model name is one more
            model_node = find(node, "model")
            model = c.value(model_node) if model_node is not None else None
            if model_names and isinstance(model, str) and model and model not in model_names:
                names = ", ".join(model_names)
                c.error(model_node, f"sections[{i}].model",
                        f"{short(model)!r} is not one of the models: {names}")  # fmt: skip
            continue
        fields = {k.value: (k, v) for k, v in node.value}
        if section.name in seen:
            c.error(
                fields["name"][1],
                f"sections[{i}].name",
                f"duplicate section name {section.name!r} (also sections[{seen[section.name]}])",
            )
        seen.setdefault(section.name, i)
        if model_names and section.model not in model_names:
            c.error(
                fields["model"][1],
                f"sections[{i}].model",
                f"{section.model!r} is not one of the models: {', '.join(model_names)}",
            )
        nxt = sections[(i + 1) % len(sections)]
        if nxt is BAD:
            continue
        if section.transition.kind == "crossfade" and nxt.model != section.model:
            c.error(
                fields["transition"][1],
                f"sections[{i}].transition.kind",
                f"crossfade (in w) needs the next section ({nxt.name!r}) to use the same "
                f"model, got {section.model!r} then {nxt.model!r}; use image_crossfade",
            )
    hours = settings.opening_hours if settings is not BAD else None
    if hours is not None and hours.outside not in ("black", "hold", *seen):
        node = find(keys.get("show"), "opening_hours", "outside")
        choices = ", ".join(("black", "hold", *seen))
        c.error(
            node or keys["show"],
            "show.opening_hours.outside",
            f"{hours.outside!r} is not one of {choices}",
        )


def check_lengths(
    c: ShowChecker, keys: dict[str, Node], speed: float, sections: list[Any], nodes: list[Node]
) -> None:
    """Each section, and one pass of the show, lasts at most MAX_SHOW_S (no sum overflows)."""
    total_s = 0.0
    for i, (section, node) in enumerate(zip(sections, nodes, strict=True)):
        if section is BAD:
            continue
        length_s = section.length_s(speed)
        if length_s > MAX_SHOW_S:
            where = find(node, "loops") or node
            c.error(where, f"sections[{i}]", f"lasts {length_s:.3g} s (loops x the walk's "
                    f"period / speed); a section lasts at most {MAX_SHOW_S:g} s")  # fmt: skip
            return
        total_s += length_s
    if total_s > MAX_SHOW_S:
        c.error(keys["sections"], "sections", f"one pass lasts {total_s:.3g} s; a show lasts at "
                f"most {MAX_SHOW_S:g} s")  # fmt: skip


def read_settings(c: ShowChecker, node: Node, path: str) -> Any:
    """The `show:` block."""
    path = "show"
    keys = c.mapping(
        node,
        path,
        (),
        ("title", "output", "background", "speed", "opening_hours", "reload", "osc", "http",
         "tempo_bpm", "outputs"),
    )  # fmt: skip
    if keys is None:
        return BAD
    d = ShowSettings()
    title = opt(c, keys, "title", path, c.string, d.title)
    output = opt(c, keys, "output", path, lambda n, p: read_output(c, n, p), d.output)
    background = opt(c, keys, "background", path, lambda n, p: read_colour(c, n, p), d.background)
    speed = opt(c, keys, "speed", path, lambda n, p: read_speed(c, n, p), d.speed)
    hours = opt(c, keys, "opening_hours", path, lambda n, p: read_hours(c, n, p), None)
    reload = opt(c, keys, "reload", path, lambda n, p: read_reload(c, n, p), d.reload)
    osc = opt(c, keys, "osc", path, lambda n, p: read_osc(c, n, p), d.osc)
    http = opt(c, keys, "http", path, lambda n, p: read_http(c, n, p), d.http)
    low, high = TEMPO_RANGE_BPM
    tempo = opt(c, keys, "tempo_bpm", path,
                lambda n, p: c.number(n, p, gt=0, at_least=low, at_most=high), d.tempo_bpm)
    outputs = opt(c, keys, "outputs", path, lambda n, p: read_outputs(c, n, p), None)
    parts = (title, output, background, speed, hours, reload, osc, http, tempo, outputs)
    return ShowSettings(*parts) if all_ok(*parts) else BAD


def read_outputs(c: ShowChecker, node: Node, path: str) -> Any:
    """`outputs: {screens: [display or {display, fit}], overlap: 0.15 or "192px", gamma}`."""
    keys = c.mapping(node, path, ("screens",), ("overlap", "gamma"))
    if keys is None:
        return BAD
    if "screens" not in keys:  # reported by mapping()
        return BAD
    screens = read_list(c, keys["screens"], join(path, "screens"), read_screen, MAX_OUTPUTS)
    if screens is not BAD and not screens:
        screens = c.error(keys["screens"], join(path, "screens"), "must name at least one screen")
    overlap = opt(c, keys, "overlap", path, lambda n, p: read_overlap(c, n, p), (0.0, False))
    low, high = BLEND_GAMMA_RANGE
    gamma = opt(c, keys, "gamma", path,
                lambda n, p: c.number(n, p, gt=0, at_least=low, at_most=high),
                DEFAULT_BLEND_GAMMA)  # fmt: skip
    if not all_ok(screens, overlap, gamma):
        return BAD
    return OutputsSettings(screens, overlap[0], overlap[1], gamma)


def read_screen(c: ShowChecker, node: Node, path: str) -> Any:
    """One output: a display index, or `{display, fit}`."""
    if not isinstance(node, MappingNode):
        display = c.integer(node, path, 0, maximum=MAX_DISPLAY_INDEX)
        return BAD if display is BAD else OutputScreen(display)
    keys = c.mapping(node, path, ("display",), ("fit",))
    if keys is None:
        return BAD
    display = c.integer(keys["display"], join(path, "display"), 0, maximum=MAX_DISPLAY_INDEX)
    fit = opt(c, keys, "fit", path, lambda n, p: c.choice(n, p, OUTPUT_FITS), None)
    return OutputScreen(display, fit) if all_ok(display, fit) else BAD


def read_overlap(c: ShowChecker, node: Node, path: str) -> Any:
    """(value, is_px): a fraction of an output's width (0 to 0.5), or "192px"."""
    v = c.value(node) if isinstance(node, ScalarNode) else None
    if isinstance(v, str):
        match = re.fullmatch(r"(\d{1,5})px", v.strip())
        if match and int(match[1]) <= MAX_OVERLAP_PX:
            return float(match[1]), True
        return c.error(node, path, f'must be a fraction like 0.15 or pixels like "192px", '
                       f"got {got(c, node)}")  # fmt: skip
    fraction = c.number(node, path, ge=0, at_most=MAX_OVERLAP_FRACTION)
    return fraction if fraction is BAD else (fraction, False)


def read_speed(c: ShowChecker, node: Node, path: str) -> Any:
    """The show's speed factor, SPEED_RANGE."""
    low, high = SPEED_RANGE
    return c.number(node, path, gt=0, at_least=low, at_most=high)


def read_hz(c: ShowChecker, node: Node, path: str) -> Any:
    """A frequency in Hz: > 0, at least 1 / MAX_TIME_S, at most 1 / MIN_TIME_S."""
    return c.number(node, path, gt=0, at_least=1 / MAX_TIME_S, at_most=1 / MIN_TIME_S)


# -- OSC -------------------------------------------------------------------------------------

def read_osc(c: ShowChecker, node: Node, path: str) -> Any:
    """`osc: {port, host, allow, feedback: [host, port], heartbeat_s, oscquery_port}`, every key
    optional."""
    keys = c.mapping(node, path, (), ("port", "host", "allow", "feedback", "heartbeat_s",
                                      "oscquery_port"))  # fmt: skip
    if keys is None:
        return BAD
    port = opt(c, keys, "port", path, lambda n, p: read_port(c, n, p, nullable=True), None)
    host = opt(c, keys, "host", path, lambda n, p: read_host(c, n, p), None)
    allow = opt(c, keys, "allow", path, lambda n, p: read_allow(c, n, p), None)
    feedback = opt(c, keys, "feedback", path, lambda n, p: read_feedback(c, n, p), None)
    heartbeat = opt(c, keys, "heartbeat_s", path, c.seconds, None)
    oscquery = opt(c, keys, "oscquery_port", path, lambda n, p: read_port(c, n, p, nullable=True),
                   None)  # fmt: skip
    parts = (port, host, allow, feedback, heartbeat, oscquery)
    return OscSettings(*parts) if all_ok(*parts) else BAD


def read_http(c: ShowChecker, node: Node, path: str) -> Any:
    """`http: {port, host, allow, token}`, every key optional (docs/control.md)."""
    keys = c.mapping(node, path, (), ("port", "host", "allow", "token"))
    if keys is None:
        return BAD
    port = opt(c, keys, "port", path, lambda n, p: read_port(c, n, p, nullable=True), None)
    host = opt(c, keys, "host", path, lambda n, p: read_host(c, n, p), None)
    allow = opt(c, keys, "allow", path, lambda n, p: read_allow(c, n, p), None)
    token = opt(c, keys, "token", path, lambda n, p: read_token(c, n, p), None)
    parts = (port, host, allow, token)
    return HttpSettings(*parts) if all_ok(*parts) else BAD


def read_token(c: ShowChecker, node: Node, path: str) -> Any:
    """An HTTP token (netcheck.TOKEN_TEXT); the error never repeats it."""
    text = c.string(node, path)
    if text is BAD:
        return BAD
    if not is_token(text):
        return c.error(node, path, f"must be {TOKEN_TEXT} ({len(text)} characters given)")
    return text


def read_port(c: ShowChecker, node: Node, path: str, nullable: bool = False) -> Any:
    """A UDP port, 1..65535 (or null when `nullable`)."""
    v = c.value(node) if isinstance(node, ScalarNode) else BAD
    if nullable and v is None:
        return None
    if is_port(v):
        return v
    null = " or null" if nullable else ""
    return c.error(node, path, f"must be {PORT_TEXT}{null}, got {got(c, node)}")


def read_host(c: ShowChecker, node: Node, path: str) -> Any:
    """A host name or IP address to bind to or send to (no spaces, no port)."""
    text = c.string(node, path)
    if text is BAD:
        return BAD
    if not is_host(text):
        return c.error(
            node, path, f"must be a host name or an IP address (no port, no spaces), got {text!r}"
        )
    return text


def read_allow(c: ShowChecker, node: Node, path: str) -> Any:
    """A list of allow-list entries (a single entry may be written without the list)."""
    items = [node] if isinstance(node, ScalarNode) else c.sequence(node, path, min_len=1)
    if items is None:
        return BAD
    out = []
    for i, item in enumerate(items):
        p = path if item is node else f"{path}[{i}]"
        v = c.value(item) if isinstance(item, ScalarNode) else None
        try:
            entry = allow_entry(v if isinstance(v, str) else "")
        except ValueError as exc:
            reason = f" ({exc})" if isinstance(v, str) and "/" in v else ""
            out.append(c.error(item, p, f"must be {ALLOW_HELP}, got {got(c, item)}{reason}"))
            continue
        out.append(entry if isinstance(entry, str) else v.strip())
    return tuple(out) if all_ok(*out) else BAD


def read_feedback(c: ShowChecker, node: Node, path: str) -> Any:
    """[host, port] of a tablet that also gets replies and heartbeats."""
    return read_pair(
        c, node, path, "[host, port]", "item(s)",
        lambda n, p: read_host(c, n, p), lambda n, p: read_port(c, n, p),
    )  # fmt: skip


# -- sensors ---------------------------------------------------------------------------------

MAX_DIRECTIONS = 4096  # entries of a directions .npz
MAX_NAMES_BYTES = 2**20  # the names of a directions .npz
MAX_NAMES_TOTAL = 16 * 2**20  # the names of all the directions files of a show
MAX_ARRAY_FILES = 256  # distinct latent and direction files one show names
MIN_SPAN = 1e-6  # the narrowest sensor input or output range
SENSOR_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # as /sensor/<name> accepts (control/addresses.py)
SENSOR_KEYS = ("curve", "smoothing", "dead_band", "timeout_s", "index")
SMOOTHING_KEYS = {
    "none": (),
    "exponential": ("time_constant_s",),
    "one_euro": ("min_cutoff_hz", "beta", "d_cutoff_hz"),
}


# -- audio -----------------------------------------------------------------------------------

AUDIO_MAX_MESSAGES = 64  # messages an event sends in turn
AUDIO_MAX_ARGS = 16


def read_audio(c: ShowChecker, node: Node, path: str) -> Any:
    """`audio: {input, on_onset, on_beat}` (shows/README.md §12)."""
    path = "audio"
    keys = c.mapping(node, path, (), ("input", "on_onset", "on_beat"))
    if keys is None:
        return BAD
    device = opt(c, keys, "input", path, c.string, None)
    onset = opt(c, keys, "on_onset", path, lambda n, p: read_audio_event(c, n, p), None)
    beat = opt(c, keys, "on_beat", path, lambda n, p: read_audio_event(c, n, p), None)
    parts = (device, onset, beat)
    return AudioSettings(*parts) if all_ok(*parts) else BAD


def read_audio_event(c: ShowChecker, node: Node, path: str) -> Any:
    """`{send, every, min_interval_s}`: send is one message `[/address, args...]` or a list of
    them, sent in turn."""
    keys = c.mapping(node, path, ("send",), ("every", "min_interval_s"))
    if keys is None:
        return BAD
    every = opt(c, keys, "every", path, lambda n, p: c.integer(n, p, minimum=1, maximum=10_000), 1)
    interval = opt(c, keys, "min_interval_s", path, c.seconds, 0.0)
    messages = read_audio_messages(c, keys["send"], join(path, "send"))
    parts = (messages, every, interval)
    return AudioEvent(*parts) if all_ok(*parts) else BAD


def read_audio_messages(c: ShowChecker, node: Node, path: str) -> Any:
    """One message `[/address, arg, ...]` (or just `/address`), or a list of them."""
    if isinstance(node, ScalarNode):
        message = read_audio_message(c, node, path)
        return BAD if message is BAD else (message,)
    items = c.sequence(node, path, min_len=1)
    if items is None:
        return BAD
    if not isinstance(items[0], SequenceNode):  # one message written as a flat list
        message = read_audio_message(c, node, path)
        return BAD if message is BAD else (message,)
    if len(items) > AUDIO_MAX_MESSAGES:
        return c.error(node, path, f"at most {AUDIO_MAX_MESSAGES} messages, got {len(items)}")
    messages = tuple(read_audio_message(c, n, f"{path}[{i}]") for i, n in enumerate(items))
    return messages if all_ok(*messages) else BAD


def read_audio_message(c: ShowChecker, node: Node, path: str) -> Any:
    """`/address` or `[/address, arg, ...]`: an OSC address and plain scalar arguments."""
    items = [node] if isinstance(node, ScalarNode) else c.sequence(node, path, min_len=1)
    if items is None:
        return BAD
    address = c.string(items[0], path)
    if address is BAD:
        return BAD
    if not address.startswith("/") or len(address) > 200:
        return c.error(items[0], path, f"must start with an OSC address like /show/next, got "
                       f"{address[:60]!r}")  # fmt: skip
    if len(items) - 1 > AUDIO_MAX_ARGS:
        return c.error(node, path, f"at most {AUDIO_MAX_ARGS} arguments, got {len(items) - 1}")
    args = []
    for i, item in enumerate(items[1:], start=1):
        value = c.value(item) if isinstance(item, ScalarNode) else BAD
        if value is BAD or value is None or not isinstance(value, str | int | float | bool):
            return c.error(item, f"{path}[{i}]", "must be a number, a word or true/false")
        args.append(value)
    return AudioMessage(address, tuple(args), node.start_mark.line + 1)


def read_sensors(c: ShowChecker, node: Node, path: str) -> Any:
    """`sensors: {name: {target, input, output, curve, smoothing, dead_band, timeout_s, index}}`."""
    entries = c.named_mapping(node, path)
    if entries is None:
        return BAD
    out = []
    for name, key_node, value in entries:
        p = join(path, name)
        if not SENSOR_NAME.fullmatch(name) or len(name) > 100:
            out.append(
                c.error(key_node, p, "a sensor name is 1..100 letters, digits, '_', '-' or '.'")
            )
            continue
        out.append(read_sensor(c, value, p, name))
    return tuple(out) if all_ok(*out) else BAD


def read_sensor(c: ShowChecker, node: Node, path: str, name: str) -> Any:
    """One sensor mapping."""
    keys = c.mapping(node, path, ("target", "input", "output"), SENSOR_KEYS)
    if keys is None:
        return BAD
    target = opt(c, keys, "target", path, lambda n, p: read_live_target(c, n, p), BAD)
    low_high = "[from, to] (two different numbers)"
    rng_in = opt(c, keys, "input", path, lambda n, p: read_span(c, n, p, low_high), BAD)
    rng_out = opt(c, keys, "output", path, lambda n, p: read_span(c, n, p, low_high), BAD)
    curve = opt(c, keys, "curve", path, lambda n, p: c.choice(n, p, SENSOR_CURVES), "linear")
    smoothing = opt(c, keys, "smoothing", path, lambda n, p: read_smoothing(c, n, p), Smoothing())
    dead_band = opt(c, keys, "dead_band", path, lambda n, p: c.number(n, p, ge=0), 0.0)
    timeout = opt(c, keys, "timeout_s", path, c.seconds, SENSOR_DEFAULT_TIMEOUT_S)
    index = opt(c, keys, "index", path, lambda n, p: c.integer(n, p, minimum=0), 0)
    if index is not BAD and index >= SENSOR_MAX_VALUES:
        index = c.error(
            keys["index"],
            join(path, "index"),
            f"must be < {SENSOR_MAX_VALUES} (a /sensor message has at most "
            f"{SENSOR_MAX_VALUES} values), got {index}",
        )
    parts = (target, rng_in, rng_out, curve, smoothing, dead_band, timeout, index)
    return Sensor(name, *parts) if all_ok(*parts) else BAD


def read_live_target(c: ShowChecker, node: Node, path: str) -> Any:
    """A live parameter name: one of LIVE_TARGETS or direction/<name>."""
    v = c.value(node) if isinstance(node, ScalarNode) else None
    if isinstance(v, str) and (
        v in LIVE_TARGETS or (v.startswith("direction/") and len(v) > len("direction/"))
    ):
        return v
    expected = ", ".join((*LIVE_TARGETS, "direction/<name>"))
    close = difflib.get_close_matches(v, LIVE_TARGETS, n=1) if isinstance(v, str) else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return c.error(node, path, f"{got(c, node)} is not one of {expected}{hint}")


def read_span(c: ShowChecker, node: Node, path: str, help_text: str) -> Any:
    """[a, b] of two different numbers (either order)."""
    pair = read_pair(c, node, path, help_text, "number(s)", c.number)
    if pair is BAD:
        return BAD
    a, b = pair
    if a == b:
        return c.error(node, path, f"must be {help_text}, got [{a:g}, {b:g}]")
    if abs(a - b) < MIN_SPAN:  # mapping onto a span this small divides by (nearly) zero
        return c.error(node, path, f"must be at least {MIN_SPAN:g} apart, got [{a:g}, {b:g}]")
    return (a, b)


def read_smoothing(c: ShowChecker, node: Node, path: str) -> Any:
    """`none`, or `{kind: none | exponential | one_euro, ...its parameters}`."""
    if isinstance(node, ScalarNode):
        if c.value(node) in ("none", None):
            return Smoothing()
        kinds = ", ".join(SMOOTHING_KINDS)
        return c.error(node, path, f"must be none or a mapping {{kind: {kinds}, ...}}, got "
                       f"{got(c, node)}")  # fmt: skip
    if not isinstance(node, MappingNode):
        return c.error(node, path, f"must be none or a mapping, got {describe(c, node)}")
    kind_node = find(node, "kind")
    if kind_node is None:
        return c.error(node, path, "missing required key 'kind'")
    kind = c.choice(kind_node, join(path, "kind"), SMOOTHING_KINDS)
    if kind is BAD:
        return BAD
    for key_node, _ in node.value:
        owner = next((k for k, ks in SMOOTHING_KEYS.items() if key_node.value in ks), kind)
        if owner != kind:
            c.error(key_node, join(path, key_node.value), f"only for kind {owner}, got kind {kind}")
            return BAD
    keys = c.mapping(node, path, ("kind",), SMOOTHING_KEYS[kind])
    if keys is None:
        return BAD
    d = Smoothing()
    tau = opt(
        c, keys, "time_constant_s", path, lambda n, p: c.seconds(n, p, positive=True),
        d.time_constant_s,
    )  # fmt: skip
    min_cutoff = opt(c, keys, "min_cutoff_hz", path, lambda n, p: read_hz(c, n, p), d.min_cutoff_hz)
    beta = opt(c, keys, "beta", path, lambda n, p: c.number(n, p, ge=0), d.beta)
    d_cutoff = opt(c, keys, "d_cutoff_hz", path, lambda n, p: read_hz(c, n, p), d.d_cutoff_hz)
    parts = (kind, tau, min_cutoff, beta, d_cutoff)
    return Smoothing(*parts) if all_ok(*parts) else BAD


def read_reload(c: ShowChecker, node: Node, path: str) -> Any:
    """`reload: {when: now | section_end, crossfade_s}`."""
    keys = c.mapping(node, path, (), ("when", "crossfade_s"))
    if keys is None:
        return BAD
    d = ReloadSettings()
    when = opt(c, keys, "when", path, lambda n, p: c.choice(n, p, RELOAD_WHEN), d.when)
    fade = opt(c, keys, "crossfade_s", path, c.seconds, d.crossfade_s)
    return ReloadSettings(when, fade) if all_ok(when, fade) else BAD


def read_output(c: ShowChecker, node: Node, path: str) -> Any:
    """`output: {size_px: [w, h], fps}`."""
    keys = c.mapping(node, path, (), ("size_px", "fps"))
    if keys is None:
        return BAD
    d = OutputSettings()
    size = opt(c, keys, "size_px", path, lambda n, p: read_size(c, n, p), d.size_px)
    fps = opt(
        c, keys, "fps", path,
        lambda n, p: c.number(n, p, gt=0, at_least=FPS_RANGE[0], at_most=FPS_RANGE[1]), d.fps,
    )  # fmt: skip
    return OutputSettings(size, fps) if all_ok(size, fps) else BAD


def read_size(c: ShowChecker, node: Node, path: str) -> Any:
    """[width, height] in pixels."""
    return read_pair(
        c, node, path, "[width, height]", "numbers",
        lambda n, p: c.integer(n, p, 1, maximum=MAX_SIZE_PX),
    )  # fmt: skip


def read_colour(c: ShowChecker, node: Node, path: str) -> Any:
    """'#rrggbb' (quote it in YAML: # starts a comment)."""
    v = c.value(node) if isinstance(node, ScalarNode) else None
    if isinstance(v, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", v):
        return v.lower()
    hint = ""
    if v is None:  # `background: #ff0000` unquoted: the colour was read as a comment
        lines = c.text.splitlines()
        line = lines[node.start_mark.line] if node.start_mark.line < len(lines) else ""
        colour = re.search(r"#[0-9A-Fa-f]{3,8}\b", line[node.start_mark.column :])
        if colour:
            hint = (f"; an unquoted # starts a YAML comment, so quote the colour: "
                    f'"{colour.group(0)}"')  # fmt: skip
    return c.error(
        node, path, f'must be a quoted hex colour like "#000000", got {got(c, node)}{hint}'
    )


def read_time(c: ShowChecker, node: Node, path: str) -> Any:
    """'HH:MM' (24-hour clock)."""
    # YAML 1.1 reads an unquoted 10:00 as the integer 600: take the text as written.
    text = node.value if isinstance(node, ScalarNode) else ""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return datetime.time(int(match[1]), int(match[2]))
    return c.error(node, path, f'must be a time "HH:MM" (00:00 to 23:59), got {got(c, node)}')


def read_hours(c: ShowChecker, node: Node, path: str) -> Any:
    """`opening_hours: {days, from, to, outside}`."""
    keys = c.mapping(node, path, ("from", "to"), ("days", "outside"))
    if keys is None:
        return BAD
    d = OpeningHours()
    days: Any = d.days
    if "days" in keys:
        items = c.sequence(keys["days"], join(path, "days"), min_len=1)
        if items is None:
            days = BAD
        else:
            days = tuple(c.choice(n, f"{path}.days[{i}]", DAYS) for i, n in enumerate(items))
            days = days if all_ok(*days) else BAD
    start = opt(c, keys, "from", path, lambda n, p: read_time(c, n, p), d.start)
    end = opt(c, keys, "to", path, lambda n, p: read_time(c, n, p), d.end)
    outside = opt(c, keys, "outside", path, c.string, d.outside)
    if not all_ok(days, start, end, outside):
        return BAD
    return OpeningHours(days, start, end, outside)


def read_model(c: ShowChecker, node: Node, path: str, name: str) -> Any:
    """One entry of `models:`."""
    keys = c.mapping(node, path, ("path",), ("psi", "cutoff", "noise_mode", "class_index"))
    if keys is None:
        return BAD
    file = opt(c, keys, "path", path, lambda n, p: c.file(n, p, ()), BAD)
    psi = opt(c, keys, "psi", path, lambda n, p: c.number(n, p, at_most=MAX_PSI), 1.0)
    cutoff = opt(
        c, keys, "cutoff", path,
        lambda n, p: c.integer(n, p, 1, nullable=True, maximum=MAX_CUTOFF), None,
    )  # fmt: skip
    noise = opt(c, keys, "noise_mode", path, lambda n, p: c.choice(n, p, NOISE_MODES), "const")
    cls = opt(c, keys, "class_index", path, lambda n, p: c.integer(n, p, 0, nullable=True), None)
    if not all_ok(file, psi, cutoff, noise, cls):
        return BAD
    return ModelEntry(name, file, psi, cutoff, noise, cls)


SECTION_KEYS = ("transition", "live", "automation", "mixing", "directions", "duration_s", "loops")


def read_section(c: ShowChecker, node: Node, path: str) -> Any:
    """One entry of `sections:`."""
    keys = c.mapping(node, path, ("name", "model", "walk"), SECTION_KEYS)
    if keys is None:
        return BAD
    name = c.string(keys["name"], join(path, "name")) if "name" in keys else BAD
    model = c.string(keys["model"], join(path, "model")) if "model" in keys else BAD
    duration = opt(c, keys, "duration_s", path, lambda n, p: c.seconds(n, p, True), None)
    loops = opt(c, keys, "loops", path, lambda n, p: c.integer(n, p, 1, maximum=MAX_LOOPS), None)
    if ("duration_s" in keys) == ("loops" in keys):
        c.error(
            node,
            path,
            "needs exactly one of 'duration_s' and 'loops', got "
            + ("both" if "loops" in keys else "neither"),
        )
        duration = BAD
    transition = opt(
        c, keys, "transition", path, lambda n, p: read_transition(c, n, p), Transition()
    )
    live = opt(c, keys, "live", path, lambda n, p: read_live(c, n, p), ())
    walk = read_walk(c, keys["walk"], join(path, "walk")) if "walk" in keys else BAD
    automation = opt(
        c, keys, "automation", path, lambda n, p: read_automation(c, n, p), Automation()
    )
    mixing = opt(c, keys, "mixing", path, lambda n, p: read_list(c, n, p, read_mixing), ())
    directions = opt(
        c, keys, "directions", path, lambda n, p: read_list(c, n, p, read_direction), ()
    )
    parts = (name, model, walk, duration, loops, transition, live, automation, mixing, directions)
    return Section(*parts) if all_ok(*parts) else BAD


def read_transition(c: ShowChecker, node: Node, path: str) -> Any:
    """`transition: {kind, duration_s}`."""
    keys = c.mapping(node, path, ("kind",), ("duration_s",))
    if keys is None:
        return BAD
    kind = opt(c, keys, "kind", path, lambda n, p: c.choice(n, p, TRANSITION_KINDS), BAD)
    dur = opt(c, keys, "duration_s", path, c.seconds, 0.0)
    if kind == "cut" and dur not in (BAD, 0.0):
        c.error(
            keys["duration_s"],
            join(path, "duration_s"),
            "a cut has no duration; use kind crossfade or image_crossfade",
        )
        return BAD
    return Transition(kind, dur) if all_ok(kind, dur) else BAD


def read_live(c: ShowChecker, node: Node, path: str) -> Any:
    """`live: {param: {range: [lo, hi], slew_s, hold_s}}`."""
    entries = c.named_mapping(node, path)
    if entries is None:
        return BAD
    out = []
    for name, key_node, value in entries:
        p = join(path, name)
        is_direction = name.startswith("direction/") and len(name) > len("direction/")
        if name not in LIVE_TARGETS and not is_direction:
            c.error(key_node, p, unknown_key(name, (*LIVE_TARGETS, "direction/<name>")))
            out.append(BAD)
            continue
        keys = c.mapping(value, p, ("range",), ("slew_s", "hold_s"))
        if keys is None:
            out.append(BAD)
            continue
        rng = opt(c, keys, "range", p, lambda n, q: read_range(c, n, q), BAD)
        slew = opt(c, keys, "slew_s", p, c.seconds, LIVE_DEFAULT_SLEW_S)
        hold = opt(c, keys, "hold_s", p, c.seconds, LIVE_DEFAULT_HOLD_S)
        out.append(LiveParam(name, rng, slew, hold) if all_ok(rng, slew, hold) else BAD)
    return tuple(out) if all_ok(*out) else BAD


def read_range(c: ShowChecker, node: Node, path: str) -> Any:
    """[low, high] with low < high."""
    pair = read_pair(c, node, path, "[low, high]", "numbers", c.number)
    if pair is BAD:
        return BAD
    lo, hi = pair
    if lo >= hi:
        return c.error(node, path, f"must be [low, high] with low < high, got [{lo:g}, {hi:g}]")
    return (lo, hi)


WALK_KEYS = (
    "space",
    "path",
    "closed",
    "easing",
    "seconds_per_keyframe",
    "beats_per_keyframe",
    "perceptual",
    "keyframes",
    "noise",
    "random_walk",
)


def read_walk(c: ShowChecker, node: Node, path: str) -> Any:
    """`walk:` of a section."""
    keys = c.mapping(node, path, ("path",), tuple(k for k in WALK_KEYS if k != "path"))
    if keys is None:
        return BAD
    d = Walk()
    space = opt(c, keys, "space", path, lambda n, p: c.choice(n, p, SPACES), d.space)
    kind = opt(c, keys, "path", path, lambda n, p: c.choice(n, p, PATH_KINDS), BAD)
    closed = opt(c, keys, "closed", path, c.boolean, d.closed)
    easing = opt(c, keys, "easing", path, lambda n, p: c.choice(n, p, EASING_NAMES), d.easing)
    spk = opt(
        c,
        keys,
        "seconds_per_keyframe",
        path,
        lambda n, p: c.seconds(n, p, positive=True),
        d.seconds_per_keyframe,
    )
    beats = opt(c, keys, "beats_per_keyframe", path,
                lambda n, p: c.number(n, p, gt=0, at_most=MAX_BEATS), None)  # fmt: skip
    if "beats_per_keyframe" in keys and "seconds_per_keyframe" in keys:
        beats = c.error(keys["beats_per_keyframe"], join(path, "beats_per_keyframe"),
                        "give seconds_per_keyframe or beats_per_keyframe, not both")  # fmt: skip
    perceptual = opt(c, keys, "perceptual", path, c.boolean, d.perceptual)
    keyframes = opt(
        c, keys, "keyframes", path,
        lambda n, p: read_list(c, n, p, read_keyframe, max_len=MAX_KEYFRAMES), (),
    )  # fmt: skip
    noise = opt(c, keys, "noise", path, lambda n, p: read_noise(c, n, p), None)
    rwalk = opt(c, keys, "random_walk", path, lambda n, p: read_random_walk(c, n, p), None)
    if kind in ("linear", "slerp", "cubic") and keyframes != BAD:
        need = 1 if closed else 2
        if len(keyframes) < need:
            where = keys.get("keyframes", node)
            c.error(
                where,
                join(path, "keyframes"),
                f"a {kind} path needs at least {need} keyframe(s), got {len(keyframes)}",
            )
            keyframes = BAD
    for key, only in (("noise", "noise_loop"), ("random_walk", "random_walk")):
        if key in keys and kind not in (BAD, only):
            c.error(keys[key], join(path, key), f"only for path {only}, got path {kind}")
            kind = BAD
    if space == "z" and keyframes not in (BAD, ()):
        for i, (keyframe, item) in enumerate(zip(keyframes, keys["keyframes"].value, strict=True)):
            if keyframe.kind in ("w", "projected"):
                keyframes = c.error(
                    item, f"{path}.keyframes[{i}]",
                    f"a {keyframe.kind} keyframe is in w and cannot be used in a walk with "
                    "space: z (use space: w)",
                )  # fmt: skip
    if kind == "noise_loop" and noise is None:
        noise = NoiseLoop()
    if kind == "random_walk" and rwalk is None:
        rwalk = RandomWalk()
    parts = (space, kind, closed, easing, spk, beats, perceptual, keyframes, noise, rwalk)
    return Walk(*parts) if all_ok(*parts) else BAD


def read_noise(c: ShowChecker, node: Node, path: str) -> Any:
    """`noise: {seed, radius, harmonics}`."""
    keys = c.mapping(node, path, (), ("seed", "radius", "harmonics"))
    if keys is None:
        return BAD
    d = NoiseLoop()
    seed = opt(c, keys, "seed", path, c.seed, d.seed)
    radius = opt(
        c, keys, "radius", path, lambda n, p: c.number(n, p, gt=0, at_most=MAX_NOISE_RADIUS),
        d.radius,
    )  # fmt: skip
    harmonics = opt(
        c, keys, "harmonics", path,
        lambda n, p: c.integer(n, p, 1, maximum=MAX_NOISE_HARMONICS), d.harmonics,
    )  # fmt: skip
    return NoiseLoop(seed, radius, harmonics) if all_ok(seed, radius, harmonics) else BAD


def read_random_walk(c: ShowChecker, node: Node, path: str) -> Any:
    """`random_walk: {seed, count}`."""
    keys = c.mapping(node, path, (), ("seed", "count"))
    if keys is None:
        return BAD
    d = RandomWalk()
    seed = opt(c, keys, "seed", path, c.seed, d.seed)
    count = opt(
        c, keys, "count", path, lambda n, p: c.integer(n, p, 2, maximum=MAX_RANDOM_WALK_COUNT),
        d.count,
    )  # fmt: skip
    return RandomWalk(seed, count) if all_ok(seed, count) else BAD


def read_keyframe(c: ShowChecker, node: Node, path: str, timing: bool = True) -> Any:
    """One keyframe form: seed, w, z, projected, mean or random (plus psi and timing)."""
    extra = ("psi", *KEYFRAME_TIMING) if timing else ("psi",)
    keys = c.mapping(node, path, (), KEYFRAME_FORMS + extra)
    if keys is None:
        return BAD
    forms = [k for k in KEYFRAME_FORMS if k in keys]
    if len(forms) != 1:
        got_forms = ", ".join(forms) if forms else "none"
        return c.error(
            node, path, f"needs exactly one of {', '.join(KEYFRAME_FORMS)}; got {got_forms}"
        )
    kind = forms[0]
    p = join(path, kind)
    n = keys[kind]
    seed: Any = None
    file: Any = None
    if kind in ("seed", "random"):
        seed = c.seed(n, p)
    elif kind == "w":
        file = c.array_file(n, p, ".npy", (1, 2), "[w_dim] or [num_ws, w_dim]")
    elif kind == "z":
        file = c.array_file(n, p, ".npy", (1,), "[z_dim]")
    elif kind == "projected":
        file = c.array_file(n, p, ".npz", (1, 2), "[w_dim] or [num_ws, w_dim]")
    elif not (isinstance(n, ScalarNode) and c.value(n) is True):
        seed = c.error(n, p, f"must be true, got {got(c, n)}")
    psi = opt(c, keys, "psi", path, lambda m, q: c.number(m, q, at_most=MAX_PSI), None)
    if "psi" in keys and kind in ("w", "projected"):
        psi = c.error(
            keys["psi"],
            join(path, "psi"),
            f"a {kind} keyframe is already in w; psi applies to seed, random, z and mean keyframes",
        )
    hold = opt(c, keys, "hold_s", path, c.seconds, 0.0)
    dur = opt(c, keys, "duration_s", path, lambda m, q: c.seconds(m, q, positive=True), None)
    easing = opt(c, keys, "easing", path, lambda m, q: c.choice(m, q, EASING_NAMES), None)
    parts = (kind, seed, file, psi, hold, dur, easing)
    return Keyframe(*parts) if all_ok(*parts) else BAD


def read_signal(c: ShowChecker, node: Node, path: str, constant: bool = False) -> Any:
    """A Curve `{keys, easing}` or an Lfo `{lfo: {...}}` (or a plain number if `constant`)."""
    if constant and isinstance(node, ScalarNode):
        return c.number(node, path)
    keys = c.mapping(node, path, (), ("keys", "easing", "lfo"))
    if keys is None:
        return BAD
    if ("keys" in keys) == ("lfo" in keys):
        return c.error(
            node,
            path,
            "needs exactly one of 'keys' and 'lfo'" + (" (or a number)" if constant else ""),
        )
    if "lfo" in keys:
        if "easing" in keys:
            return c.error(keys["easing"], join(path, "easing"), "an lfo has no easing")
        return read_lfo(c, keys["lfo"], join(path, "lfo"))
    pairs = read_keys(c, keys["keys"], join(path, "keys"))
    easing = opt(c, keys, "easing", path, lambda n, p: c.choice(n, p, EASING_NAMES), "linear")
    return Curve(pairs, easing) if all_ok(pairs, easing) else BAD


def read_keys(c: ShowChecker, node: Node, path: str) -> Any:
    """[[time_s, value], ...] with time strictly ascending."""
    items = c.sequence(node, path, min_len=1)
    if items is None:
        return BAD
    pairs: list[Any] = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if not isinstance(item, SequenceNode) or len(item.value) != 2:
            pairs.append(c.error(item, p, f"must be [time_s, value], got {describe(c, item)}"))
            continue
        t = c.seconds(item.value[0], f"{p}[0]")
        v = c.number(item.value[1], f"{p}[1]")
        pairs.append((t, v) if all_ok(t, v) else BAD)
    if not all_ok(*pairs):
        return BAD
    for i in range(1, len(pairs)):
        if pairs[i][0] <= pairs[i - 1][0]:
            return c.error(
                items[i],
                f"{path}[{i}][0]",
                f"times must ascend: {pairs[i][0]:g} comes after {pairs[i - 1][0]:g}",
            )
    return tuple(pairs)


def read_lfo(c: ShowChecker, node: Node, path: str) -> Any:
    """`lfo: {period_s or period_beats, amplitude, center, phase, shape, seed}`."""
    keys = c.mapping(node, path, (),
                     ("period_s", "period_beats", "amplitude", "center", "phase", "shape",
                      "seed"))  # fmt: skip
    if keys is None:
        return BAD
    if ("period_s" in keys) == ("period_beats" in keys):
        return c.error(node, path, "give period_s or period_beats (one of them)")
    period = opt(c, keys, "period_s", path, lambda n, p: c.seconds(n, p, positive=True), 1.0)
    beats = opt(c, keys, "period_beats", path,
                lambda n, p: c.number(n, p, gt=0, at_most=MAX_BEATS), None)  # fmt: skip
    amp = opt(c, keys, "amplitude", path, c.number, 1.0)
    center = opt(c, keys, "center", path, c.number, 0.0)
    phase = opt(c, keys, "phase", path, c.number, 0.0)
    shape = opt(c, keys, "shape", path, lambda n, p: c.choice(n, p, LFO_SHAPES), "sine")
    seed = opt(c, keys, "seed", path, c.seed, 0)
    parts = (period, amp, center, phase, shape, seed, beats)
    return Lfo(*parts) if all_ok(*parts) else BAD


def read_automation(c: ShowChecker, node: Node, path: str) -> Any:
    """`automation: {target: curve or lfo}`."""
    keys = c.mapping(node, path, (), AUTOMATION_TARGETS)
    if keys is None:
        return BAD
    values = {k: read_signal(c, n, join(path, k)) for k, n in keys.items()}
    for target, limit in AUTOMATION_LIMITS.items():
        signal = values.get(target)
        if signal is None or signal is BAD:
            continue
        if isinstance(signal, Lfo):
            low = signal.center - abs(signal.amplitude)
            high = signal.center + abs(signal.amplitude)
        else:
            low, high = min(v for _, v in signal.keys), max(v for _, v in signal.keys)
        if low < limit[0] or high > limit[1]:
            values[target] = c.error(
                keys[target], join(path, target),
                f"goes from {low:g} to {high:g}; {target} stays within {limit[0]:g} .. "
                f"{limit[1]:g}",
            )  # fmt: skip
    return Automation(**values) if all_ok(*values.values()) else BAD


# automation targets with a narrower range than MAX_NUMBER (what a frame can be made with)
AUTOMATION_LIMITS = {"psi": (-MAX_PSI, MAX_PSI), "cutoff": (0.0, float(MAX_CUTOFF))}


LAYERS_HELP = 'coarse, middle, fine, "N-", "N-M" or [N, M] with 0 <= N <= M'


def read_layers(c: ShowChecker, node: Node, path: str) -> Any:
    """coarse | middle | fine | "8-" | "0-3" | [8, 13] | 5, as inclusive ws rows."""
    layers = _layers(c, node)
    if layers is None:
        shown = describe(c, node) if isinstance(node, SequenceNode) else got(c, node)
        return c.error(node, path, f"must be {LAYERS_HELP}, got {shown}")
    if max(layers.first, layers.last or 0) > MAX_LAYER:
        return c.error(node, path, f"rows go up to {MAX_LAYER} at most, got {got(c, node)}")
    return layers


def _layers(c: ShowChecker, node: Node) -> Layers | None:
    """The Layers `node` spells (rows not yet bounded), or None."""
    if isinstance(node, SequenceNode):
        v = [c.value(n) for n in node.value]
        if len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            if 0 <= v[0] <= v[1]:
                return Layers(v[0], v[1])
        return None
    v = c.value(node)
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return Layers(v, v)
    if isinstance(v, str):
        if v in NAMED_LAYERS:
            return Layers(*NAMED_LAYERS[v])
        match = re.fullmatch(r"\s*(\d{1,9})\s*-\s*(\d{0,9})\s*", v)
        if match:
            first, last = int(match[1]), int(match[2]) if match[2] else None
            if last is None or first <= last:
                return Layers(first, last)
    return None


def read_mixing(c: ShowChecker, node: Node, path: str) -> Any:
    """`{layers, from: keyframe}`."""
    keys = c.mapping(node, path, ("layers", "from"), ())
    if keys is None:
        return BAD
    layers = opt(c, keys, "layers", path, lambda n, p: read_layers(c, n, p), BAD)
    source = opt(c, keys, "from", path, lambda n, p: read_keyframe(c, n, p, timing=False), BAD)
    return Mixing(layers, source) if all_ok(layers, source) else BAD


def read_direction(c: ShowChecker, node: Node, path: str) -> Any:
    """`{file: .npy | .npz, index | name (.npz), layers, intensity, scale}`."""
    keys = c.mapping(
        node, path, ("file",), ("index", "name", "layers", "intensity", "scale")
    )  # fmt: skip
    if keys is None:
        return BAD
    layers = opt(c, keys, "layers", path, lambda n, p: read_layers(c, n, p), Layers(0, None))
    intensity = opt(
        c, keys, "intensity", path, lambda n, p: read_signal(c, n, p, constant=True), 1.0
    )
    scale = opt(c, keys, "scale", path, lambda n, p: c.choice(n, p, DIRECTION_SCALES), None)
    if "file" not in keys:
        return BAD
    file_text = c.value(keys["file"]) if isinstance(keys["file"], ScalarNode) else None
    if isinstance(file_text, str) and file_text.lower().endswith(".npz"):
        source = read_npz_direction(c, node, keys, path)
    else:
        source = read_npy_direction(c, keys, path)
    if not all_ok(source, layers, intensity, scale):
        return BAD
    file, index, entry, has_std = source
    if scale == "sigma" and not has_std:
        what = "a .npy" if index is None else f"{file.name} has no 'std' array"
        return c.error(
            keys["scale"], join(path, "scale"),
            f"sigma needs the std of a `latent-walk directions` .npz ({what}); use raw",
        )  # fmt: skip
    scale = scale or ("sigma" if has_std else "raw")
    return Direction(file, layers, intensity, index=index, entry=entry, scale=scale)


def read_npy_direction(c: ShowChecker, keys: dict[str, Node], path: str) -> Any:
    """(file, None, None, False) for a .npy of shape [w_dim] or [num_ws, w_dim]."""
    for key in ("index", "name"):
        if key in keys:
            c.error(keys[key], join(path, key), "picks an entry of a directions .npz; not a .npy")
    file = c.array_file(
        keys["file"], join(path, "file"), ".npy", (1, 2), "[w_dim] or [num_ws, w_dim]"
    )
    if file is BAD or "index" in keys or "name" in keys:
        return BAD
    return file, None, None, False


def read_npz_direction(c: ShowChecker, node: Node, keys: dict[str, Node], path: str) -> Any:
    """(file, index, name, has_std) for entry `index` or `name` of a directions .npz.

    The file comes from `latent-walk directions`: `directions` [K, w_dim] or [K, num_ws, w_dim],
    `names` [K] (else entries are called pc0 … pc<K-1>) and optionally `std` [K]. A bad index or
    name is caught here, against the file's K, so a show never starts with one.
    """
    file_path = join(path, "file")
    file = c.file(keys["file"], file_path, (".npz",))
    if file is BAD:
        return BAD
    try:
        infos = c.npz_infos(file)
        if DIRECTIONS_KEY not in infos:
            has = ", ".join(infos) or "none"
            return c.error(
                keys["file"], file_path,
                f"{file} has no array 'directions' (has {has}); make one with "
                "`latent-walk directions`",
            )  # fmt: skip
        shape = infos[DIRECTIONS_KEY].shape
        if infos[DIRECTIONS_KEY].dtype.kind not in NUMBERS:
            return c.error(keys["file"], file_path, f"{file}: 'directions' holds "
                           f"{infos[DIRECTIONS_KEY].dtype} values; expected numbers")  # fmt: skip
        if len(shape) not in (2, 3) or not 0 < shape[0] <= MAX_DIRECTIONS:
            return c.error(
                keys["file"], file_path,
                f"{file}: 'directions' must have shape [K, w_dim] or [K, num_ws, w_dim] with "
                f"1 <= K <= {MAX_DIRECTIONS}, got {list(shape)}",
            )  # fmt: skip
        count = shape[0]
        std = infos.get(DIRECTION_STD_KEY)
        if std is not None and (std.shape != (count,) or std.dtype.kind not in NUMBERS):
            return c.error(keys["file"], file_path, f"{file}: 'std' must hold {count} numbers, "
                           f"got {std.dtype} {list(std.shape)}")  # fmt: skip
        names_info = infos.get(DIRECTION_NAMES_KEY)
        names: list[str] = []
        if names_info is not None and (names_info.shape, names_info.dtype.kind) == ((count,), "U"):
            if names_info.nbytes > MAX_NAMES_BYTES:
                return c.error(keys["file"], file_path, f"{file}: 'names' is {names_info.nbytes} "
                               f"bytes; at most {MAX_NAMES_BYTES}")  # fmt: skip
            names = c.names(file, names_info.nbytes)
            if names is None:
                return c.error(keys["file"], file_path, "the show's direction files hold more "
                               f"than {MAX_NAMES_TOTAL // 2**20} MiB of names")  # fmt: skip
    except ArrayFileError as exc:
        return c.error(keys["file"], file_path, str(exc))
    if len(names) != count:
        names = [f"pc{k}" for k in range(count)]
    has_std = std is not None
    return _npz_entry(c, node, keys, path, file, names, has_std)


def _npz_entry(
    c: ShowChecker,
    node: Node,
    keys: dict[str, Node],
    path: str,
    file: Path,
    names: list[str],
    has_std: bool,
) -> Any:
    """The (file, index, name, has_std) that the direction's `index` or `name` picks."""
    count = len(names)
    if ("index" in keys) == ("name" in keys):
        return c.error(
            node, path,
            f"a .npz direction needs exactly one of 'index' (0..{count - 1}) and 'name' "
            f"(e.g. {names[0]}); {file.name} holds {count}",
        )  # fmt: skip
    if "index" in keys:
        index = c.integer(keys["index"], join(path, "index"), minimum=0)
        if index is not BAD and index >= count:
            return c.error(
                keys["index"], join(path, "index"),
                f"{index} is outside 0..{count - 1}: {file.name} holds {count} directions",
            )  # fmt: skip
        return BAD if index is BAD else (file, index, names[index], has_std)
    name = c.string(keys["name"], join(path, "name"))
    if name is BAD:
        return BAD
    positions = c.positions(file, names)
    if name not in positions:
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"it has {', '.join(names[:8])}"
        hint += " …" if not close and count > 8 else ""
        return c.error(keys["name"], join(path, "name"), f"{name!r} is not in {file.name}; {hint}")
    return file, positions[name], name, has_std


# -- summary ---------------------------------------------------------------------------------


def show_summary(show: Show) -> str:
    """One line: sections, total duration, models."""
    names = ", ".join(s.name for s in show.sections)
    total = show.total_s()
    minutes, seconds = divmod(total, 60)
    length = f"{total:g} s ({int(minutes)} min {seconds:g} s)" if minutes else f"{total:g} s"
    models = ", ".join(f"{m.name} ({m.path.name})" for m in show.models)
    title = f"{show.settings.title!r}: " if show.settings.title else ""
    n, m = len(show.sections), len(show.models)
    return (
        f"{title}{n} section{'s' * (n != 1)} ({names}), total {length}; "
        f"{m} model{'s' * (m != 1)}: {models}"
    )
