"""The show format as a JSON Schema (draft 2020-12), for editor completion; see shows/."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from installation.netcheck import MAX_PORT, MAX_TOKEN_CHARS, MIN_PORT, MIN_TOKEN_CHARS
from installation.show.schema import (
    AUTOMATION_TARGETS,
    BLEND_GAMMA_RANGE,
    DAYS,
    DIRECTION_SCALES,
    EASING_NAMES,
    FPS_RANGE,
    LFO_SHAPES,
    LIVE_TARGETS,
    MAX_CUTOFF,
    MAX_DISPLAY_INDEX,
    MAX_KEYFRAMES,
    MAX_LOOPS,
    MAX_NOISE_HARMONICS,
    MAX_NOISE_RADIUS,
    MAX_NUMBER,
    MAX_OUTPUTS,
    MAX_OVERLAP_FRACTION,
    MAX_OVERLAP_PX,
    MAX_PSI,
    MAX_RANDOM_WALK_COUNT,
    MAX_SEED,
    MAX_SIZE_PX,
    MAX_TIME_S,
    MIN_TIME_S,
    NOISE_MODES,
    OUTPUT_FITS,
    PATH_KINDS,
    RELOAD_WHEN,
    SENSOR_CURVES,
    SENSOR_MAX_VALUES,
    SPACES,
    SPEED_RANGE,
    TEMPO_RANGE_BPM,
    TRANSITION_KINDS,
)

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shows" / "show.schema.json"


# the loader's limits (show/schema.py), as bounds an editor can check
SEED = {"minimum": 0, "maximum": MAX_SEED}
TIME = {"minimum": 0, "maximum": MAX_TIME_S}
POSITIVE_TIME = {"minimum": MIN_TIME_S, "maximum": MAX_TIME_S}
NUMBER = {"minimum": -MAX_NUMBER, "maximum": MAX_NUMBER}
PSI = {"minimum": -MAX_PSI, "maximum": MAX_PSI}


def _obj(desc: str, props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object schema."""
    out: dict[str, Any] = {
        "type": "object",
        "description": desc,
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        out["required"] = list(required)
    return out


def _num(desc: str, **bounds: float) -> dict[str, Any]:
    """A number with optional bounds (minimum, exclusiveMinimum, maximum)."""
    return {"type": "number", "description": desc, **bounds}


def _int(desc: str, **bounds: int) -> dict[str, Any]:
    """An integer with optional bounds."""
    return {"type": "integer", "description": desc, **bounds}


def _enum(desc: str, values: tuple[str, ...]) -> dict[str, Any]:
    """A string from `values`."""
    return {"type": "string", "description": desc, "enum": list(values)}


def _ref(name: str) -> dict[str, str]:
    """A reference into $defs."""
    return {"$ref": f"#/$defs/{name}"}


def show_json_schema() -> dict[str, Any]:
    """The JSON Schema of a show file."""
    easing = _enum("how a value eases between keys", EASING_NAMES)
    keyframe_props: dict[str, Any] = {
        "seed": _int("z from np.random.RandomState(seed), as NVIDIA's tools do", **SEED),
        "w": {"type": "string", "description": ".npy of shape [w_dim] or [num_ws, w_dim]"},
        "z": {"type": "string", "description": ".npy of shape [z_dim]"},
        "projected": {"type": "string", "description": ".npz from a projection, with key w"},
        "mean": {"const": True, "description": "the model's mean w (w_avg)"},
        "random": _int("a seed drawn from a generator seeded with this", **SEED),
        "psi": _num("truncation psi of this keyframe (seed, random, z, mean)", **PSI),
    }
    one_form = {
        "oneOf": [{"required": [k]} for k in ("seed", "w", "z", "projected", "mean", "random")]
    }
    curve = _obj(
        "keyframed values over section time",
        {
            "keys": {
                "type": "array",
                "description": "[time_s, value] pairs, time ascending",
                "minItems": 1,
                "items": {
                    "type": "array",
                    "prefixItems": [_num("time_s", **TIME), _num("value", **NUMBER)],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
            "easing": easing,
        },
        ("keys",),
    )
    lfo = _obj(
        "an oscillator: center + amplitude * wave(t / period_s + phase)",
        {
            "lfo": _obj(
                "low-frequency oscillator",
                {
                    "period_s": _num("seconds per cycle", **POSITIVE_TIME),
                    "period_beats": _num("beats per cycle instead (following a live tempo)",
                                         exclusiveMinimum=0),
                    "amplitude": _num("peak deviation from center", **NUMBER),
                    "center": _num("middle value", **NUMBER),
                    "phase": _num("offset, in cycles", **NUMBER),
                    "shape": _enum("the wave (default sine)", LFO_SHAPES),
                    "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1,
                             "description": "sample_hold: which random levels"},
                },
            )
            | {"oneOf": [{"required": ["period_s"]}, {"required": ["period_beats"]}]},
        },
        ("lfo",),
    )
    layers = {
        "description": 'ws rows: coarse (0-3), middle (4-7), fine (8-), "N-", "N-M", [N, M] or N',
        "oneOf": [
            _enum("named range", ("coarse", "middle", "fine")),
            {"type": "string", "pattern": r"^\s*\d+\s*-\s*\d*\s*$"},
            {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "minItems": 2,
                "maxItems": 2,
            },
            {"type": "integer", "minimum": 0},
        ],
    }
    walk = _obj(
        "the path through latent space",
        {
            "space": _enum("interpolate in w or z", SPACES),
            "path": _enum("the kind of path", PATH_KINDS),
            "closed": {"type": "boolean", "description": "loop seamlessly back to the first key"},
            "easing": easing,
            "seconds_per_keyframe": _num("default seconds per segment", **POSITIVE_TIME),
            "beats_per_keyframe": _num("beats per segment instead (at show.tempo_bpm, following "
                                       "a live tempo)", exclusiveMinimum=0),
            "perceptual": {
                "type": "boolean",
                "description": "re-time for a steady rate of image change",
            },
            "keyframes": {
                "type": "array",
                "description": "the points the walk passes through",
                "items": _ref("keyframe"),
                "maxItems": MAX_KEYFRAMES,
            },
            "noise": _obj(
                "for path noise_loop",
                {
                    "seed": _int("random seed", **SEED),
                    "radius": _num(
                        "size of the loop", exclusiveMinimum=0, maximum=MAX_NOISE_RADIUS
                    ),
                    "harmonics": _int("detail of the loop", minimum=1, maximum=MAX_NOISE_HARMONICS),
                },
            ),
            "random_walk": _obj(
                "for path random_walk",
                {
                    "seed": _int("seeds the generator of the seeds", **SEED),
                    "count": _int(
                        "how many random seeds", minimum=2, maximum=MAX_RANDOM_WALK_COUNT
                    ),
                },
            ),
        },
        ("path",),
    )
    section = _obj(
        "one entry of the playlist",
        {
            "name": {"type": "string", "description": "unique name of the section"},
            "model": {"type": "string", "description": "a name under models"},
            "duration_s": _num("seconds (or loops)", **POSITIVE_TIME),
            "loops": _int("passes through the walk (or duration_s)", minimum=1, maximum=MAX_LOOPS),
            "transition": _obj(
                "how this section hands over to the next",
                {
                    "kind": _enum(
                        "cut, crossfade in w (same model) or image_crossfade", TRANSITION_KINDS
                    ),
                    "duration_s": _num("seconds of the crossfade", **TIME),
                },
                ("kind",),
            ),
            "live": {
                "type": "object",
                "description": "parameters a performer may steer",
                "propertyNames": {
                    "anyOf": [{"enum": list(LIVE_TARGETS)}, {"pattern": "^direction/[^/]+$"}]
                },
                "additionalProperties": _obj(
                    "a steerable parameter",
                    {
                        "range": {
                            "type": "array",
                            "items": {"type": "number"},
                            "minItems": 2,
                            "maxItems": 2,
                            "description": "[low, high]",
                        },
                        "slew_s": _num("glide time of a change, seconds (default 0.5)", **TIME),
                        "hold_s": _num(
                            "seconds a live value holds after the last message (default 30)",
                            **TIME,
                        ),
                    },
                    ("range",),
                ),
            },
            "walk": walk,
            "automation": _obj(
                "numeric parameters over section time",
                {k: {"oneOf": [_ref("curve"), _ref("lfo")]} for k in AUTOMATION_TARGETS},
            ),
            "mixing": {
                "type": "array",
                "description": "style mixing",
                "items": _obj(
                    "ws rows from another keyframe",
                    {"layers": _ref("layers"), "from": _ref("source")},
                    ("layers", "from"),
                ),
            },
            "directions": {
                "type": "array",
                "description": "latent directions",
                "items": _obj(
                    "w[layers] += intensity * direction",
                    {
                        "file": {
                            "type": "string",
                            "description": (
                                ".npy [w_dim] or [num_ws, w_dim], or a .npz from "
                                "`latent-walk directions` (with index or name)"
                            ),
                        },
                        "index": _int("entry of a .npz (0 = the top direction)", minimum=0),
                        "name": {"type": "string", "description": "entry of a .npz, e.g. pc3"},
                        "layers": _ref("layers"),
                        "intensity": {"oneOf": [{"type": "number"}, _ref("curve"), _ref("lfo")]},
                        "scale": _enum(
                            "sigma: intensity in standard deviations of w (the .npz default); "
                            "raw: the vector as stored (.npy)",
                            DIRECTION_SCALES,
                        ),
                    },
                    ("file",),
                ),
            },
        },
        ("name", "model", "walk"),
    )
    section["oneOf"] = [{"required": ["duration_s"]}, {"required": ["loops"]}]
    keyframe = _obj(
        "a point of the walk",
        {
            **keyframe_props,
            "hold_s": _num("pause on this keyframe, seconds", **TIME),
            "duration_s": _num("seconds to the next keyframe", **POSITIVE_TIME),
            "easing": easing,
        },
    )
    keyframe.update(one_form)
    source = _obj("a keyframe form", keyframe_props)
    source.update(one_form)
    model = _obj(
        "a generator file and its defaults",
        {
            "path": {"type": "string", "description": ".pkl or .safetensors, relative to the show"},
            "psi": _num("truncation psi (1 = none)", **PSI),
            "cutoff": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": MAX_CUTOFF,
                "description": "truncate only the first N ws rows",
            },
            "noise_mode": _enum("noise inputs", NOISE_MODES),
            "class_index": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "class of a conditional model",
            },
        },
        ("path",),
    )
    show = _obj(
        "show-level settings",
        {
            "title": {"type": "string", "description": "name of the show"},
            "output": _obj(
                "offline render",
                {
                    "size_px": {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1, "maximum": MAX_SIZE_PX},
                        "minItems": 2,
                        "maxItems": 2,
                        "description": "[width, height] of the video (default: the model's)",
                    },
                    "fps": _num("frames per second", minimum=FPS_RANGE[0], maximum=FPS_RANGE[1]),
                },
            ),
            "background": {
                "type": "string",
                "pattern": "^#[0-9a-fA-F]{6}$",
                "description": 'hex colour, quoted: "#000000"',
            },
            "speed": _num("global speed factor", minimum=SPEED_RANGE[0], maximum=SPEED_RANGE[1]),
            "tempo_bpm": _num("what beats mean without sound (default 120)",
                              minimum=TEMPO_RANGE_BPM[0], maximum=TEMPO_RANGE_BPM[1]),
            "opening_hours": _obj(
                "when the show plays",
                {
                    "days": {"type": "array", "items": {"enum": list(DAYS)}, "minItems": 1},
                    "from": {
                        "type": "string",
                        "pattern": r"^\d{1,2}:\d{2}$",
                        "description": "HH:MM",
                    },
                    "to": {"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "description": "HH:MM"},
                    "outside": {"type": "string", "description": "black, hold or a section name"},
                },
                ("from", "to"),
            ),
            "reload": _obj(
                "how a hot reload switches to the changed show",
                {
                    "when": _enum("now, or at the next section end", RELOAD_WHEN),
                    "crossfade_s": _num("seconds of the fade (0: a cut)", **TIME),
                },
            ),
            "osc": osc_schema(),
            "http": http_schema(),
            "outputs": outputs_schema(),
        },
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://latent-walk.invalid/show.schema.json",
        "title": "latent-walk show",
        **_obj(
            "A show: models, and sections that walk through their latent space.",
            {
                "show": show,
                "models": {
                    "type": "object",
                    "description": "named generator files",
                    "minProperties": 1,
                    "additionalProperties": model,
                },
                "sections": {
                    "type": "array",
                    "description": "the playlist, in order",
                    "minItems": 1,
                    "items": section,
                },
                "sensors": sensors_schema(),
                "audio": audio_schema(),
            },
            ("models", "sections"),
        ),
        "$defs": {
            "keyframe": keyframe,
            "source": source,
            "curve": curve,
            "lfo": lfo,
            "layers": layers,
        },
    }


