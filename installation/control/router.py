"""The command sink every control source puts into: the Player's queue, or a control service.

Most commands mean something to the Player and go on the one command queue (control/mailbox.py).
A few are about control-side state the Player does not hold, e.g. `MidiLearn` (the MIDI input's
bindings, control/midi.py). `CommandRouter` sits in front of the queue (app.py builds it and hands
it to OSC, HTTP and MIDI in the queue's place): a command whose type has a route goes to that
route's handler, everything else to the queue. So a new control-side command is one entry in the
address table, one route, and no change to the sources.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from installation.walk.commands import Command

log = logging.getLogger(__name__)

Handler = Callable[[Command], None]


class CommandSink(Protocol):
    """Where commands go: the render thread's CommandQueue, or this router."""

    def put(self, item: Command, block: bool = ..., timeout: float | None = ...) -> None: ...


class CommandRouter:
    """A CommandSink: routed command types go to their handler, the rest to `queue`."""

    def __init__(self, queue: CommandSink) -> None:
        self._queue = queue
        self._routes: dict[type, Handler] = {}
        self._lock = threading.Lock()

    def route(self, kind: type, handler: Handler) -> None:
        """From now on, commands of type `kind` go to `handler` (called on the sender's thread;
        it must not block)."""
        with self._lock:
            self._routes[kind] = handler

    def put(self, item: Command, block: bool = True, timeout: float | None = None) -> None:
        """Hand `item` to its route, else put it on the queue."""
        handler = self._routes.get(type(item))
        if handler is None:
            self._queue.put(item, block, timeout)
            return
        handler(item)
