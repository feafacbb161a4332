"""When a sound event fires a show's `audio.on_onset` / `audio.on_beat` rule, and which message.

The rule (show/schema.py AudioEvent, taken here by its fields only): fire on every `every`-th
event, at most once per `min_interval_s`, sending its messages in turn. The live input and a
render to music ask the same trigger with the events' times, so both fire on the same events.
"""

from __future__ import annotations

import math
from typing import Any


class EventTrigger:
    """Counts one kind of event and says which of the rule's messages each firing sends."""

    def __init__(self, rule: Any) -> None:
        """`rule`: an AudioEvent (messages, every, min_interval_s)."""
        self.rule = rule
        self.events = 0
        self.firings = 0
        self.last_fired_s = -math.inf

    def fire(self, time_s: float) -> Any | None:
        """An event at time_s: the message it sends (an AudioMessage), or None."""
        self.events += 1
        rule = self.rule
        if (self.events - 1) % rule.every != 0:
            return None
        if time_s - self.last_fired_s < rule.min_interval_s:
            return None
        self.last_fired_s = time_s
        message = rule.messages[self.firings % len(rule.messages)]
        self.firings += 1
        return message
