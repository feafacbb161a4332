"""CommandQueue: the queue from every control source to the render thread, without a backlog.

Keys, OSC and the opening hours put commands; only the render thread takes them (RenderLoop).
Unlike a plain queue, a command that sets something replaces an older one that is still waiting
and sets the same thing, so a storm of messages leaves at most one waiting command per parameter:
- SetLive (per name), SensorInput (per sensor), SetSpeed, Blackout, SetNoiseMode, SetMixing and
  GlideTo: the newest wins.
- SetPaused and TogglePause: one waiting pause change; toggles compose (two of them cancel).
- Seek, GoToSection and JumpSection: one waiting move; jumps add up (three /show/next in a burst
  go three sections on), any other move replaces the waiting one.
- ReloadShow and LoadShow: one waiting show change; a load wins over a reload.
- RecallPreset: the newest waiting recall wins; ListPresets: one waiting.
- FollowClock and ClockLost (a leader's clock, --sync follow): the newest wins.
- HoldSection (opening hours), SavePreset and Bookmark are never merged.
A merged command moves to the end of the queue: it applies after everything sent before it.

Expensive commands (moves, show changes, glides, mixing, preset saves and recalls, bookmarks:
each renders a frame, maps a seed or reads or writes files) are handed out at most once per
`expensive_interval_s` of each kind (a move, a glide, a mixing, a recall, a save, a bookmark; a
show change: SHOW_CHANGE_INTERVAL_S), and never sooner than
COST_FACTOR times what the last one of that kind took the render thread (from handing it out to
the thread's next look at the queue): on a slow machine a storm of seeks may take at most about
a quarter of its time. One that waits meanwhile keeps merging with newer ones, so a burst of
reloads becomes one or two, and when a storm stops what it left waiting goes within that time.

At most `max_pending` commands wait (names such as /param/<name> are the sender's choice); a new
command that merges with none beyond that is dropped, counted and logged once a minute.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from installation.logs import RateLimitedLog
from installation.walk.commands import (
    Blackout,
    Bookmark,
    ClockLost,
    Command,
    FollowClock,
    GlideTo,
    GoToSection,
    JumpSection,
    ListPresets,
    LoadShow,
    RecallPreset,
    ReloadShow,
    SavePreset,
    Seek,
    SensorInput,
    SetLive,
    SetMixing,
    SetNoiseMode,
    SetPaused,
    SetSpeed,
    StepKeyframe,
    TogglePause,
)

log = logging.getLogger(__name__)

MAX_PENDING = 256  # waiting commands; far more distinct parameters than any show steers
EXPENSIVE_INTERVAL_S = 0.5  # at most two moves, two glides, two mixings a second
SHOW_CHANGE_INTERVAL_S = 5.0  # reloads / show loads: each builds a show (1.4 s of CPU for the
# demo on a busy 2-core PC) and crossfades to it (rendering both): one per 5 s at most
COST_FACTOR = 4.0  # the next of a kind waits at least this many times the last one's cost
MAX_JUMP = 1000  # merged jumps add up to at most this many sections either way
EXPENSIVE_COMMANDS = (Seek, GoToSection, JumpSection, StepKeyframe, ReloadShow, LoadShow, GlideTo,
                      SetMixing, RecallPreset, SavePreset, Bookmark)  # fmt: skip


def is_expensive(command: Command) -> bool:
    """True for the commands that render, map or read files on the render thread."""
    if isinstance(command, SetMixing) and command.seed is None:
        return False  # mixing off: back to the show's own, nothing to map
    return isinstance(command, EXPENSIVE_COMMANDS)


def merge_key(command: Command) -> Hashable | None:
    """Commands with the same key merge while waiting; None: this command never merges."""
    if isinstance(command, SetLive):
        return ("speed",) if command.name == "speed" else ("live", command.name)
    if isinstance(command, SensorInput):
        return ("sensor", command.name)
    if isinstance(command, SetPaused | TogglePause):
        return ("pause",)
    if isinstance(command, Seek | GoToSection | JumpSection):
        return ("move",)
    if isinstance(command, ReloadShow | LoadShow):
        return ("show",)
    kinds = {SetSpeed: "speed", Blackout: "fade", SetNoiseMode: "noise_mode",
             SetMixing: "mixing", GlideTo: "glide", RecallPreset: "preset_recall",
             ListPresets: "preset_list", FollowClock: "clock",
             ClockLost: "clock"}  # fmt: skip
    kind = kinds.get(type(command))
    return None if kind is None else (kind,)


def throttle_key(command: Command) -> Hashable | None:
    """The kind an expensive command is throttled as (its merge key, else its type); None: cheap.

    Saves and bookmarks never merge, yet each kind waits its interval like the others.
    """
    if not is_expensive(command):
        return None
    return merge_key(command) or ("once", type(command).__name__)


def merge(waiting: Command, newer: Command) -> Command | None:
    """The one command that does what `waiting` then `newer` do (same key); None: nothing."""
    if isinstance(newer, TogglePause):
        if isinstance(waiting, TogglePause):
            return None
        if isinstance(waiting, SetPaused):
            return SetPaused(not waiting.is_paused)
    if isinstance(newer, JumpSection) and isinstance(waiting, JumpSection):
        return JumpSection(max(-MAX_JUMP, min(MAX_JUMP, waiting.delta + newer.delta)))
    if isinstance(newer, ReloadShow) and isinstance(waiting, LoadShow):
        return waiting  # the load reads its file fresh anyway
    return newer


@dataclass
class QueueCounters:
    """What the queue did; the render thread and benchmarks read them."""

    put: int = 0
    merged: int = 0  # put commands that merged with a waiting one
    dropped: int = 0  # put commands dropped because max_pending were waiting
    taken: int = 0
    most_pending: int = 0


class CommandQueue:
    """A SimpleQueue-like queue (put, get, get_nowait, qsize, empty) that merges and throttles.

    Any thread may put; one thread (the render thread) takes. See the module docstring.
    """

    def __init__(
        self,
        max_pending: int = MAX_PENDING,
        expensive_interval_s: float = EXPENSIVE_INTERVAL_S,
        show_change_interval_s: float = SHOW_CHANGE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_pending = max_pending
        self.expensive_interval_s = expensive_interval_s
        self.show_change_interval_s = show_change_interval_s
        self.clock = clock
        self.counters = QueueCounters()
        self._ready = threading.Condition(threading.Lock())
        self._pending: OrderedDict[Hashable, Command] = OrderedDict()
        self._serial = 0  # keys for commands that never merge
        self._next_due_s: dict[Hashable, float] = {}  # expensive kind (merge key) -> when
        self._handed_out: tuple[Hashable, float] | None = None  # the last expensive one, when
        self._drop_log = RateLimitedLog(log, interval_s=60.0)

    def put(self, command: Command, block: bool = True, timeout: float | None = None) -> None:
        """Queue `command`, merging it with a waiting one of the same key; never blocks."""
        key = merge_key(command)
        with self._ready:
            c = self.counters
            c.put += 1
            waiting = self._pending.pop(key, None) if key is not None else None
            if waiting is not None:
                c.merged += 1
                merged = merge(waiting, command)
                if merged is None:
                    return
                command = merged
            elif len(self._pending) >= self.max_pending:
                c.dropped += 1
                self._drop_log.log(logging.WARNING, "command dropped: %d commands are waiting "
                                   "for the render thread dropped=%d", len(self._pending),
                                   c.dropped)  # fmt: skip
                return
            if key is None:
                self._serial += 1
                key = ("once", self._serial)
            self._pending[key] = command
            c.most_pending = max(c.most_pending, len(self._pending))
            self._ready.notify()

    def get(self, block: bool = True, timeout: float | None = None) -> Command:
        """The oldest command that may go now; waits up to `timeout` (None: forever) for one.

        Raises:
            queue.Empty: none within the timeout (or at once, with block=False).
        """
        deadline_s = math.inf if timeout is None else time.monotonic() + max(timeout, 0.0)
        with self._ready:
            self._charge()
            while True:
                command, wait_s = self._take()
                if command is not None:
                    return command
                left_s = deadline_s - time.monotonic()
                if not block or left_s <= 0:
                    raise queue.Empty
                wait_s = min(wait_s, left_s)
                self._ready.wait(None if wait_s == math.inf else wait_s)

    def get_nowait(self) -> Command:
        """get(block=False)."""
        return self.get(block=False)

    def qsize(self) -> int:
        """Commands waiting (throttled expensive ones included)."""
        return len(self._pending)

    def empty(self) -> bool:
        return not self._pending

    def _charge(self) -> None:
        """The taker is back: the expensive command handed out last cost it this long."""
        if self._handed_out is None:
            return
        key, out_s = self._handed_out
        self._handed_out = None
        cost_due_s = out_s + COST_FACTOR * max(self.clock() - out_s, 0.0)
        self._next_due_s[key] = max(self._next_due_s.get(key, -math.inf), cost_due_s)

    def _take(self) -> tuple[Command | None, float]:
        """(the first command that may go now, or None and how long until one may)."""
        now_s = self.clock()
        wait_s = math.inf
        for key, command in self._pending.items():
            kind = throttle_key(command)
            if kind is not None:
                due_s = self._next_due_s.get(kind, -math.inf)
                if now_s < due_s:
                    wait_s = min(wait_s, due_s - now_s)
                    continue
                interval_s = (self.show_change_interval_s if kind == ("show",)
                              else self.expensive_interval_s)  # fmt: skip
                self._next_due_s[kind] = now_s + interval_s
                self._handed_out = (kind, now_s)
            del self._pending[key]  # the loop ends here: no further iteration
            self.counters.taken += 1
            return command, 0.0
        return None, wait_s
