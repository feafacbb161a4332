"""Fault injection for tests and the soak benchmark (`run_show.py --inject-faults SPEC`).

Not for operators. A FaultyRenderer wraps the renderer's render_batch and, at given seconds after
the first generator pass, raises, runs out of memory or hangs, so render-thread recovery can be
exercised in a real running show. SPEC is a comma-separated list of
  raise@T[:D]   raise in every pass starting in [T, T+D) s (D 0 or left out: in one pass)
  raise@T*N     raise in the N passes from T s on (a burst that does not depend on pass timing)
  oom@T[:D|*N]  the same with torch.cuda.OutOfMemoryError
  hang@T:D      the pass starting at T sleeps D s (once)
  KIND/every=S[:D|*N]  the same every S s (first at S)
e.g. `raise@10*3,hang@30:25,oom/every=60`.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

KINDS = ("raise", "oom", "hang")
_FAULT = re.compile(
    r"^(raise|oom|hang)(?:@([0-9.]+)|/every=([0-9.]+))(?::([0-9.]+)|\*([0-9]+))?$"
)


class InjectedFault(RuntimeError):
    """The exception a `raise` fault throws in the generator."""


@dataclass(frozen=True)
class Fault:
    """One fault: `kind` at `at_s` (or every `every_s`), lasting `length_s`."""

    kind: str
    at_s: float
    length_s: float = 0.0
    every_s: float | None = None
    count: int = 0  # > 0: fire in this many passes (instead of a time window)

    def occurrence(self, elapsed_s: float) -> int | None:
        """Which occurrence of this fault is active at `elapsed_s` (None: none is)."""
        if elapsed_s < self.at_s:
            return None
        n = 0 if self.every_s is None else int((elapsed_s - self.at_s) // self.every_s)
        started_s = self.at_s + n * (self.every_s or 0.0)
        is_window = self.kind != "hang" and self.length_s > 0 and self.count == 0
        if is_window and elapsed_s >= started_s + self.length_s:
            return None
        return n


def parse_faults(spec: str) -> list[Fault]:
    """Parse SPEC (see the module docstring).

    Raises:
        ValueError: a one-line message naming the part that is wrong.
    """
    faults = []
    for part in (p.strip() for p in spec.split(",")):
        match = _FAULT.match(part)
        try:
            groups = match.groups()[1:4] if match else ()
            numbers = [None if g is None else float(g) for g in groups]
        except ValueError:
            numbers = []
        if match is None or not numbers or any(n is not None and not math.isfinite(n)
                                               for n in numbers):  # fmt: skip
            raise ValueError(f"fault {part!r}: expected KIND@T[:D|*N] or KIND/every=S[:D|*N] with "
                             f"KIND one of {', '.join(KINDS)}, e.g. raise@10*3,hang@30:25")
        at_s, every_s, length_s = numbers
        kind, count = match.group(1), int(match.group(5) or 0)
        if (kind == "hang" and not length_s) or (match.group(5) and count == 0):
            raise ValueError(f"fault {part!r}: a hang needs its length (hang@30:25), a burst "
                             "at least one pass (raise@10*3)")
        if every_s is not None and every_s <= 0:
            raise ValueError(f"fault {part!r}: every= must be > 0")
        faults.append(Fault(kind, every_s if at_s is None else at_s, length_s or 0.0, every_s,
                            count))  # fmt: skip
    return faults


class FaultInjector:
    """Decides, pass by pass, which fault fires; shared by every render thread of a run."""

    def __init__(self, faults: Sequence[Fault], wall_clock: Callable[[], float] = time.monotonic):
        self.faults = list(faults)
        self.wall_clock = wall_clock
        self.started_s: float | None = None  # the first pass
        self.fired: dict[tuple[int, int], int] = {}  # (fault, occurrence) -> passes it fired in

    def due(self) -> Fault | None:
        """The fault for the pass starting now, if any (one-pass faults fire once)."""
        now_s = self.wall_clock()
        if self.started_s is None:
            self.started_s = now_s
        elapsed_s = now_s - self.started_s
        for index, fault in enumerate(self.faults):
            occurrence = fault.occurrence(elapsed_s)
            if occurrence is None:
                continue
            key = (index, occurrence)
            if fault.kind == "hang" or fault.length_s == 0 or fault.count:
                if self.fired.get(key, 0) >= max(fault.count, 1):
                    continue
                self.fired[key] = self.fired.get(key, 0) + 1
            return fault
        return None

    def before_pass(self) -> None:
        """Raise, or sleep, when a fault is due."""
        fault = self.due()
        if fault is None:
            return
        log.warning("injected fault: %s (length_s=%g)", fault.kind, fault.length_s)
        if fault.kind == "hang":
            time.sleep(fault.length_s)
        elif fault.kind == "oom":
            import torch

            raise torch.cuda.OutOfMemoryError("injected: CUDA out of memory")
        else:
            raise InjectedFault("injected fault in the generator")


class FaultyRenderer:
    """A renderer whose render_batch goes through a FaultInjector first; all else delegates."""

    def __init__(self, renderer: Any, injector: FaultInjector) -> None:
        object.__setattr__(self, "_renderer", renderer)
        object.__setattr__(self, "_injector", injector)

    def render_batch(self, slots: Sequence[tuple[int, float]], params: Any = None,
                     epoch: int = 0) -> list[Any]:  # fmt: skip
        """Inject the fault that is due, then render."""
        self._injector.before_pass()
        return self._renderer.render_batch(slots, params, epoch=epoch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._renderer, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._renderer, name, value)
