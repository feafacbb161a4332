"""The show's opening hours, acted on by the main thread every display tick.

Outside the hours the render thread is paused (the machine idles) and the picture is black
(`outside: black`) or the last frame stays (`hold`); `outside: <section>` plays that section
over and over, and at opening the show goes on from where it was at closing.
"""

from __future__ import annotations

import datetime
import logging
import queue

from installation.render.loop import RenderLoop
from installation.run.present_state import PresentState
from installation.walk.commands import Command, HoldSection, SetPaused
from installation.walk.hours import fade_level

log = logging.getLogger(__name__)

OPENING_FADE_S = 10.0  # the picture fades in at opening time and out before closing time


def opening_level(
    loop: RenderLoop, commands: queue.SimpleQueue[Command], state: PresentState
) -> float:
    """The show's opening hours as a picture level (fading at the edges); pauses when closed.

    Sends SetPaused or HoldSection when the show opens or closes (module docstring).
    """
    hours = loop.show.settings.opening_hours  # the newest show's (a reload may change them)
    if hours is None:
        return 1.0
    level = fade_level(hours, local_now(), OPENING_FADE_S)
    is_open = level > 0.0
    if is_open != state.is_open:
        state.is_open = is_open
        if hours.outside in ("black", "hold"):
            commands.put(SetPaused(not is_open))
        else:
            commands.put(HoldSection(None if is_open else hours.outside))
        log.info("opening hours: %s (outside: %s)", "open" if is_open else "closed",
                 hours.outside)  # fmt: skip
    return level if hours.outside == "black" else 1.0


def local_now() -> datetime.datetime:
    """Local wall-clock time, naive (opening hours are wall-clock times; tests replace this)."""
    return datetime.datetime.now()
