"""Progress: a progress line with rate and ETA for long CLI runs (offline render, seed sheets).

On a terminal it redraws one line in place; into a log file or a pipe it writes a plain line now
and then, so CI logs stay short and free of carriage returns.

The ETA is meant to be read over hours: the rate is a moving average whose window grows with the
run (a few seconds at first, a minute late in a long render), the first items can be left out of
it (`warmup_items`: kernel compilation, allocation), and the ETA shown counts down with the clock
and only drifts towards a new estimate, so one slow or fast batch does not make it jump.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

# A terminal line is redrawn at most this often (10 per second looks live and costs nothing).
TTY_REDRAW_INTERVAL_S = 0.1
# Without a terminal, a line is written each time another this many percent are done ...
PLAIN_STEP_PERCENT = 10
# ... or after this many seconds without a line, whichever comes first.
PLAIN_INTERVAL_S = 30.0
# Time constant of the rate's exponential moving average: at least this, growing to
# RATE_WINDOW_FRACTION of the time measured so far, at most RATE_MAX_TIME_CONSTANT_S. Early on the
# ETA follows a change of speed within a few seconds; in a long render it averages over a minute.
RATE_TIME_CONSTANT_S = 5.0
RATE_WINDOW_FRACTION = 0.1
RATE_MAX_TIME_CONSTANT_S = 60.0
# The ETA shown counts down with the clock and moves towards the latest estimate with this time
# constant, so a batch that comes early or late nudges it instead of making it jump.
ETA_TIME_CONSTANT_S = 20.0
# Characters between the bar's "|" marks.
BAR_WIDTH = 20
# Terminal width assumed when the real one is unknown (shutil's own fallback).
FALLBACK_COLUMNS = 80


def format_duration(seconds: float) -> str:
    """A duration as "m:ss" below an hour, "h:mm:ss" from an hour on (e.g. 0:47, 1:02:03)."""
    total_s = max(0, int(round(seconds)))
    hours, rest_s = divmod(total_s, 3600)
    minutes, secs = divmod(rest_s, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def plural(count: float, unit: str) -> str:
    """'1 frame', '2 frames', '0 frames' ("it" and words ending in s stay as they are)."""
    return f"{count:g} {unit if count == 1 else units(unit)}"


def units(unit: str) -> str:
    """The plural of a unit name: frame -> frames; "it" (items) and "s" stay."""
    return unit if unit in ("it", "s") or unit.endswith("s") else unit + "s"


def format_rate(rate_per_s: float | None, unit: str = "it") -> str:
    """A rate as "12.3 it/s", or "4.2 s/it" below one item per second; "? it/s" when unknown.

    With unit="frame": "12.3 frames/s", "4.2 s/frame".
    """
    if rate_per_s is None or rate_per_s <= 0:
        return f"? {units(unit)}/s"
    if rate_per_s < 1:
        return f"{1 / rate_per_s:.1f} s/{unit}"
    return f"{rate_per_s:.1f} {units(unit)}/s"


def _format_field(value: str | float) -> str:
    """A field value: floats with 4 significant digits, anything else as str()."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Progress:
    """Counts items done out of `total` (None: unknown) and reports percent, rate and ETA.

    Args:
        total: number of items expected, or None when unknown (then no percent or ETA).
        label: what is counted, shown first (e.g. "render").
        stream: where the lines go; default sys.stderr. A TTY gets one line redrawn with "\\r".
        clock: seconds, monotonic; tests pass a fake one.
        unit: what one item is ("frame": "120/7200 frames  2.1 frames/s"); "it" says nothing.
        warmup_items: the first items are counted but left out of the rate (their time is
            loading and compiling, not the speed to expect).
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "it",
        warmup_items: int = 0,
    ) -> None:
        if total is not None and total < 0:
            raise ValueError(f"total must be >= 0 or None, got {total}")
        self.total = total
        self.label = label
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.clock = clock
        self.unit = unit
        self.warmup_items = warmup_items
        self.count = 0
        self.fields: dict[str, str | float] = {}
        self.is_tty = _is_tty(self.stream)
        self._columns = shutil.get_terminal_size((FALLBACK_COLUMNS, 24)).columns
        self._start_s = clock()
        self._rate_per_s: float | None = None  # moving average; None until the first sample
        self._sample_s = self._start_s  # time and count of the last rate sample
        self._sample_count = 0
        self._rate_since_s: float | None = None  # when the rate's first sample was taken
        self._eta_shown_s: float | None = None  # the smoothed ETA, as of _eta_at_s
        self._eta_at_s = self._start_s
        self._last_line_s = self._start_s  # when a line was last written
        self._last_line_width = 0  # TTY: characters to blank when the next line is shorter
        self._last_step = 0  # plain: PLAIN_STEP_PERCENT steps already reported
        self._last_line = ""
        self._is_closed = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def rate_per_s(self) -> float | None:
        """Recent items per second (moving average), or None before any time has passed."""
        return self._rate_per_s

    def eta_s(self) -> float | None:
        """Seconds left: the smoothed estimate, counted down to now; None without total or rate."""
        if self._eta_shown_s is None:
            return None
        return max(0.0, self._eta_shown_s - (self.clock() - self._eta_at_s))

    def raw_eta_s(self) -> float | None:
        """Seconds left at the recent rate, unsmoothed; None without a total or a rate."""
        if self.total is None or not self._rate_per_s:
            return None
        return max(0, self.total - self.count) / self._rate_per_s

    def write(self, message: str) -> None:
        """Print a message line without breaking the progress line (a TTY redraws it below)."""
        if self.is_tty and self._last_line_width:
            self.stream.write("\r" + " " * self._last_line_width + "\r")
        self.stream.write(message + "\n")
        if self.is_tty and self._last_line_width and not self._is_closed:
            self._draw_tty(self.clock())
        self.stream.flush()

    def update(self, count: int = 1, **fields: str | float) -> None:
        """Add `count` items done; `fields` (e.g. loss=0.123) are shown from now on."""
        if self._is_closed:
            raise RuntimeError(f"progress {self.label!r}: update() after close()")
        now_s = self.clock()
        self.count += count
        self.fields.update(fields)
        self._sample_rate(now_s)
        self._update_eta(now_s)
        if self.is_tty:
            if now_s - self._last_line_s >= TTY_REDRAW_INTERVAL_S or self._is_done():
                self._draw_tty(now_s)
        else:
            step = self._step()
            if step > self._last_step or now_s - self._last_line_s >= PLAIN_INTERVAL_S:
                self._write_plain(now_s)

    def close(self) -> None:
        """Write the final line (a TTY also gets its newline); safe to call twice."""
        if self._is_closed:
            return
        self._is_closed = True
        now_s = self.clock()
        if self.is_tty:
            self._draw_tty(now_s)
            self.stream.write("\n")
            self.stream.flush()
        elif self._format_line(now_s, is_tty=False) != self._last_line:
            self._write_plain(now_s)

    def _sample_rate(self, now_s: float) -> None:
        """Fold the items since the last sample into the moving-average rate."""
        if self.count <= self.warmup_items:  # warm-up: the rate is measured from its end
            self._sample_s, self._sample_count = now_s, self.count
            return
        elapsed_s = now_s - self._sample_s
        if elapsed_s <= 0:  # several updates within one clock tick: wait for time to pass
            return
        sample_rate = (self.count - self._sample_count) / elapsed_s
        if self._rate_per_s is None or self._rate_since_s is None:
            self._rate_per_s = sample_rate
            self._rate_since_s = self._sample_s
        else:  # weight by elapsed time, so the average does not depend on how often we update
            window_s = RATE_WINDOW_FRACTION * (now_s - self._rate_since_s)
            time_constant_s = min(max(RATE_TIME_CONSTANT_S, window_s), RATE_MAX_TIME_CONSTANT_S)
            weight = 1.0 - math.exp(-elapsed_s / time_constant_s)
            self._rate_per_s += weight * (sample_rate - self._rate_per_s)
        self._sample_s = now_s
        self._sample_count = self.count

    def _update_eta(self, now_s: float) -> None:
        """Count the shown ETA down to now and move it towards the latest estimate."""
        raw_s = self.raw_eta_s()
        if raw_s is None:
            return
        if self._eta_shown_s is None:
            self._eta_shown_s = raw_s
        else:
            elapsed_s = max(0.0, now_s - self._eta_at_s)
            counted_down_s = max(0.0, self._eta_shown_s - elapsed_s)
            weight = 1.0 - math.exp(-elapsed_s / ETA_TIME_CONSTANT_S)
            self._eta_shown_s = counted_down_s + weight * (raw_s - counted_down_s)
        self._eta_at_s = now_s

    def _fraction(self) -> float | None:
        """Done fraction in [0, 1], or None without a total."""
        if self.total is None:
            return None
        if self.total == 0:
            return 1.0
        return min(1.0, self.count / self.total)

    def _is_done(self) -> bool:
        """True once count has reached the total."""
        return self.total is not None and self.count >= self.total

    def _step(self) -> int:
        """How many PLAIN_STEP_PERCENT steps are done (0 without a total)."""
        fraction = self._fraction()
        if fraction is None:
            return 0
        return int(fraction * 100 + 1e-9) // PLAIN_STEP_PERCENT

    def _format_line(self, now_s: float, is_tty: bool) -> str:
        """The progress line; `is_tty` adds the bar, which plain output leaves out."""
        parts = [self.label]
        fraction = self._fraction()
        if fraction is not None:  # "42% |########------------| 420/1000"
            done = [f"{int(fraction * 100):3d}%"]
            if is_tty:
                filled = int(fraction * BAR_WIDTH)
                done.append("|" + "#" * filled + "-" * (BAR_WIDTH - filled) + "|")
            done.append(f"{self.count}/{self.total}" + self._unit_suffix())
            parts.append(" ".join(done))
        else:
            parts.append(str(self.count) + self._unit_suffix())
        parts.append(format_rate(self._rate_per_s, self.unit))
        eta_s = self.eta_s()
        if eta_s is not None and not self._is_closed and not self._is_done():
            parts.append(f"ETA {format_duration(eta_s)}")
        parts.append(f"elapsed {format_duration(now_s - self._start_s)}")
        parts += [f"{key}={_format_field(value)}" for key, value in self.fields.items()]
        return "  ".join(parts)

    def _unit_suffix(self) -> str:
        """' frames' after the count ('' for "it", which says nothing)."""
        if self.unit == "it":
            return ""
        return " " + (self.unit if self.total == 1 or (self.total is None and self.count == 1)
                      else units(self.unit))  # fmt: skip

    def _draw_tty(self, now_s: float) -> None:
        """Redraw the terminal line in place."""
        line = self._format_line(now_s, is_tty=True)[: max(1, self._columns - 1)]  # no wrap
        padding = " " * max(0, self._last_line_width - len(line))
        self.stream.write("\r" + line + padding)
        self.stream.flush()
        self._last_line_width = len(line)
        self._last_line_s = now_s

    def _write_plain(self, now_s: float) -> None:
        """Write one plain line (no bar, no carriage return)."""
        line = self._format_line(now_s, is_tty=False)
        self.stream.write(line + "\n")
        self.stream.flush()
        self._last_line = line
        self._last_line_s = now_s
        self._last_step = self._step()


def _is_tty(stream: TextIO) -> bool:
    """True when `stream` is an open terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty(), or a closed file
        return False
