"""The composition root: builds the pieces, wires them together, starts and stops the threads.

One frame's way: show file -> keyframe latents of every section (once, resolve_show) ->
RenderLoop (render thread: commands, schedule, Timeline.at(t) -> ws -> G.synthesis) -> Frame ->
frames queue -> FramePacer (main thread: which frame at this display tick) -> presenter.
`--out` renders the same timeline through the same ShowRenderer into a video file instead.
A single `stopping` event ends both threads (STYLE.md §8).

The keep-alive half lives in installation/run/: the render threads and their recovery, the
present loop, the status board and statistics, startup, hot reload, the offline render.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from installation.control.mailbox import CommandQueue
from installation.control.router import CommandRouter
from installation.device import resolve_device
from installation.display.offscreen import OffscreenPresenter
from installation.display.outputs import DEFAULT_BLEND_GAMMA, OutputsLayout, Overlap, Screen
from installation.display.pacing import FramePacer
from installation.display.presenter import Presenter
from installation.display.window import WindowPresenter, require_display
from installation.errors import ControlError
from installation.render.frame import Frame
from installation.render.loop import BatchRenderer, LoopSettings
from installation.run.backoff import backoff_s
from installation.run.offline import render_offline
from installation.run.present import present_loop
from installation.run.present_state import PresentState
from installation.run.recovery import EXIT_TOO_MANY_RECOVERIES
from installation.run.render_threads import RenderThreads, wait_until_built
from installation.run.show_reload import Reloader
from installation.run.startup import Built, RunInfo, build_renderer, load_startup
from installation.run.stats import log_summary, write_stats
from installation.run.status import Reporter, StatusBoard, run_stats, write_status
from installation.settings import (
    FALLBACK_REFRESH_HZ,
    HEADLESS_FPS,
    HTTP_DEFAULT_HOST,
    OSC_DEFAULT_ALLOW,
    OSC_DEFAULT_HEARTBEAT_S,
    OSC_DEFAULT_HOST,
    SYNC_DEFAULT_PORT,
    AppSettings,
)
from installation.show.schema import DEFAULT_TEMPO_BPM, HttpSettings, OscSettings, Show
from installation.walk.commands import Command, MidiLearn

if TYPE_CHECKING:
    from installation.control.audio_in import AudioInput
    from installation.control.http import HttpControl
    from installation.control.link import LinkClock
    from installation.control.midi import MidiControl
    from installation.control.osc import CommandSink, OscControl
    from installation.control.oscquery import OscQueryControl
    from installation.control.sync import ClockFollower, ClockLeader
    from installation.walk.midi_map import MidiBinding

log = logging.getLogger(__name__)

MIDI_RETRY_FIRST_S = 1.0  # a MIDI port that is not there: tried again after 1, 2, 4 ... s
MIDI_RETRY_MAX_S = 30.0
FRAMES_QUEUE_SIZE = 2  # STYLE.md §8: bounded, the newest frame wins (plus one lookahead batch)


def run(settings: AppSettings) -> int:
    """Play the show until quit, --frames or --duration (or render it with --out).

    Returns the process exit code.

    Raises:
        InstallationError: a startup failure (show, model, display), with a one-line message.
    """
    if settings.is_offline:
        return render_offline(dataclasses.replace(settings, device=resolve_device(settings.device)))
    if not settings.is_headless:
        require_display()
    show = load_startup(settings)  # checks the device (auto included) first
    settings = dataclasses.replace(
        settings, device=resolve_device(settings.device), outputs=outputs_layout(settings, show)
    )
    queue_ = CommandQueue()  # merges what waits: no backlog from a storm of messages
    commands = command_router(queue_)  # the sources' sink: control-side commands are routed
    board = StatusBoard()
    board.info = RunInfo(show=str(settings.show_path))
    osc = start_osc(settings, commands, board, show)
    http = oscquery = midi = audio = sync = None
    try:
        http = start_http(settings, commands, board, show)
        oscquery = start_oscquery(settings, board, osc, show)
        midi = start_midi(settings, commands, board)
        audio = start_audio(settings, commands, board, show)
        sync = start_sync(settings, commands, board, show)
    except BaseException:
        for server in (audio, midi, oscquery, http, osc):
            if server is not None:
                server.stop()
        raise
    try:
        presenter = open_presenter(settings)
        try:
            # the models load on the render thread: all torch work stays on that one thread;
            # after a recovery they load again for the show playing then (the last one a reload
            # accepted), which is not read from its file again: that may be broken by now
            def build(build_settings: AppSettings, playing: Show | None = None) -> Built:
                return build_renderer(build_settings, playing or show)

            return play(settings, build, presenter, commands=queue_, board=board)
        finally:
            presenter.close()
    finally:
        if sync is not None:
            sync.stop()
        if audio is not None:
            audio.stop()
        if midi is not None:
            midi.stop()
        if oscquery is not None:
            oscquery.stop()
        if http is not None:
            http.stop()
        if osc is not None:
            osc.stop()


@dataclass(frozen=True)
class OscOptions:
    """Where the OSC server listens, whom it admits, where feedback goes (OscControl's options)."""

    host: str
    port: int
    allow: tuple[str, ...]
    feedback_target: tuple[str, int] | None
    heartbeat_s: float  # 0: no heartbeats


def osc_options(settings: AppSettings, show: Show | None) -> OscOptions | None:
    """OscControl's options: the command line, else the show's `show.osc`, else the defaults.

    None when neither gives a port (no OSC server).
    """
    osc = show.settings.osc if show is not None else OscSettings()
    port = settings.osc_port if settings.osc_port is not None else osc.port
    if port is None:
        return None
    return OscOptions(
        host=settings.osc_host or osc.host or OSC_DEFAULT_HOST,
        port=port,
        allow=settings.osc_allow or osc.allow or OSC_DEFAULT_ALLOW,
        feedback_target=settings.osc_feedback or osc.feedback,
        heartbeat_s=OSC_DEFAULT_HEARTBEAT_S if osc.heartbeat_s is None else osc.heartbeat_s,
    )


def start_osc(
    settings: AppSettings,
    commands: queue.SimpleQueue[Command],
    board: StatusBoard,
    show: Show | None = None,
) -> OscControl | None:
    """The OSC server on its own thread, or None without --osc-port.

    Raises:
        ControlError: the port is taken (or the host cannot be bound).
    """
    options = osc_options(settings, show)
    if options is None:
        return None
    from installation.control.osc import OscControl  # only when OSC is asked for

    osc = OscControl(
        options.host, options.port, commands, board.status, allow=options.allow,
        feedback_target=options.feedback_target, heartbeat_s=options.heartbeat_s,
        refusal=board.refusal,
    )  # fmt: skip
    osc.start()  # logs where it listens and what it allows
    return osc


def start_http(
    settings: AppSettings,
    commands: queue.SimpleQueue[Command],
    board: StatusBoard,
    show: Show | None = None,
) -> HttpControl | None:
    """The HTTP/WebSocket API and web remote on its own thread, or None without a port.

    Each option: the command line, else the show's `show.http`, else the default (no server;
    HTTP_DEFAULT_HOST; a new token). Peers other than this machine need the token: logged once
    and kept in the --status-file. The allow-list: the show's `http.allow`, else OSC's.

    Raises:
        ControlError: the port is taken (or the host cannot be bound).
    """
    http_settings = show.settings.http if show is not None else HttpSettings()
    port = settings.http_port if settings.http_port is not None else http_settings.port
    if port is None:
        return None
    from installation.control.http import HttpControl  # aiohttp only when HTTP is asked for

    osc_allow = settings.osc_allow or (show and show.settings.osc.allow) or OSC_DEFAULT_ALLOW
    http = HttpControl(
        settings.http_host or http_settings.host or HTTP_DEFAULT_HOST, port, commands,
        board.status, refusal=board.refusal, parameters=board.parameters,
        sections=board.sections, picture=board.picture,
        token=settings.http_token or http_settings.token,
        allow=http_settings.allow or osc_allow,
    )  # fmt: skip
    http.start()
    log.info("web remote token (for other machines): %s  e.g. %s#token=%s", http.token,
             http.url, http.token)  # fmt: skip
    board.private.update(http_url=http.url, http_token=http.token)
    return http


def start_oscquery(
    settings: AppSettings, board: StatusBoard, osc: OscControl | None, show: Show | None = None
) -> OscQueryControl | None:
    """The OSCQuery server (and its DNS-SD advertising) on its own threads, or None without a
    port (--oscquery-port, else the show's `show.osc.oscquery_port`). It listens where OSC does,
    with OSC's allow-list.

    Raises:
        ControlError: no OSC server to describe, the port is taken (or the host cannot be bound).
    """
    port = settings.oscquery_port
    if port is None and show is not None:
        port = show.settings.osc.oscquery_port
    if port is None:
        return None
    if osc is None:
        raise ControlError("OSCQuery describes the OSC server: give --osc-port (or the show's "
                           "show.osc.port) with --oscquery-port")  # fmt: skip
    from installation.control.oscquery import OscQueryControl  # aiohttp only when asked for

    options = osc_options(settings, show)
    oscquery = OscQueryControl(
        osc.host, port, osc.host, osc.port, f"latent-walk {settings.show_path.stem}",
        board.status, parameters=board.parameters, sections=board.sections,
        sensors=board.sensors, allow=options.allow if options else OSC_DEFAULT_ALLOW,
        dns_sd=settings.is_dns_sd,
    )  # fmt: skip
    oscquery.start()
    board.private["oscquery_url"] = oscquery.url
    return oscquery


def start_sync(
    settings: AppSettings, commands: CommandRouter, board: StatusBoard, show: Show | None = None
) -> ClockLeader | ClockFollower | LinkClock | None:
    """--sync leader: send this show's clock to the followers that say hello (on --sync-port,
    bound where OSC is); --sync follow HOST:PORT: slew to that leader's clock (both admit OSC's
    allow-list); --sync link: follow an Ableton Link session's beats at the show's tempo_bpm.
    None without --sync.

    Raises:
        ControlError: the port is taken, or the leader's host cannot be resolved.
    """
    if settings.sync_mode is None:
        return None
    if settings.sync_mode == "link":
        from installation.control.link import LinkClock  # aalink only for --sync link

        show_bpm = show.settings.tempo_bpm if show is not None else DEFAULT_TEMPO_BPM
        link = LinkClock(commands, show_bpm, notes=board.notes)
        link.start()
        return link
    from installation.control.sync import ClockFollower, ClockLeader, ClockReading

    osc = show.settings.osc if show is not None else OscSettings()
    allow = settings.osc_allow or osc.allow or OSC_DEFAULT_ALLOW
    sync: ClockLeader | ClockFollower
    if settings.sync_mode == "leader":

        def reading() -> ClockReading | None:  # the main thread's way: one attribute read
            loop = board.loop
            clock = loop.clock if loop is not None else None
            if clock is None:
                return None
            return ClockReading(clock.show_time_s(time.perf_counter()), clock.rate,
                                clock.is_paused, clock.epoch)  # fmt: skip

        host = settings.osc_host or osc.host or OSC_DEFAULT_HOST
        sync = ClockLeader(host, settings.sync_port or SYNC_DEFAULT_PORT, reading, allow,
                           notes=board.notes)  # fmt: skip
    else:
        assert settings.sync_leader is not None
        sync = ClockFollower(settings.sync_leader, commands, allow, notes=board.notes,
                             port=settings.sync_port or 0)  # the loop's clock: perf_counter
    sync.start()
    return sync


def command_router(commands: CommandQueue) -> CommandRouter:
    """The sink every control source puts into (control/router.py): the command queue, except
    MidiLearn, which start_midi routes to the MIDI input (refused with a log line until then)."""
    router = CommandRouter(commands)
    router.route(MidiLearn, lambda command: log.warning(
        "/midi/learn %s: there is no MIDI input (run_show.py --midi-in NAME|auto)",
        getattr(command, "target", "")))  # fmt: skip
    return router


def start_midi(
    settings: AppSettings, commands: CommandRouter, board: StatusBoard
) -> MidiControl | None:
    """The MIDI input on its own thread, or None without --midi-in.

    The bindings come from `<show stem>.midi.yaml` beside the show (run/midi_file.py); MIDI
    learn writes there. A port that is not there (yet) is retried with back-off (run/backoff.py).

    Raises:
        ControlError: mido/python-rtmidi are not installed (the `midi` extra).
        ShowError: the mapping file is broken (one line per problem).
    """
    if settings.midi_in is None:
        return None
    from installation.control.midi import MidiControl  # mido/rtmidi only when MIDI is asked for
    from installation.run.midi_file import midi_path, read_bindings, write_bindings
    from installation.walk.midi_map import MidiMap

    path = midi_path(settings.show_path)
    bindings = read_bindings(path)

    def save(learned: Sequence[MidiBinding]) -> str:
        write_bindings(path, learned)
        return str(path)

    midi = MidiControl(
        settings.midi_in, MidiMap(bindings), commands, board.parameters,
        api=settings.midi_api,  # type: ignore[arg-type]
        save=save, report=board.notes.__setitem__,
        backoff=lambda attempt: backoff_s(attempt, MIDI_RETRY_FIRST_S, MIDI_RETRY_MAX_S),
    )  # fmt: skip
    commands.route(MidiLearn, midi.learn)
    midi.start()
    log.info("MIDI: %d binding(s) from %s", len(bindings), path)
    return midi


def start_audio(
    settings: AppSettings, commands: CommandSink, board: StatusBoard, show: Show | None = None
) -> AudioInput | None:
    """The live sound input on its own thread, or None without --audio-in or the show's
    `audio.input` (the command line wins).

    It sends the audio.* readings the playing show's `sensors:` block maps (looked up on the
    status board, so a reload's new mappings count at once). A missing device is not an error
    here: the input logs it and keeps trying while the show plays.

    Raises:
        ControlError: sounddevice or PortAudio is not installed (the `audio` extra).
    """
    device = settings.audio_in or (show.audio.input if show is not None else None)
    if device is None:
        return None
    from installation.control.audio_in import AudioInput  # sounddevice only when asked for

    def wanted() -> set[str]:
        return {s["name"] for s in board.sensors() if s["name"].startswith("audio.")}

    def playing_show() -> Show | None:
        loop = board.loop
        return loop.show if loop is not None else None

    audio = AudioInput(device, commands, wanted, playing_show)
    audio.start()
    board.private.update(audio_in=device)
    return audio


def outputs_layout(settings: AppSettings, show: Show) -> OutputsLayout | None:
    """The screens of this PC the show spans: --outputs, else the show's `show.outputs`, each
    of --overlap and --blend-gamma over the show's; None: one screen (--display)."""
    wanted = show.settings.outputs
    if settings.output_displays is not None:
        screens = tuple(Screen(display) for display in settings.output_displays)
    elif wanted is not None:
        fits: list[Any] = [screen.fit for screen in wanted.screens]  # checked: OUTPUT_FITS
        screens = tuple(Screen(s.display, fit) for s, fit in zip(wanted.screens, fits, strict=True))
    else:
        if settings.overlap is not None or settings.blend_gamma is not None:
            log.warning("--overlap and --blend-gamma need several outputs (--outputs or the "
                        "show's show.outputs); ignored")  # fmt: skip
        return None
    overlap = settings.overlap or (
        Overlap(wanted.overlap, wanted.overlap_is_px) if wanted is not None else Overlap()
    )
    gamma = settings.blend_gamma or (wanted.gamma if wanted is not None else DEFAULT_BLEND_GAMMA)
    return OutputsLayout(screens, overlap, gamma)


def open_presenter(settings: AppSettings) -> Presenter:
    """An offscreen EGL presenter for --headless, otherwise the pygame window; with several
    outputs (settings.outputs) both draw each output's part of the frame."""
    if settings.is_headless:
        return OffscreenPresenter(settings.output_size_px, fit=settings.fit,
                                  outputs=settings.outputs)  # fmt: skip
    return WindowPresenter(
        settings.display_index, settings.is_windowed, settings.output_size_px,
        fit=settings.fit, is_kiosk=settings.is_kiosk, outputs=settings.outputs,
    )  # fmt: skip


def display_fps(settings: AppSettings, presenter: Presenter) -> float:
    """--fps, else the monitor's refresh (FALLBACK_REFRESH_HZ when unknown; headless: 30)."""
    if settings.fps is not None:
        return settings.fps
    if settings.is_headless:
        return HEADLESS_FPS
    refresh_hz = getattr(presenter, "refresh_hz", None)
    if refresh_hz:
        return float(refresh_hz)
    log.info("monitor refresh unknown; fps=%g", FALLBACK_REFRESH_HZ)
    return FALLBACK_REFRESH_HZ


def play(
    settings: AppSettings,
    source: BatchRenderer | Callable[[AppSettings], Built],
    presenter: Presenter,
    reloader: Reloader | None = None,
    info: RunInfo | None = None,
    commands: queue.SimpleQueue[Command] | None = None,
    board: StatusBoard | None = None,
) -> int:
    """Run the render thread and the present loop until a stop condition; log the summary.

    `source` is a ready renderer, or a function that builds (renderer, reloader, info) from the
    settings; it runs on the render thread, so the models load and run on one thread (torch's
    OpenMP workers are per calling thread: a second team made generation ~30 % slower here).
    A failed or hung render thread is replaced (RenderThreads); after too many recoveries this
    returns EXIT_TOO_MANY_RECOVERIES.

    Raises:
        InstallationError: the build failed (model, latents); the message says why.
    """
    fps = display_fps(settings, presenter)
    frames: queue.Queue[Frame] = queue.Queue(
        maxsize=max(FRAMES_QUEUE_SIZE, 2 * settings.max_batch + 2)
    )
    loop_settings = LoopSettings(
        fps=fps, max_batch=settings.max_batch, latency_budget_s=settings.latency_budget_s,
        is_blending=settings.is_blending, start_s=settings.start_s,
        max_frames=settings.max_frames,
    )  # fmt: skip
    stopping = threading.Event()
    threads = RenderThreads(settings, source, frames, commands or CommandQueue(),
                            loop_settings, stopping, reloader, info)  # fmt: skip
    board = board or StatusBoard()
    reporter = Reporter(settings.status_file)
    try:  # (no local for the first Worker: it would keep its loop and models for the whole run)
        started = wait_until_built(threads.start().ready, presenter, threads,
                                   on_wait=lambda: reporter.loading(board))  # fmt: skip
    except BaseException:
        stopping.set()
        threads.join()  # not a hung one
        raise
    if started is None:  # quit while loading
        stopping.set()
        threads.join()
        return 0
    assert threads.worker is not None
    threads.follow(threads.worker)
    pacer = FramePacer(settings.is_blending)
    state = PresentState(started_s=time.perf_counter())
    board.attach(threads.loop, pacer, state, threads.info, threads.reloader, threads.recovery)
    log.info("show started fps=%g blend=%s batch_max=%d latency_ms=%g start_s=%g frames=%s "
             "duration_s=%s", fps, settings.is_blending, settings.max_batch,
             settings.latency_budget_s * 1000, settings.start_s, settings.max_frames,
             settings.max_duration_s)  # fmt: skip
    try:
        present_loop(settings, presenter, frames, threads, pacer, state, fps, stopping, board,
                     reporter)  # fmt: skip
    finally:
        stopping.set()
        threads.join()
    return finish(settings, threads, pacer, state, fps, board)


def finish(
    settings: AppSettings, threads: RenderThreads, pacer: FramePacer, state: PresentState,
    fps: float, board: StatusBoard,
) -> int:  # fmt: skip
    """The end of play(): summary line, status file, --stats-json; the exit code."""
    loop = threads.loop
    stats = run_stats(loop.stats, pacer.counters, state, loop, fps, threads.info,
                      threads.recovery)  # fmt: skip
    log_summary("summary", stats)
    if settings.status_file is not None:
        write_status(settings.status_file, board, state, pacer, loop, is_running=False)
    if settings.stats_json is not None:
        write_stats(settings.stats_json, stats)
    if threads.is_exit:
        return EXIT_TOO_MANY_RECOVERIES
    if loop.stats.generated == 0:
        log.error("no frame was rendered (failed=%d); see the errors above", loop.stats.failed)
        return 1
    return 0