def _pair(desc: str) -> dict[str, Any]:
    """[a, b]: two numbers."""
    return {
        "type": "array",
        "items": {"type": "number"},
        "minItems": 2,
        "maxItems": 2,
        "description": desc,
    }


def outputs_schema() -> dict[str, Any]:
    """`show.outputs`: screens of one PC that one frame spans (docs/operators.md)."""
    display = _int("monitor (display index)", minimum=0, maximum=MAX_DISPLAY_INDEX)
    screen = {
        "oneOf": [
            display,
            _obj("one output", {"display": display,
                                "fit": _enum("this output's fit (default: --fit)", OUTPUT_FITS)},
                 ("display",)),  # fmt: skip
        ]
    }
    return _obj(
        "several screens of one PC, left to right; one frame spans them with an edge blend",
        {
            "screens": {
                "type": "array",
                "items": screen,
                "minItems": 1,
                "maxItems": MAX_OUTPUTS,
                "description": "the outputs, left to right",
            },
            "overlap": {
                "oneOf": [
                    _num("shared strip, a fraction of an output's width",
                         minimum=0, maximum=MAX_OVERLAP_FRACTION),  # fmt: skip
                    {"type": "string", "pattern": r"^\d{1,5}px$",
                     "description": f'shared strip in output pixels, e.g. "192px" '
                                    f"(at most {MAX_OVERLAP_PX})"},  # fmt: skip
                ]
            },
            "gamma": _num("blend gamma of the projectors (default 2.2)",
                          minimum=BLEND_GAMMA_RANGE[0], maximum=BLEND_GAMMA_RANGE[1]),
        },
        ("screens",),
    )


