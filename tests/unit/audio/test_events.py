"""The event rule: every N-th event, a minimum interval, messages in turn."""

from __future__ import annotations

from installation.audio.events import EventTrigger
from installation.show.schema import AudioEvent, AudioMessage

A, B, C = AudioMessage("/a"), AudioMessage("/b", (1,)), AudioMessage("/c", ("x", 2.5))


def test_every_nth_event_sends_the_messages_in_turn():
    trigger = EventTrigger(AudioEvent((A, B, C), every=2))
    sent = [trigger.fire(0.5 * k) for k in range(8)]
    assert sent == [A, None, B, None, C, None, A, None]


def test_the_minimum_interval_skips_events_that_come_too_soon():
    trigger = EventTrigger(AudioEvent((A, B), min_interval_s=1.0))
    sent = [trigger.fire(t) for t in (0.0, 0.4, 0.99, 1.0, 1.5, 2.2)]
    assert sent == [A, None, None, B, None, A]
