"""The app: builds the pieces, runs the render thread and the present loop, stops them.

One frame's way: show file -> keyframe latents of every section (once, resolve_show) ->
Timeline.at(t) -> ws -> G.synthesis (ShowRenderer) -> Frame -> frames queue -> presenter.
The render thread owns the generators; the main thread owns the window. A single `stopping`
event ends both (STYLE.md §8).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

import kernels.backend
from installation.display.offscreen import OffscreenPresenter
from installation.display.presenter import QUIT, RELOAD, Presenter
from installation.display.window import WindowPresenter, require_display
from installation.errors import InstallationError, ShowError
from installation.logs import RateLimitedLog
from installation.models import load_generator
from installation.render.frame import Frame
from installation.render.latents import resolve_show
from installation.render.show_renderer import ShowRenderer
from installation.settings import AppSettings
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.reload import SwitchingTimeline
from installation.walk.timeline import Timeline

log = logging.getLogger(__name__)

FRAMES_QUEUE_SIZE = 2  # STYLE.md §8: bounded, the newest frame wins
JOIN_TIMEOUT_S = 10.0  # a frame in progress cannot be interrupted; allow a slow one to finish
POLL_INTERVAL_S = 0.02  # the main thread handles window events at least this often
RENDER_RETRY_DELAY_S = 0.5  # pause after a failed frame before trying again
SUMMARY_INTERVAL_S = 60.0  # STYLE.md §9: an fps/dropped-frame summary every minute
GEN_MS_WINDOW = 1000  # frames kept for the gen-time median/p95
WATCH_INTERVAL_S = 1.0  # the render thread looks at the show file's mtime at most this often


class Renderer(Protocol):
    """What the render thread needs: show time -> Frame (ShowRenderer, or a test stand-in)."""

    def render(self, index: int, show_time_s: float) -> Frame: ...


@dataclass
class RenderCounters:
    """Counts written by the render thread only; others read them (int reads are atomic)."""

    generated: int = 0
    dropped: int = 0
    failed: int = 0


@dataclass
class PresentCounters:
    """Counts written by the main thread only."""

    shown: int = 0
    started_s: float = 0.0
    gen_ms: deque[float] = field(default_factory=lambda: deque(maxlen=GEN_MS_WINDOW))


def run(settings: AppSettings) -> int:
    """Play the show until quit, --frames or --duration; returns the process exit code.

    Raises:
        InstallationError: a startup failure (show, model, display), with a one-line message.
    """
    if not settings.is_headless:
        require_display()
    check_device(settings.device)
    show = load_show(settings.show_path)
    log.info(
        "show loaded path=%s sections=%d models=%d pass_s=%g",
        show.path, len(show.sections), len(show.models), show.total_s(),
    )  # fmt: skip
    kernels.backend.select("auto")  # once, at startup; logs the choice and its reason
    # Every model of the show is loaded now (a show has few); loading one just before its
    # section needs it belongs to the render-loop issue.
    generators = {
        entry.name: load_generator(entry.path, settings.device, settings.precision)
        for entry in show.models
    }
    latents = resolve_show(show, generators)
    renderer = ShowRenderer(show, generators, settings.device, latents)
    reloader = Reloader(settings, renderer, {e.path: generators[e.name] for e in show.models})
    presenter = open_presenter(settings)
    try:
        return play(settings, renderer, presenter, reloader)
    finally:
        presenter.close()


def check_device(device: str) -> None:
    """Raise InstallationError when `device` is not a usable torch device."""
    try:
        torch_device = torch.device(device)
    except RuntimeError as err:
        raise InstallationError(f"--device {device!r}: {err}") from None
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise InstallationError(
            f"--device {device}: CUDA is not available (torch {torch.__version__})"
        )


def open_presenter(settings: AppSettings) -> Presenter:
    """An offscreen EGL presenter for --headless, otherwise the pygame window."""
    if settings.is_headless:
        return OffscreenPresenter(settings.output_size_px)
    return WindowPresenter(settings.display_index, settings.is_windowed, settings.output_size_px)


def try_reload(path: str | Path, current: Show) -> tuple[Show, str | None]:
    """(the show read from `path`, None), or (`current`, the error text) when it does not load."""
    try:
        return load_show(path), None
    except ShowError as err:
        return current, str(err)


class Reloader:
    """Hot reload, render thread only: re-read the show file and schedule the switch to it.

    The renderer renders through a SwitchingTimeline; generators are reused by file path. A show
    that fails validation (or whose models/latents fail) is logged once and the old one plays on.
    """

    def __init__(
        self, settings: AppSettings, renderer: ShowRenderer, by_path: dict[Path, Any]
    ) -> None:
        """Wrap the renderer's timeline; `by_path`: the loaded generators by model file."""
        self.settings = settings
        self.path = Path(settings.show_path)
        self.renderer = renderer
        self.by_path = dict(by_path)
        self.timeline = SwitchingTimeline(renderer.timeline)
        renderer.timeline = self.timeline  # type: ignore[assignment]  # same .at() as Timeline
        self.mtime_ns = self._mtime_ns()
        self.next_check_s = time.perf_counter() + WATCH_INTERVAL_S

    def _mtime_ns(self) -> int | None:
        """The show file's modification time, or None when it cannot be read."""
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def is_file_changed(self) -> bool:
        """True once per change of the show file's mtime (looked at most once per second)."""
        now_s = time.perf_counter()
        if not self.settings.is_watching or now_s < self.next_check_s:
            return False
        self.next_check_s = now_s + WATCH_INTERVAL_S
        mtime_ns = self._mtime_ns()
        if mtime_ns is None or mtime_ns == self.mtime_ns:
            return False
        self.mtime_ns = mtime_ns
        return True

    def reload(self, show_time_s: float) -> bool:
        """Load the show file and schedule the switch at show_time_s; False keeps the old show."""
        current = self.timeline.show
        show, error = try_reload(self.path, current)
        if error is not None:
            log.error("show reload failed; the current show plays on\n%s", error)
            return False
        try:
            for entry in show.models:
                if entry.path not in self.by_path:
                    self.by_path[entry.path] = load_generator(
                        entry.path, self.settings.device, self.settings.precision
                    )
            generators = {e.name: self.by_path[e.path] for e in show.models}
            timeline = Timeline(show, resolve_show(show, generators))
        except Exception:  # a model or latent that fails: the old show plays on
            log.exception("show reload failed path=%s; the current show plays on", self.path)
            return False
        for entry in show.models:
            old = next((m for m in current.models if m.name == entry.name), None)
            if old is not None and old.path != entry.path:
                log.warning("model %r now names %s; old frames use it until the switch",
                            entry.name, entry.path)  # fmt: skip
        # the renderer looks models up by name: the new show's win, the old ones stay for the fade
        self.renderer.generators.update(generators)
        names = {e.name for e in show.models}
        kept = tuple(m for m in self.renderer.show.models if m.name not in names)
        self.renderer.show = dataclasses.replace(show, models=show.models + kept)
        switch_s = self.timeline.schedule(timeline, show, show_time_s)
        log.info("show reloaded path=%s sections=%d when=%s switch_s=%.3f crossfade_s=%g",
                 self.path, len(show.sections), show.settings.reload.when, switch_s,
                 show.settings.reload.crossfade_s)  # fmt: skip
        return True