def osc_schema() -> dict[str, Any]:
    """`show.osc`: where OSC listens, who may send, where feedback goes."""
    host = {"type": "string", "description": "host name or IP address"}
    port = {"type": "integer", "minimum": MIN_PORT, "maximum": MAX_PORT}
    return _obj(
        "OSC control (the command line overrides each field)",
        {
            "port": {
                "type": ["integer", "null"],
                "minimum": MIN_PORT,
                "maximum": MAX_PORT,
                "description": "UDP port to listen on (null: no OSC unless --osc-port)",
            },
            "host": {**host, "description": "address to listen on (default 0.0.0.0)"},
            "allow": {
                "description": "senders accepted: loopback, local, any, an IP or a CIDR network",
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ],
            },
            "feedback": {
                "type": "array",
                "description": "[host, port] that also gets status replies and heartbeats",
                "prefixItems": [host, port],
                "minItems": 2,
                "maxItems": 2,
            },
            "heartbeat_s": _num("seconds between heartbeats (0: none)", minimum=0),
            "oscquery_port": {
                "type": ["integer", "null"],
                "minimum": MIN_PORT,
                "maximum": MAX_PORT,
                "description": "TCP port of the OSCQuery namespace, advertised over DNS-SD "
                "(null: none unless --oscquery-port; needs OSC)",
            },
        },
    )


