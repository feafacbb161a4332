"""AppSettings: what an operator chooses when starting the show, parsed once from the command line.

Settings are immutable after start: a change means a restart (STYLE.md §8).
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from installation.device import parse_device
from installation.display.fit import FITS, Fit
from installation.display.outputs import (
    BLEND_GAMMA_RANGE,
    MAX_OUTPUTS,
    OutputsLayout,
    Overlap,
    parse_overlap,
)
from installation.netcheck import DEFAULT_ALLOW, TOKEN_TEXT, is_host, is_token
from installation.options import (
    KERNEL_BACKENDS,
    PRECISIONS,
    KernelBackend,
    Precision,
    checked_above,
    checked_range,
    clock_time,
    duration,
    epoch,
    fps,
    host_port,
    output_problem,
    parse_size,
    port,
    positive_int,
    show_time,
    timeout,
)

# The default show ships with the project; resolved from the checkout so `python run_show.py`
# works from any working directory.
DEFAULT_SHOW_PATH = Path(__file__).resolve().parent.parent / "shows" / "demo.yaml"
# Display rate when the monitor's refresh cannot be read (and for --headless / --out): a common
# refresh for screens, the usual rate for video.
FALLBACK_REFRESH_HZ = 60.0
HEADLESS_FPS = 30.0
VIDEO_FPS = 30.0
# Window size when --windowed or --headless is given without --size (a common 16:9 screen).
DEFAULT_WINDOW_SIZE_PX = (1280, 720)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_MAX_BATCH = 8  # lookahead: most frames per generator pass (measured: benchmarks/pipeline)
DEFAULT_LATENCY_MS = 300.0  # longest generator pass the lookahead may plan
ENV_KERNELS = "LATENT_WALK_KERNELS"  # environment default for --kernels
OSC_DEFAULT_HOST = "0.0.0.0"  # every interface: tablets are on the local network
OSC_DEFAULT_ALLOW = DEFAULT_ALLOW  # this machine and private networks
OSC_DEFAULT_HEARTBEAT_S = 2.0
SYNC_DEFAULT_PORT = 9100  # --sync leader: the UDP port followers say hello to
HTTP_DEFAULT_HOST = "127.0.0.1"  # this machine only, unless --http-host says otherwise
DEFAULT_SUPERVISE_TIMEOUT_S = 60.0  # --supervise: a show without progress this long is restarted
# Bounds of run_show.py's own numeric options (the shared ones are in installation/options.py).
MAX_DISPLAY_INDEX = 63
MAX_BATCH = 256
MAX_THREADS = 1024  # --threads: more than any CPU has cores
MAX_LATENCY_MS = 60_000.0
MAX_RECOVERIES = 100_000
DEVICE_HELP = "auto (default: cuda when torch sees a GPU, else cpu), cpu, cuda or cuda:N"
KERNELS_HELP = f"resampling kernels (default auto, or ${ENV_KERNELS})"


@dataclass(frozen=True)
class AppSettings:
    """Operator settings for one run of the show (screen, pacing, stop conditions, model)."""

    show_path: Path = DEFAULT_SHOW_PATH
    display_index: int = 0
    is_windowed: bool = False
    window_size_px: tuple[int, int] | None = None  # (width, height); None: screen or default
    fps: float | None = None  # display cap; None: the monitor's refresh (HEADLESS_FPS headless)
    is_headless: bool = False  # offscreen EGL, no window
    max_frames: int | None = None  # stop after this many frames shown (written with --out)
    max_duration_s: float | None = None  # stop after this much show time
    precision: Precision | None = None  # None: fast for live play, exact for --out
    device: str = "auto"  # auto, cpu, cuda, cuda:N; app.run resolves auto (installation.device)
    log_file: Path | None = None
    log_level: str = "INFO"
    is_watching: bool = True  # reload the show when its file changes (--no-watch: off)
    out_path: str | None = None  # offline render to FILE.mp4 or DIR/ (as typed: "/" matters)
    audio_path: Path | None = None  # --out to music: its sound drives audio.* sensors, is muxed
    start_s: float = 0.0  # show time of the first frame
    # --supervise's restarted child: start_s was the show time at this wall-clock time (epoch
    # s), so the first frame shows start_s plus the time the child took to start
    start_epoch_s: float | None = None
    stats_json: Path | None = None  # run statistics written here on exit
    status_file: Path | None = None  # live status JSON, rewritten every few seconds
    is_kiosk: bool = False  # quit keys disabled (Ctrl+Shift+Q still quits)
    fit: Fit = "letterbox"  # frame vs screen aspect: black bars, crop to fill, or stretch
    # several screens of one PC (display/outputs.py); None: not given, the show's show.outputs
    output_displays: tuple[int, ...] | None = None  # --outputs 1,2: left to right
    overlap: Overlap | None = None  # --overlap 0.15 or 192px: the edge blend's strip
    blend_gamma: float | None = None  # --blend-gamma
    outputs: OutputsLayout | None = None  # the above merged with the show's (app.run), or None
    is_blending: bool = True  # blend consecutive generated frames when they come slower
    max_batch: int = DEFAULT_MAX_BATCH
    latency_budget_s: float = DEFAULT_LATENCY_MS / 1000
    kernels: KernelBackend = "auto"
    threads: int | None = None  # torch CPU threads; None: installation/threads.py chooses
    # OSC: None = not given on the command line; the show's `show.osc` block, then the
    # OSC_DEFAULT_* values apply (app.osc_options)
    osc_host: str | None = None
    osc_port: int | None = None  # no port anywhere: no OSC server
    osc_allow: tuple[str, ...] | None = None  # senders OSC accepts (docs/osc.md)
    osc_feedback: tuple[str, int] | None = None  # also send status/heartbeats here (a tablet)
    # the HTTP/WebSocket API and web remote (docs/control.md); no port: no HTTP server
    http_port: int | None = None
    http_host: str | None = None  # None: the show's `show.http.host`, else HTTP_DEFAULT_HOST
    http_token: str | None = None  # None: a new random one at each start
    # OSCQuery (docs/control.md): None = not given; the show's show.osc.oscquery_port, else none
    oscquery_port: int | None = None  # 0: any free port (tests)
    is_dns_sd: bool = True  # advertise OSCQuery and OSC over DNS-SD (--no-dns-sd: off)
    # MIDI input (docs/control.md, MIDI): a port name (or part of one), or "auto"; None: none
    midi_in: str | None = None
    midi_api: str = "auto"  # auto (ALSA, else JACK), alsa or jack
    # live sound input (control/audio_in.py): a device index, part of a name, or "default"
    audio_in: str | None = None
    # several PCs in lockstep (control/sync.py, control/link.py, docs/operators.md): "leader",
    # "follow" (the leader at sync_leader), "link" (an Ableton Link session) or None
    sync_mode: str | None = None
    sync_leader: tuple[str, int] | None = None  # --sync follow HOST:PORT
    sync_port: int | None = None  # leader: UDP port followers say hello to; follower: its own
    # render-thread recovery (installation/run/recovery.py); None: its defaults
    hang_timeout_s: float | None = None  # no heartbeat this long is a hang (None: adaptive)
    max_recoveries: int | None = None  # recoveries within 10 min before the process exits (75)
    inject_faults: str | None = None  # testing only: faults.py SPEC (raise@10*3,hang@30:25)
    # --supervise: this process only starts the show as a child and restarts it
    # (run/process_keeper.py)
    is_supervised: bool = False
    supervise_timeout_s: float = DEFAULT_SUPERVISE_TIMEOUT_S  # no progress this long: restart
    restart_at: datetime.time | None = None  # nightly soft restart, local wall-clock time

    @property
    def is_offline(self) -> bool:
        """True for an offline render (--out): frame-exact, not real time."""
        return self.out_path is not None

    @property
    def resolved_precision(self) -> Precision:
        """--precision, or its default: exact for an offline render, fast for live play."""
        if self.precision is not None:
            return self.precision
        return "exact" if self.is_offline else "fast"

    def start_now_s(self, now_epoch_s: float | None = None) -> float:
        """The show time to start at now: --start, carried on since --epoch-of-start if given."""
        if self.start_epoch_s is None:
            return self.start_s
        now_epoch_s = time.time() if now_epoch_s is None else now_epoch_s
        return self.start_s + max(0.0, now_epoch_s - self.start_epoch_s)

    @property
    def output_size_px(self) -> tuple[int, int]:
        """Size of a window or offscreen target when not fullscreen: --size or the default."""
        return self.window_size_px or DEFAULT_WINDOW_SIZE_PX


def _fault_spec(text: str) -> str:
    """argparse type: a --inject-faults SPEC (testing), checked by installation/faults.py."""
    from installation.faults import parse_faults

    try:
        parse_faults(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _http_host(text: str) -> str:
    """argparse type: a host name or IP address to bind the HTTP server to."""
    if not is_host(text):
        raise argparse.ArgumentTypeError(f"expected a host name or IP address, got {text!r}")
    return text


def _device_name(what: str) -> Callable[[str], str]:
    """argparse type of a device chosen by name (--midi-in, --audio-in): printable, stripped,
    1..200 characters; `what` says what is expected in the error."""

    def check(text: str) -> str:
        name = text.strip()
        if not name or len(name) > 200 or not name.isprintable():
            raise argparse.ArgumentTypeError(f"must be {what}, got {text[:60]!r}")
        return name

    return check


_midi_port = _device_name("a MIDI port name (or part of one) or auto")
_audio_device = _device_name("a sound input's index, a part of its name, or default")


def _displays(text: str) -> tuple[int, ...]:
    """argparse type: --outputs' display indices, comma-separated, left to right."""
    parts = [part.strip() for part in text.split(",")]
    if not 1 <= len(parts) <= MAX_OUTPUTS or not all(
        part.isdigit() and int(part) <= MAX_DISPLAY_INDEX for part in parts
    ):
        raise argparse.ArgumentTypeError(
            f"expected 1 to {MAX_OUTPUTS} display indices (0..{MAX_DISPLAY_INDEX}) like 1,2, "
            f"got {text[:60]!r}"
        )
    return tuple(int(part) for part in parts)