def play(
    settings: AppSettings,
    renderer: Renderer,
    presenter: Presenter,
    reloader: Reloader | None = None,
) -> int:
    """Run the render thread and the present loop until a stop condition; log the summary."""
    frames: queue.Queue[Frame] = queue.Queue(maxsize=FRAMES_QUEUE_SIZE)
    requests: queue.Queue[str] = queue.Queue()  # UI commands for the render thread (RELOAD)
    stopping = threading.Event()
    render_counters = RenderCounters()
    started_s = time.perf_counter()

    def show_clock_s() -> float:
        return time.perf_counter() - started_s

    render_thread = threading.Thread(
        target=render_loop, name="render",
        args=(renderer, frames, stopping, render_counters, show_clock_s, settings, reloader,
              requests),
    )  # fmt: skip
    present_counters = PresentCounters(started_s=started_s)
    render_thread.start()
    log.info("show started fps_cap=%g frames=%s duration_s=%s", settings.fps,
             settings.max_frames, settings.max_duration_s)  # fmt: skip
    try:
        present_loop(settings, presenter, frames, stopping, render_thread, show_clock_s,
                     render_counters, present_counters, requests)  # fmt: skip
    finally:
        stopping.set()
        render_thread.join(JOIN_TIMEOUT_S)
        if render_thread.is_alive():
            log.warning("thread did not stop name=%s timeout_s=%g", render_thread.name,
                        JOIN_TIMEOUT_S)  # fmt: skip
    log_summary("summary", render_counters, present_counters)
    if render_counters.generated == 0:
        log.error("no frame was rendered (failed=%d); see the errors above",
                  render_counters.failed)  # fmt: skip
        return 1
    return 0


def render_loop(
    renderer: Renderer,
    frames: queue.Queue[Frame],
    stopping: threading.Event,
    counters: RenderCounters,
    show_clock_s: Callable[[], float],
    settings: AppSettings,
    reloader: Reloader | None = None,
    requests: queue.Queue[str] | None = None,
) -> None:
    """Render thread: one frame per fps tick (or as fast as it can), newest frame wins."""
    try:
        _render_frames(renderer, frames, stopping, counters, show_clock_s, settings, reloader,
                       requests)  # fmt: skip
    except Exception:  # a bug outside the per-frame guard: stop the show instead of hanging it
        log.exception("render thread failed; stopping")
        stopping.set()