def http_schema() -> dict[str, Any]:
    """`show.http`: the web remote and JSON API (docs/control.md)."""
    return _obj(
        "the web remote, JSON API and WebSocket (the command line overrides each field)",
        {
            "port": {
                "type": ["integer", "null"],
                "minimum": MIN_PORT,
                "maximum": MAX_PORT,
                "description": "TCP port to serve on (null: none unless --http-port)",
            },
            "host": {"type": "string", "description": "address to listen on (default 127.0.0.1)"},
            "allow": {
                "description": "peers accepted (default: OSC's): loopback, local, any, an IP or "
                "a CIDR network",
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ],
            },
            "token": {
                "type": "string",
                "pattern": f"^[A-Za-z0-9._~-]{{{MIN_TOKEN_CHARS},{MAX_TOKEN_CHARS}}}$",
                "description": "what other machines send (default: a new one at each start)",
            },
        },
    )


def audio_schema() -> dict[str, Any]:
    """`audio:`: the sound input, and what onsets and beats send (shows/README.md §12)."""
    message = {
        "description": "an OSC address (docs/osc.md), or [address, arguments...]",
        "oneOf": [
            {"type": "string", "pattern": "^/"},
            {"type": "array", "minItems": 1, "prefixItems": [{"type": "string", "pattern": "^/"}],
             "items": {"type": ["string", "number", "boolean"]}},
        ],
    }
    event = _obj(
        "what the event sends: one message, or a list sent in turn",
        {
            "send": {"oneOf": [message, {"type": "array", "minItems": 1, "items": message}]},
            "every": {"type": "integer", "minimum": 1, "description": "every N-th event"},
            "min_interval_s": _num("at most once per this many seconds", minimum=0),
        },
        ("send",),
    )
    return _obj(
        "sound: the input to listen to, and what onsets and beats send",
        {
            "input": {"type": "string", "description": "a sound input, as --audio-in"},
            "on_onset": event,
            "on_beat": event,
        },
    )