def _overlap(text: str) -> Overlap:
    """argparse type: --overlap, a fraction of an output's width or pixels (192px)."""
    try:
        return parse_overlap(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _http_token(text: str) -> str:
    """argparse type: an HTTP token (netcheck.TOKEN_TEXT)."""
    if not is_token(text):
        raise argparse.ArgumentTypeError(f"expected {TOKEN_TEXT}")
    return text


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit 2), not a usage block."""

    def error(self, message: str) -> NoReturn:
        """Print `prog: error: message (see prog --help)` and exit 2."""
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def shared_options() -> dict[str, dict[str, Any]]:
    """The options run_show.py shares with `latent-walk render` and `storyboard`, defined once.

    Each name maps to its add_argument keywords (type or choices, default, metavar; a help only
    where every program words it alike). Built per parser: --kernels' default reads
    $LATENT_WALK_KERNELS then.
    """
    return {
        "show": {"nargs": "?", "type": Path, "default": DEFAULT_SHOW_PATH},
        "--start": {"type": show_time, "default": 0.0, "metavar": "S"},
        "--frames": {"type": positive_int, "default": None, "metavar": "N"},
        "--duration": {"type": duration, "default": None, "metavar": "S"},
        "--fps": {"type": fps, "default": None},
        "--size": {"type": parse_size, "default": None, "metavar": "WxH"},
        "--out": {"default": None, "metavar": "FILE.mp4|DIR/"},
        "--audio": {"type": Path, "default": None, "metavar": "FILE"},
        "--fit": {"choices": FITS, "default": "letterbox"},
        "--precision": {"choices": PRECISIONS, "default": None},
        "--device": {
            "type": parse_device,
            "default": "auto",
            "metavar": "DEVICE",
            "help": DEVICE_HELP,
        },
        "--kernels": {
            "choices": KERNEL_BACKENDS,
            "default": os.environ.get(ENV_KERNELS, "auto"),
            "help": KERNELS_HELP,
        },
        "--stats-json": {"type": Path, "default": None, "metavar": "FILE"},
    }


def add_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str,
    help_text: str | None = None, **changes: Any,
) -> argparse.Action:  # fmt: skip
    """Add the shared option `name` (see shared_options) with this program's help and changes."""
    keywords = shared_options()[name] | changes
    if help_text is not None:
        keywords["help"] = help_text
    return parser.add_argument(name, **keywords)


