"""Hot reload off the render thread: a worker builds the new show, the render thread swaps it in.

The render thread asks (`reload`, `load`) and looks (`poll`, once per pass); it never waits. A
worker thread reads and checks the file (bounded: show/yamlread.py, show/arrays.py), loads the
models the show adds and resolves its latents. Whatever the worker raises, or when it takes
longer than its deadline, the playing show plays on and the reload is logged and rejected (a
Python thread cannot be killed: a late worker's result is dropped). The render thread only ever
swaps in a fully built Timeline.

A rejected version of a file (size, mtime, inode) is not read again until it changes, and a
render-thread recovery rebuilds `accepted`, the show playing, without reading any file.

The worker is the one thread not started by app.py (STYLE §8): a short-lived daemon per build,
owning nothing the render thread uses until it hands over its result, so that a build that
never ends can neither hold up the render thread nor the exit (it is not joined).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installation.errors import ShowError
from installation.models import load_generator
from installation.render.resolve import resolve_show
from installation.render.show_renderer import ShowRenderer
from installation.settings import AppSettings
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.switching import SwitchingTimeline
from installation.walk.timeline import Timeline

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0  # the render thread looks at the show file's mtime at most this often
READ_DEADLINE_S = 20.0  # reading and checking a file (bounded to a few seconds; a busy machine)
BUILD_DEADLINE_S = 300.0  # the whole build with new models: what a first start is allowed


@dataclass(frozen=True)
class Version:
    """Which version of a file: enough to tell a save from the file it replaced."""

    size: int
    mtime_ns: int
    inode: int


def version_of(path: Path) -> Version | None:
    """The file's Version, or None when it cannot be looked at."""
    try:
        info = path.stat()
    except OSError:
        return None
    return Version(info.st_size, info.st_mtime_ns, info.st_ino)


@dataclass(frozen=True)
class Rebuilt:
    """A fully built show, ready to swap in."""

    show: Show
    timeline: Timeline
    generators: dict[str, Any]  # by model name
    new_by_path: dict[Path, Any]  # generators the show added, by model file


@dataclass
class Job:
    """One reload being built by a worker thread."""

    path: Path
    version: Version | None
    is_load: bool  # /show/load: on success the new file is the one watched
    started_s: float
    stage: str = "reading"  # reading -> models -> latents
    result: Rebuilt | str | None = None  # str: why it was rejected
    done: threading.Event = field(default_factory=threading.Event)

    def deadline_s(self) -> float:
        """Seconds this job may take in its current stage."""
        return READ_DEADLINE_S if self.stage == "reading" else BUILD_DEADLINE_S


def try_reload(path: str | Path, current: Show) -> tuple[Show, str | None]:
    """(the show read from `path`, None), or (`current`, the error text) when it does not load."""
    try:
        return load_show(path), None
    except ShowError as err:
        return current, str(err)


