"""A show's sound-event messages (`audio.on_onset` / `audio.on_beat` `send`) as commands.

They are OSC-table messages, parsed by the table's own `parse()` like any OSC, HTTP or MIDI
message, so a sound event can do whatever a tablet can. `check_messages` reads them all when a
show starts, so a typo is one `file:line: audio.on_beat.send: ...` line before anything plays.
"""

from __future__ import annotations

from typing import Any

from installation.audio.events import EventTrigger
from installation.control.addresses import MessageError, parse
from installation.walk.commands import Command

EVENTS = ("on_onset", "on_beat")


def message_commands(message: Any) -> list[Command]:
    """The commands of one AudioMessage; MessageError when the table refuses it."""
    return parse(message.address, list(message.args))


def check_messages(show: Any) -> list[str]:
    """One `file:line: audio.<event>.send: problem` per message the table refuses."""
    problems = []
    for event in EVENTS:
        rule = getattr(show.audio, event)
        for message in () if rule is None else rule.messages:
            try:
                message_commands(message)
            except MessageError as err:
                problems.append(f"{show.path}:{message.line}: audio.{event}.send: {err}")
    return problems


def triggers(show: Any) -> dict[str, EventTrigger]:
    """A trigger per event the show's `audio:` block has a rule for ("onset", "beat")."""
    audio = getattr(show, "audio", None)
    found = {}
    for event in EVENTS:
        rule = getattr(audio, event, None)
        if rule is not None:
            found[event.removeprefix("on_")] = EventTrigger(rule)
    return found