def build_parser() -> argparse.ArgumentParser:
    """The run_show.py command line."""
    parser = OneLineParser(
        prog="run_show.py",
        description="Play a latent-walk show fullscreen (or windowed, or headless), or render it "
        "to a video file.",
    )
    add_option(parser, "show", "show file (YAML); default: shows/demo.yaml")
    screen = parser.add_argument_group("screen")
    screen.add_argument("--display", type=checked_range(int, 0, MAX_DISPLAY_INDEX), default=0,
                        metavar="N",
                        help="display index for fullscreen (default 0)")  # fmt: skip
    screen.add_argument("--windowed", action="store_true", help="a window instead of fullscreen")
    add_option(screen, "--size", "window / offscreen size in pixels (default 1280x720); with "
               "--out the video's size (default: the show's output.size_px, else the "
               "model's)")  # fmt: skip
    add_option(screen, "--fps", "display rate cap (default: the monitor's refresh, else "
               f"{FALLBACK_REFRESH_HZ:g}; {HEADLESS_FPS:g} headless; --out: the show's "
               "output.fps)")  # fmt: skip
    screen.add_argument("--headless", action="store_true",
                        help="render into an offscreen EGL framebuffer; no window")  # fmt: skip
    screen.add_argument(
        "--kiosk",
        action="store_true",
        help="unattended: Esc/q/window close do not quit (Ctrl+Shift+Q does)",
    )
    add_option(screen, "--fit", "when the frame's aspect differs from the screen's: black bars "
               "(default), crop to fill, or stretch")  # fmt: skip
    screen.add_argument("--outputs", type=_displays, default=None, metavar="N,N,...",
                        help="several screens of this PC, left to right: one frame spans these "
                        "displays in one borderless window (--windowed: previewed side by "
                        "side; --headless: one framebuffer each); default: the show's "
                        "show.outputs, else --display alone")  # fmt: skip
    screen.add_argument("--overlap", type=_overlap, default=None, metavar="F|Npx",
                        help="with several outputs: the strip neighbouring projectors share "
                        "and blend over, a fraction of an output's width (0 to 0.5) or "
                        "pixels like 192px (default: the show's, else 0)")  # fmt: skip
    screen.add_argument("--blend-gamma", type=checked_range(float, *BLEND_GAMMA_RANGE),
                        default=None, metavar="G",
                        help="the projectors' gamma the edge blend corrects for (default: the "
                        "show's, else 2.2)")  # fmt: skip
    screen.add_argument("--no-blend", action="store_true",
                        help="show generated frames as they are; by default consecutive frames "
                        "are blended when they come slower than the display")  # fmt: skip
    screen.add_argument("--no-watch", action="store_true",
                        help="no reload when the show file changes (r still reloads)")  # fmt: skip
    stop = parser.add_argument_group("what to play")
    add_option(stop, "--start", "begin at show time S seconds")
    stop.add_argument(
        "--epoch-of-start", dest="start_epoch", type=epoch, default=None, help=argparse.SUPPRESS
    )  # --supervise: --start was the show time then
    add_option(stop, "--frames", "stop after N frames shown (or written)")
    add_option(stop, "--duration", "stop after S seconds of show time")
    add_option(stop, "--out", "render the show offline to an H.264 MP4 or a PNG sequence "
               "(frame-exact, not real time; one pass of the show unless --frames or "
               "--duration)")  # fmt: skip
    add_option(stop, "--audio", "with --out: render to this sound file (WAV, FLAC, MP3, ...): "
               "it drives the show's audio.* sensors frame by frame and is muxed into the "
               "video (AAC); the render lasts the song unless --frames or --duration")  # fmt: skip
    model = parser.add_argument_group("generator")
    add_option(model, "--precision", "fast: bf16/fp16 where it helps; exact: float32 (default: "
               "fast live, exact for --out)")  # fmt: skip
    add_option(model, "--device")
    add_option(model, "--kernels")
    model.add_argument("--batch", type=checked_range(int, 1, MAX_BATCH),
                       default=DEFAULT_MAX_BATCH, metavar="N",
                       help="most future frames per generator pass (lookahead; 1 = off; "
                       f"default {DEFAULT_MAX_BATCH})")  # fmt: skip
    model.add_argument("--threads", type=checked_range(int, 1, MAX_THREADS), default=None,
                       metavar="N",
                       help="CPU threads for the generator (default: $LATENT_WALK_THREADS, "
                       "else the physical cores, one left free from 4 up)")  # fmt: skip
    model.add_argument(
        "--latency-ms",
        type=checked_above(float, 0, MAX_LATENCY_MS, "ms"),
        default=DEFAULT_LATENCY_MS,
        metavar="MS",
        help="longest generator pass the lookahead may plan "
        f"(default {DEFAULT_LATENCY_MS:g}; live input uses one frame)",
    )
    control = parser.add_argument_group("control")
    control.add_argument("--osc-port", type=port, default=None, metavar="PORT",
                         help="listen for OSC on this UDP port (default: the show's "
                         "show.osc.port; none: no OSC)")  # fmt: skip
    control.add_argument(
        "--osc-host",
        default=None,
        metavar="HOST",
        help="address to bind the OSC server to (default: the show's, else 0.0.0.0)",
    )
    control.add_argument(
        "--osc-feedback",
        type=host_port,
        default=None,
        metavar="HOST:PORT",
        help="also send status replies and heartbeats here (e.g. a tablet's receive port)",
    )
    control.add_argument(
        "--osc-allow",
        default=None,
        metavar="LIST",
        help="senders OSC accepts, comma-separated: loopback, local (this machine's subnets), "
        "addresses or CIDRs like 10.0.0.0/24, or any (default: the show's, else loopback,local)",
    )
    control.add_argument("--http-port", type=port, default=None, metavar="PORT",
                         help="serve the web remote page, the JSON API and the WebSocket on this "
                         "TCP port (docs/control.md; default: the show's show.http.port, else "
                         "none)")  # fmt: skip
    control.add_argument("--http-host", type=_http_host, default=None,
                         metavar="HOST", help="address to bind the HTTP server to (default: the "
                         f"show's, else {HTTP_DEFAULT_HOST}: this machine only; 0.0.0.0: every "
                         "interface, the allow-list applies)")  # fmt: skip
    control.add_argument("--http-token", type=_http_token, default=None, metavar="TOKEN",
                         help="the token other machines than this one must send (default: the "
                         "show's, else a new random one, logged and written to the status "
                         "file)")  # fmt: skip
    control.add_argument("--oscquery-port", type=port, default=None, metavar="PORT",
                         help="serve the OSCQuery namespace (addresses, types, ranges, live "
                         "values) on this TCP port and advertise it and OSC over DNS-SD, for "
                         "TouchDesigner, Chataigne, Vezer; needs OSC (default: the show's "
                         "show.osc.oscquery_port; none: off)")  # fmt: skip
    control.add_argument("--no-dns-sd", action="store_true",
                         help="with OSCQuery: do not advertise it over DNS-SD (mDNS)")
    control.add_argument("--midi-in", type=_midi_port, default=None, metavar="NAME|auto",
                         help="steer the show from this MIDI input port (a name or part of one; "
                         "auto: the first that is not a Through port) as <show>.midi.yaml maps "
                         "it; `latent-walk midi-ports` lists them (default: no MIDI)")  # fmt: skip
    control.add_argument("--midi-api", choices=("auto", "alsa", "jack"), default="auto",
                         help="the MIDI system: auto (ALSA, else JACK), alsa or jack")
    control.add_argument("--audio-in", type=_audio_device, default=None,
                         metavar="DEVICE|default",
                         help="listen to this sound input (an index or part of a name from "
                         "`latent-walk audio-devices`, or default): its audio.* readings "
                         "drive the show's sensors (shows/README.md, Sound; default: "
                         "none)")  # fmt: skip
    control.add_argument("--sync", nargs="+", default=None,
                         metavar="leader|follow HOST:PORT|link",
                         help="several PCs in lockstep (docs/operators.md): leader sends this "
                         "show's clock to the followers that ask; follow HOST:PORT slews this "
                         "show's clock to the leader's there; link follows an Ableton Link "
                         "session's beats at the show's tempo_bpm (default: alone)")  # fmt: skip
    control.add_argument("--sync-port", type=port, default=None, metavar="PORT",
                         help="with --sync leader: the UDP port followers say hello to "
                         f"(default {SYNC_DEFAULT_PORT}); with --sync follow: the port this "
                         "follower listens on (default: any free one)")  # fmt: skip
    logs = parser.add_argument_group("logging and statistics")
    logs.add_argument("--log-file", type=Path, default=None, help="also append the log here")
    logs.add_argument("--log-level", choices=LOG_LEVELS, default="INFO")
    add_option(logs, "--stats-json", "write run statistics (frames, timings, memory) here on exit")
    logs.add_argument(
        "--status-file", type=Path, default=None, metavar="FILE",
        help="keep a status JSON here for monitoring (state starting/loading/playing/"
        "stopped, pid, show, section, show time, fps, frames, last frame age, failures, "
        "memory), written from the start and every 2 s",
    )  # fmt: skip
    render = parser.add_argument_group("render thread supervision (docs/operators.md)")
    render.add_argument("--hang-timeout", type=timeout, default=None, metavar="S",
                        help="a render thread without a heartbeat for S seconds is hung and is "
                        "replaced (default: 20, or 10 x the slowest pass if longer)")  # fmt: skip
    render.add_argument("--max-recoveries", type=checked_range(int, 1, MAX_RECOVERIES),
                        default=None, metavar="N",
                        help="after N render-thread recoveries within 10 minutes, exit with "
                        "status 75 so the process is restarted (default 10)")  # fmt: skip
    render.add_argument(
        "--inject-faults", type=_fault_spec, default=None, help=argparse.SUPPRESS
    )  # testing only (installation/faults.py)
    supervise = parser.add_argument_group("supervision (docs/operators.md)")
    supervise.add_argument("--supervise", action="store_true",
                           help="run the show as a child process and restart it when it dies "
                           "or stops making progress, continuing the show time")  # fmt: skip
    supervise.add_argument(
        "--supervise-timeout", type=timeout, default=None,
        metavar="S", help="with --supervise: restart a show that gave no sign of life (a "
        "liveness beat or a status write) for S seconds (default "
        f"{DEFAULT_SUPERVISE_TIMEOUT_S:g}; a show with no new frame for 330 s, not paused, is "
        "restarted too)",
    )  # fmt: skip
    supervise.add_argument("--restart-at", type=clock_time, default=None, metavar="HH:MM",
                           help="with --supervise: restart the show process every day at this "
                           "local time, continuing the show time")  # fmt: skip
    return parser


