"""The preset and bookmark addresses: arguments, defaults, rejected names; the mailbox's rules."""

from __future__ import annotations

import pytest

from installation.control.addresses import LogLimiter, MessageError, parse
from installation.control.mailbox import CommandQueue, merge_key, throttle_key
from installation.walk.commands import Bookmark, ListPresets, RecallPreset, SavePreset, SetLive


@pytest.mark.parametrize(
    ("address", "args", "expected"),
    [
        ("/preset/save", ["calm", 1], [SavePreset("calm", True)]),
        ("/preset/save", [" calm.2 ", "0"], [SavePreset("calm.2", False)]),
        ("/preset/recall", ["calm"], [RecallPreset("calm", None)]),
        ("/preset/recall", ["calm", "0"], [RecallPreset("calm", 0.0)]),
        ("/preset/recall", ["calm", 600], [RecallPreset("calm", 60.0)]),  # clamped
        ("/preset/list", [0], []),  # a button's release
        ("/bookmark", ["dawn-1"], [Bookmark("dawn-1")]),
    ],
)
def test_preset_messages_give_their_commands(address, args, expected):
    assert parse(address, args, LogLimiter()) == expected


@pytest.mark.parametrize(
    ("address", "args", "message"),
    [
        ("/preset/save", ["../x"], "/preset/save: argument 1 (name) must be a preset or bookmark "
         "name of 1..100 letters, digits, '_', '-', '.' (no paths, no '..', not starting with "
         "'.'), got '../x'"),
        ("/preset/recall", [".hidden"], "/preset/recall: argument 1 (name) must be a preset or "
         "bookmark name of 1..100"),
        ("/bookmark", ["a" * 101], "/bookmark: argument 1 (name) must be a preset or bookmark "
         "name"),
        ("/bookmark", [3], "/bookmark: argument 1 (name) must be a preset or bookmark name (a "
         "string), got 3"),
        ("/preset/recall", [], "/preset/recall: expected 1..2 argument(s) (name: str [glide_s: "
         "float -1..60 s = -1]), got 0: []"),
    ],
)  # fmt: skip
def test_bad_preset_messages_are_rejected_with_a_reason(address, args, message):
    with pytest.raises(MessageError) as caught:
        parse(address, args, LogLimiter())
    assert str(caught.value).startswith(message)


def test_a_recall_replaces_a_waiting_one_saves_and_bookmarks_never_merge():
    assert merge_key(RecallPreset("a")) == merge_key(RecallPreset("b", 1.0))
    assert merge_key(SavePreset("a")) is None and merge_key(Bookmark("a")) is None
    assert throttle_key(SavePreset("a")) == throttle_key(SavePreset("b")) != throttle_key(
        Bookmark("a")
    )
    assert throttle_key(ListPresets()) is None
    now = [0.0]
    commands = CommandQueue(expensive_interval_s=0.5, clock=lambda: now[0])
    for command in (RecallPreset("a"), SavePreset("s1"), SavePreset("s2"), Bookmark("b"),
                    RecallPreset("c", 2.0), SetLive("psi", 1.0)):  # fmt: skip
        commands.put(command)
    taken = [commands.get_nowait() for _ in range(4)]
    assert taken == [SavePreset("s1"), Bookmark("b"), RecallPreset("c", 2.0), SetLive("psi", 1.0)]
    assert commands.qsize() == 1  # the second save waits its interval
    now[0] = 0.6
    assert commands.get_nowait() == SavePreset("s2")
