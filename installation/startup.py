"""Startup: check the device, read the show, choose the kernels, load the models; hot reload.

`load_startup` is cheap and runs on the main thread (errors before any window opens);
`build_renderer` loads the models and resolves the latents, and runs on the render thread, which
then owns them. `Reloader` re-reads the show file on the render thread.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import kernels.backend
from installation.errors import InstallationError, ShowError
from installation.models import load_generator
from installation.render.latents import resolve_show
from installation.render.loop import BatchRenderer
from installation.render.show_renderer import ShowRenderer
from installation.settings import AppSettings
from installation.show.load import load_show
from installation.show.schema import Show
from installation.walk.reload import SwitchingTimeline
from installation.walk.timeline import Timeline

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0  # the render thread looks at the show file's mtime at most this often


@dataclass(frozen=True)
class RunInfo:
    """What the overlay and the statistics say about the run (fixed at startup)."""

    show: str = ""
    models: str = ""
    device: str = "cpu"
    precision: str = "fast"
    kernels: str = ""


Built = tuple[BatchRenderer, "Reloader | None", RunInfo]  # what the render thread builds


def load_startup(settings: AppSettings) -> Show:
    """Check the device, read the show file and choose the kernels (cheap; no torch work)."""
    check_device(settings.device)
    show = load_show(settings.show_path)
    log.info(
        "show loaded path=%s sections=%d models=%d pass_s=%g",
        show.path, len(show.sections), len(show.models), show.total_s(),
    )  # fmt: skip
    try:
        kernels.backend.select(settings.kernels)  # once; logs the choice and its reason
    except RuntimeError as err:
        raise InstallationError(str(err)) from None
    return show


def build_renderer(settings: AppSettings, show: Show) -> Built:
    """Load the show's models and resolve its latents (startup; torch work).

    All models of the show load now (a show has few).
    """
    precision = settings.resolved_precision
    generators = {
        entry.name: load_generator(entry.path, settings.device, precision) for entry in show.models
    }
    latents = resolve_show(show, generators)
    renderer = ShowRenderer(show, generators, settings.device, latents)
    reloader = Reloader(settings, renderer, {e.path: generators[e.name] for e in show.models})
    info = RunInfo(
        show=str(show.path), models=", ".join(e.name for e in show.models),
        device=settings.device, precision=precision, kernels=kernels.backend.current(),
    )  # fmt: skip
    return renderer, reloader, info


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
        self.shows_folder = self.path.parent  # LoadShow names a show of this folder
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

    def load(self, name: str, show_time_s: float) -> bool:
        """Switch to the show `name` of the shows folder (the first show's folder); no paths.

        `name` may leave out `.yaml`. On success the new file is the one watched from now on;
        a name that is not a show there, or a show that does not load, keeps the current one.
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
        previous = self.path
        self.path = path
        if not self.reload(show_time_s):
            self.path = previous
            return False
        self.mtime_ns = self._mtime_ns()
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
                        entry.path, self.settings.device, self.settings.resolved_precision
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