def _render_frames(
    renderer: Renderer,
    frames: queue.Queue[Frame],
    stopping: threading.Event,
    counters: RenderCounters,
    show_clock_s: Callable[[], float],
    settings: AppSettings,
    reloader: Reloader | None = None,
    requests: queue.Queue[str] | None = None,
) -> None:
    """The render loop body; ends on `stopping` or once --frames attempts were made."""
    period_s = 1.0 / settings.fps
    failure_log = RateLimitedLog(log, interval_s=10.0)
    drop_log = RateLimitedLog(log, interval_s=SUMMARY_INTERVAL_S)
    next_render_s = time.perf_counter()
    index = 0
    while not stopping.is_set():
        if settings.max_frames is not None and index >= settings.max_frames:
            break  # the present loop ends once it has shown what is queued
        delay_s = next_render_s - time.perf_counter()
        if delay_s > 0 and stopping.wait(delay_s):
            break
        show_time_s = show_clock_s()
        if reloader is not None and (_take_reload(requests) or reloader.is_file_changed()):
            reloader.reload(show_time_s)
        try:
            frame = renderer.render(index, show_time_s)
        except Exception:  # one bad frame must not end the show; the last good frame stays up
            counters.failed += 1
            failure_log.log(logging.ERROR, "render failed frame=%d show_time_s=%.3f",
                            index, show_time_s, exc_info=True)  # fmt: skip
            index += 1  # a bounded run (--frames) counts failed attempts, so it always ends
            stopping.wait(RENDER_RETRY_DELAY_S)
            continue
        counters.generated += 1
        index += 1
        if put_newest(frames, frame):
            counters.dropped += 1
            drop_log.log(logging.WARNING, "frame dropped: display behind render dropped=%d",
                         counters.dropped)  # fmt: skip
        next_render_s = max(next_render_s + period_s, time.perf_counter())
    failure_log.flush(logging.ERROR)
    drop_log.flush()


def _take_reload(requests: queue.Queue[str] | None) -> bool:
    """Drain the request queue; True when a reload was asked for."""
    asked = False
    while requests is not None:
        try:
            asked = requests.get_nowait() == RELOAD or asked
        except queue.Empty:
            break
    return asked


def put_newest(frames: queue.Queue[Frame], frame: Frame) -> bool:
    """Put `frame`, dropping the oldest queued frame when full; True when one was dropped."""
    is_dropped = False
    while True:
        try:
            frames.put_nowait(frame)
            return is_dropped
        except queue.Full:
            try:
                frames.get_nowait()
                is_dropped = True
            except queue.Empty:
                pass  # the consumer took one meanwhile: there is room now


def present_loop(
    settings: AppSettings,
    presenter: Presenter,
    frames: queue.Queue[Frame],
    stopping: threading.Event,
    render_thread: threading.Thread,
    show_clock_s: Callable[[], float],
    render_counters: RenderCounters,
    counters: PresentCounters,
    requests: queue.Queue[str] | None = None,
) -> None:
    """Main thread: poll UI, present each new frame at most at the fps cap (perf_counter pace)."""
    period_s = 1.0 / settings.fps
    next_present_s = time.perf_counter()
    next_summary_s = next_present_s + SUMMARY_INTERVAL_S
    try:
        while not stopping.is_set():
            events = presenter.poll()
            if QUIT in events:
                log.info("quit requested")
                break
            if RELOAD in events and requests is not None:
                log.info("show reload requested (key r)")
                requests.put(RELOAD)
            if settings.max_duration_s is not None and show_clock_s() >= settings.max_duration_s:
                break
            try:
                frame = frames.get(timeout=POLL_INTERVAL_S)
            except queue.Empty:
                if not render_thread.is_alive():
                    break  # --frames done (or the render thread failed) and nothing is queued
                continue
            wait_s = next_present_s - time.perf_counter()
            if wait_s > 0:
                time.sleep(wait_s)
            presenter.present(frame)
            counters.shown += 1
            counters.gen_ms.append(frame.gen_ms)
            next_present_s = max(next_present_s + period_s, time.perf_counter())
            if settings.max_frames is not None and counters.shown >= settings.max_frames:
                break
            if time.perf_counter() >= next_summary_s:
                log_summary("stats", render_counters, counters)
                next_summary_s += SUMMARY_INTERVAL_S
    except KeyboardInterrupt:
        log.info("interrupted")
    finally:
        stopping.set()


def log_summary(label: str, render: RenderCounters, present: PresentCounters) -> None:
    """One line: frames generated/shown/dropped/failed, gen ms median/p95, display fps."""
    elapsed_s = time.perf_counter() - present.started_s
    gen_ms = np.array(present.gen_ms) if present.gen_ms else np.array([np.nan])
    log.info(
        "%s frames generated=%d shown=%d dropped=%d failed=%d gen_ms_median=%.1f "
        "gen_ms_p95=%.1f display_fps=%.2f elapsed_s=%.1f",
        label, render.generated, present.shown, render.dropped, render.failed,
        float(np.median(gen_ms)), float(np.percentile(gen_ms, 95)),
        present.shown / elapsed_s if elapsed_s > 0 else 0.0, elapsed_s,
    )  # fmt: skip
