"""What the playing section accepts from live control, asked before a command is queued.

The render thread stays the authority (it checks again when it applies a command; the section
may change in between). These answers let OSC tell a sender at once why a message does nothing
(`/status/refused <address> <reason>`) and list what is steerable now (`/status/steerable`).
The ranges come from the same place the render loop uses (`walk.timeline.live_range`).
"""

from __future__ import annotations

import logging
from typing import Any

from installation.walk.commands import Command, GoToSection, SensorInput, SetLive, SetSpeed
from installation.walk.timeline import LIVE_DEFAULT_RANGES, SPEED_RANGE, live_range

log = logging.getLogger(__name__)


def steerable(section: Any) -> dict[str, tuple[float, float]]:
    """Live parameter name -> range, for every parameter the section lets live control steer."""
    speed = next((p.range for p in section.live if p.name == "speed"), SPEED_RANGE)
    if section.live:
        names = {p.name: p.range for p in section.live if p.name != "speed"}
    else:
        names = dict(LIVE_DEFAULT_RANGES)
        for direction in section.directions:
            names[f"direction/{direction.live_name}"] = live_range(
                section, f"direction/{direction.live_name}"
            )  # fmt: skip
    return {**names, "speed": (float(speed[0]), float(speed[1]))}


def describe_steerable(section: Any) -> str:
    """E.g. 'psi 0.2..1.2, speed 0.05..10' (the /status/steerable value)."""
    return ", ".join(f"{name} {_fmt(low)}..{_fmt(high)}"
                     for name, (low, high) in steerable(section).items())  # fmt: skip


def refusal(command: Command, section: Any, show: Any) -> str | None:
    """Why the playing section (of `show`) would not take `command` now; None: it would."""
    if isinstance(command, SetSpeed):
        return None
    if isinstance(command, SetLive):
        if command.name == "speed":
            return None
        if _accepts(section, command.name):
            return None
        return (f"section {section.name!r} does not steer {command.name} (steerable now: "
                f"{describe_steerable(section)})")  # fmt: skip
    if isinstance(command, GoToSection):
        names = [s.name for s in show.sections]
        target = command.target
        if isinstance(target, str) and target not in names:
            return f"no section {target!r} (sections: {', '.join(names)})"
        if isinstance(target, int) and not 0 <= target < len(names):
            return f"no section {target}: the show has {len(names)} (0..{len(names) - 1})"
        return None
    if isinstance(command, SensorInput):
        sensors = [sensor.name for sensor in getattr(show, "sensors", ())]
        if command.name not in sensors:
            return f"the show has no sensor {command.name!r} (sensors: {', '.join(sensors) or '-'})"
        return None
    return None


def _accepts(section: Any, name: str) -> bool:
    """True when a live value of `name` steers something in this section."""
    if live_range(section, name) is None:
        return False
    if section.live or not name.startswith("direction/"):
        return True
    key = name.removeprefix("direction/")
    return any(key in (d.live_name, str(index)) for index, d in enumerate(section.directions))


def _fmt(value: float) -> str:
    return f"{value:g}"
