"""Startup: check the device, read the show, choose the kernels, load the models; hot reload.

`load_startup` is cheap and runs on the main thread (errors before any window opens);
`build_renderer` loads the models and resolves the latents, and runs on the render thread, which
then owns them. Hot reload (`Reloader`) lives in installation/run/show_reload.py.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import kernels.backend
from installation.control.audio_events import check_messages
from installation.device import choose_device, resolve_device
from installation.errors import InstallationError, ShowError
from installation.models import load_generator
from installation.render.loop import BatchRenderer
from installation.render.resolve import resolve_show
from installation.render.show_renderer import ShowRenderer
from installation.run.show_reload import Reloader, try_reload  # noqa: F401 - try_reload: app's API
from installation.settings import AppSettings
from installation.show.load import load_show
from installation.show.schema import Show

log = logging.getLogger(__name__)


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
    problems = check_messages(show)  # the audio: block's messages, against the OSC table
    if problems:
        raise ShowError("\n".join(problems))
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

    All models of the show load now (a show has few). A device still `auto` (a caller that is
    not app.run, which resolves it first) is resolved here, with its log line.
    """
    if settings.device == "auto":
        settings = dataclasses.replace(settings, device=resolve_device(settings.device))
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
    """Raise DeviceError (an InstallationError, exit 2) when `device` is not usable here."""
    choose_device(device)