def sensors_schema() -> dict[str, Any]:
    """`sensors`: /sensor/<name> readings mapped onto live parameters."""
    smoothing = {
        "description": "none, or {kind: exponential | one_euro, ...}",
        "oneOf": [
            {"const": "none"},
            _obj("no smoothing", {"kind": {"const": "none"}}, ("kind",)),
            _obj(
                "first-order low-pass",
                {
                    "kind": {"const": "exponential"},
                    "time_constant_s": _num("seconds (default 0.3)", exclusiveMinimum=0),
                },
                ("kind",),
            ),
            _obj(
                "1-euro filter (Casiez et al. 2012)",
                {
                    "kind": {"const": "one_euro"},
                    "min_cutoff_hz": _num("jitter at rest (default 1)", exclusiveMinimum=0),
                    "beta": _num("less lag when moving, per input unit/s (default 0)", minimum=0),
                    "d_cutoff_hz": _num("of the speed estimate (default 1)", exclusiveMinimum=0),
                },
                ("kind",),
            ),
        ],
    }
    sensor = _obj(
        "maps /sensor/<name> readings onto a live parameter",
        {
            "target": {
                "description": "the live parameter it steers",
                "anyOf": [{"enum": list(LIVE_TARGETS)}, {"pattern": "^direction/.+$"}],
            },
            "input": _pair("raw reading range [from, to] (clamped)"),
            "output": _pair("parameter range [from, to] (may be decreasing)"),
            "curve": _enum("shape of the mapping (default linear)", SENSOR_CURVES),
            "smoothing": smoothing,
            "dead_band": _num("ignore changes smaller than this, input units", minimum=0),
            "timeout_s": _num("after this long without a reading the schedule returns", minimum=0),
            "index": _int("which value of the message", minimum=0, maximum=SENSOR_MAX_VALUES - 1),
        },
        ("target", "input", "output"),
    )
    return {
        "type": "object",
        "description": "sensor mappings, by the name in /sensor/<name>",
        "propertyNames": {"pattern": "^[A-Za-z0-9_.-]{1,100}$"},
        "additionalProperties": sensor,
    }


def schema_text() -> str:
    """The schema as the text of shows/show.schema.json."""
    return json.dumps(show_json_schema(), indent=2) + "\n"