def settings_from_argv(argv: Sequence[str] | None = None) -> AppSettings:
    """Parse run_show.py arguments into AppSettings (argparse exits 2 on bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.kernels not in KERNEL_BACKENDS:
        *others, last = KERNEL_BACKENDS
        parser.error(f"${ENV_KERNELS}={args.kernels!r}: expected {', '.join(others)} or {last}")
    check_supervise_options(parser, args)
    check_output_paths(parser, args)
    sync_mode, sync_leader = sync_option(parser, args.sync)
    return AppSettings(
        show_path=args.show,
        display_index=args.display,
        is_windowed=args.windowed,
        window_size_px=args.size,
        fps=args.fps,
        is_headless=args.headless,
        max_frames=args.frames,
        max_duration_s=args.duration,
        precision=args.precision,
        device=args.device,
        log_file=args.log_file,
        log_level=args.log_level,
        is_watching=not args.no_watch,
        out_path=args.out,
        audio_path=args.audio,
        start_s=args.start,
        start_epoch_s=args.start_epoch,
        stats_json=args.stats_json,
        status_file=args.status_file,
        is_kiosk=args.kiosk,
        fit=args.fit,
        output_displays=args.outputs,
        overlap=args.overlap,
        blend_gamma=args.blend_gamma,
        is_blending=not args.no_blend,
        max_batch=args.batch,
        latency_budget_s=args.latency_ms / 1000,
        kernels=args.kernels,
        threads=args.threads,
        osc_host=args.osc_host,
        osc_port=args.osc_port,
        osc_feedback=args.osc_feedback,
        http_port=args.http_port,
        http_host=args.http_host,
        http_token=args.http_token,
        oscquery_port=args.oscquery_port,
        is_dns_sd=not args.no_dns_sd,
        midi_in=args.midi_in,
        audio_in=args.audio_in,
        midi_api=args.midi_api,
        sync_mode=sync_mode,
        sync_leader=sync_leader,
        sync_port=args.sync_port,
        osc_allow=None
        if args.osc_allow is None
        else tuple(part.strip() for part in args.osc_allow.split(",") if part.strip()),
        hang_timeout_s=args.hang_timeout,
        max_recoveries=args.max_recoveries,
        inject_faults=args.inject_faults,
        is_supervised=args.supervise,
        supervise_timeout_s=args.supervise_timeout or DEFAULT_SUPERVISE_TIMEOUT_S,
        restart_at=args.restart_at,
    )


def sync_option(
    parser: argparse.ArgumentParser, words: Sequence[str] | None
) -> tuple[str | None, tuple[str, int] | None]:
    """--sync leader | follow HOST:PORT | link -> (mode, leader address); one usage line if
    not."""
    if words is None:
        return None, None
    if list(words) == ["leader"]:
        return "leader", None
    if len(words) == 2 and words[0] == "follow":
        try:
            return "follow", host_port(words[1])
        except argparse.ArgumentTypeError as err:
            parser.error(f"--sync follow: {err}")
    if list(words) == ["link"]:
        return "link", None
    parser.error(f"--sync: expected leader, follow HOST:PORT or link, got {' '.join(words)!r}")


def check_supervise_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--restart-at and --supervise-timeout need --supervise; --supervise is for live play."""
    if args.supervise and args.out is not None:
        parser.error("--supervise is for live play, not with --out")
    if not args.supervise and args.restart_at is not None:
        parser.error("--restart-at needs --supervise (the supervisor starts the fresh show)")
    if not args.supervise and args.supervise_timeout is not None:
        parser.error("--supervise-timeout needs --supervise")


def check_output_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--out, --log-file, --status-file, --stats-json: each can be written (one line if not)."""
    if args.out is not None:
        out = Path(args.out)
        is_folder = args.out.endswith(("/", os.sep)) or out.is_dir() or not out.suffix
        problem = output_problem(out, is_folder)
        if problem is not None:
            parser.error(f"--out {args.out}: {problem}")
    for option, path in (("--log-file", args.log_file), ("--status-file", args.status_file),
                         ("--stats-json", args.stats_json)):  # fmt: skip
        problem = None if path is None else output_problem(path, is_folder=False)
        if problem is not None:
            parser.error(f"{option} {path}: {problem}")