class Reloader:
    """Hot reload: the render thread asks and polls; a worker thread builds (module docstring).

    The renderer renders through a SwitchingTimeline; generators are reused by file path.
    """

    def __init__(
        self, settings: AppSettings, renderer: ShowRenderer, by_path: dict[Path, Any]
    ) -> None:
        """Wrap the renderer's timeline; `by_path`: the loaded generators by model file."""
        self.settings = settings
        self.path = Path(settings.show_path)
        self.shows_folder = self.path.parent  # LoadShow names a show of this folder
        self.renderer = renderer
        self.by_path = dict(by_path)
        self.timeline = SwitchingTimeline(renderer.timeline)
        renderer.timeline = self.timeline  # type: ignore[assignment]  # same .at() as Timeline
        self.accepted: Show = renderer.show  # the newest show swapped in (a recovery's show)
        self.mtime_ns = self._mtime_ns()
        self.next_check_s = time.perf_counter() + WATCH_INTERVAL_S
        self.job: Job | None = None
        self.waiting: tuple[Path, bool] | None = None  # asked for while a job was running
        self.rejected: set[tuple[Path, Version]] = set()

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

    def load(self, name: str, show_time_s: float) -> bool:
        """Start switching to the show `name` of the shows folder (the first show's folder).

        `name` may leave out `.yaml`; no paths. Once built, the new file is the one watched from
        then on; a name that is not a show there, or a show that does not load, keeps the
        current one. Returns False: nothing has switched yet (poll() swaps it in).
        """
        folder = self.shows_folder
        candidates = [folder / name, folder / f"{name}.yaml", folder / f"{name}.yml"]
        path = next((c for c in candidates if c.is_file()), None)
        is_inside = path is not None and path.resolve().parent == folder.resolve()
        if path is None or not is_inside or "/" in name or "\\" in name:
            shows = sorted(p.stem for p in folder.glob("*.yaml"))
            log.error("load show %r: no such show in %s (have: %s)", name, folder,
                      ", ".join(shows) or "-")  # fmt: skip
            return False
        self._ask(path, is_load=True)
        return False

    def reload(self, show_time_s: float) -> bool:
        """Start re-reading the show file; False: nothing has switched yet (poll() swaps it in)."""
        self._ask(self.path, is_load=False)
        return False

    def poll(self, show_time_s: float) -> bool:
        """Render thread, every pass: swap in a finished build; True when a new show was.

        A build past its deadline is given up (logged, its file version rejected).
        """
        job = self.job
        if job is None:
            return False
        if not job.done.is_set():
            elapsed_s = time.perf_counter() - job.started_s
            if elapsed_s <= job.deadline_s():
                return False
            self._reject(job, f"gave up after {elapsed_s:.0f} s while {job.stage} (the limit is "
                              f"{job.deadline_s():g} s)")  # fmt: skip
            self._next()
            return False
        self.job = None
        is_swapped = False
        if isinstance(job.result, Rebuilt):
            self._swap(job, job.result, show_time_s)
            is_swapped = True
        else:
            self._reject(job, job.result or "no result")
        self._next()
        return is_swapped

    def _ask(self, path: Path, is_load: bool) -> None:
        """Start a worker for `path`, or remember the request while one runs (the last wins)."""
        if self.job is not None:
            self.waiting = (path, is_load)
            log.info("show reload of %s waits for the one being built", path)
            return
        version = version_of(path)
        if version is not None and (path, version) in self.rejected:
            log.error("show reload of %s skipped: this version of the file was rejected before; "
                      "the current show plays on", path)  # fmt: skip
            return
        job = Job(path, version, is_load, time.perf_counter())
        self.job = job
        threading.Thread(target=self._build, args=(job,), name="reload", daemon=True).start()
        log.info("show reload started path=%s", path)

    def _next(self) -> None:
        """Start the request that waited, if any."""
        self.job = None
        if self.waiting is not None:
            path, is_load = self.waiting
            self.waiting = None
            self._ask(path, is_load)

    def _build(self, job: Job) -> None:
        """Worker thread: read, check, load models and resolve latents; never raises."""
        try:
            show = load_show(job.path)
            job.stage = "models"
            new_by_path: dict[Path, Any] = {}
            for entry in show.models:
                if entry.path not in self.by_path and entry.path not in new_by_path:
                    new_by_path[entry.path] = load_generator(
                        entry.path, self.settings.device, self.settings.resolved_precision
                    )
            by_path = {**self.by_path, **new_by_path}
            generators = {e.name: by_path[e.path] for e in show.models}
            job.stage = "latents"
            timeline = Timeline(show, resolve_show(show, generators))
            job.result = Rebuilt(show, timeline, generators, new_by_path)
        except ShowError as err:
            job.result = str(err)
        except Exception as err:  # any failure of a model or a latent: rejected, traceback logged
            log.debug("show reload of %s failed", job.path, exc_info=True)
            job.result = f"{job.path}: {type(err).__name__}: {err}"
        finally:
            job.done.set()

    def _reject(self, job: Job, reason: str) -> None:
        """Log the rejection once and remember the file version, so it is not read again."""
        if job.version is not None:
            self.rejected.add((job.path, job.version))
        log.error("show reload failed; the current show plays on\n%s", reason)

    def _swap(self, job: Job, built: Rebuilt, show_time_s: float) -> None:
        """Swap the built show in: its generators, and the switch on the timeline."""
        show = built.show
        current = self.renderer.show
        self.by_path.update(built.new_by_path)
        for entry in show.models:
            old = next((m for m in current.models if m.name == entry.name), None)
            if old is not None and old.path != entry.path:
                log.warning("model %r now names %s; old frames use it until the switch",
                            entry.name, entry.path)  # fmt: skip
        # the renderer looks models up by name: the new show's win, the old ones stay for the fade
        self.renderer.generators.update(built.generators)
        names = {e.name for e in show.models}
        kept = tuple(m for m in current.models if m.name not in names)
        self.renderer.show = dataclasses.replace(show, models=show.models + kept)
        switch_s = self.timeline.schedule(built.timeline, show, show_time_s)
        self.accepted = show
        if job.is_load:
            self.path = job.path
            self.mtime_ns = self._mtime_ns()
        log.info("show reloaded path=%s sections=%d when=%s switch_s=%.3f crossfade_s=%g "
                 "build_s=%.2f", job.path, len(show.sections), show.settings.reload.when,
                 switch_s, show.settings.reload.crossfade_s,
                 time.perf_counter() - job.started_s)  # fmt: skip
