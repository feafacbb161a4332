"""Opening hours: is the show open at a given local time, when does that change, how bright.

Pure functions of a naive local datetime (`datetime.datetime.now()`): no clocks here; the app
reads the clock and passes it in, so tests drive these with plain datetimes.

Semantics of `OpeningHours(days, start, end)` (YAML `days`, `from`, `to`; shows/README.md §9):

- **Spans.** Each day listed in `days` starts one opening span at `from` on that day. The span
  ends at the next `to` after `from`: the same day when `to > from`, the next day when
  `to < from` (an overnight span, e.g. `from: "22:00"`, `to: "02:00"` on `fri` runs Friday
  22:00 to Saturday 02:00, even if `sat` is not listed). `days` are the days an opening
  *starts*, never the days it ends.
- **from == to** is a 24-hour span starting at `from` (so `"00:00"`-`"00:00"` is the whole day).
  With every day listed it means always open.
- **Edges.** `from` itself is open, `to` itself is closed: a span is `[from, to)`. With
  `to: "18:00"`, 17:59:59.999999 is open and 18:00:00 closed.
- **Adjacent spans merge.** A span that ends exactly where the next one starts (24-hour spans on
  consecutive days) is one opening: no close/open in between, no fade.
- **No opening_hours** (None): always open.
- **DST.** Everything is naive wall-clock time. A 23:00-01:00 span on a night the clocks change
  opens when the wall clock reads 23:00 and closes when it reads 01:00, so it lasts an hour more
  or less in real time. When the clocks go back, the repeated hour is judged by its wall-clock
  reading each time (a span ending at 01:30 inside the repeated 01:00-02:00 hour closes, then is
  open again for the repeat of 01:00-01:30). Callers waiting for `next_change` should re-read
  the clock and ask again rather than sleep for the whole difference at once.
"""

from __future__ import annotations

import datetime

from installation.show.schema import DAYS, OpeningHours

_ONE_DAY = datetime.timedelta(days=1)
# Spans are built for this many days either side of `at`: a merged opening is at most 7 days of
# 24-hour spans, so one week plus a margin on each side finds both of its ends.
_SCAN_DAYS = 9

Interval = tuple[datetime.datetime | None, datetime.datetime | None]


def is_open(hours: OpeningHours | None, at: datetime.datetime) -> bool:
    """True when the show is open at the naive local time `at` (None: always open)."""
    return _opening_around(hours, at) is not None


def next_change(hours: OpeningHours | None, at: datetime.datetime) -> datetime.datetime | None:
    """The first time after `at` when `is_open` flips, or None when it never does.

    Returns a naive local datetime: the closing time when open at `at`, else the next opening.
    """
    opening = _opening_around(hours, at)
    if opening is not None:
        return opening[1]
    if hours is None:  # unreachable: no hours is always open; narrows the type
        return None
    later = [start for start, _ in _merged_spans(hours, at) if start > at]
    return min(later) if later else None


def fade_level(hours: OpeningHours | None, at: datetime.datetime, fade_s: float) -> float:
    """Brightness in [0, 1]: 0 closed, 1 open, linear ramps at opening and closing.

    Args:
        hours: the show's opening hours; None is always open (1.0).
        at: naive local time.
        fade_s: seconds of each ramp, >= 0: the level rises from 0 at opening to 1 `fade_s`
            later, and falls from 1 `fade_s` before closing to 0 at closing. An opening shorter
            than two ramps peaks below 1. 0: a step.

    Returns:
        The level at `at`; 0.0 at the closing instant itself (closed) and at the opening instant.
    """
    if fade_s < 0:
        raise ValueError(f"fade_s must be >= 0, got {fade_s}")
    opening = _opening_around(hours, at)
    if opening is None:
        return 0.0
    if fade_s == 0:
        return 1.0
    start, end = opening
    level = 1.0
    if start is not None:
        level = min(level, (at - start).total_seconds() / fade_s)
    if end is not None:
        level = min(level, (end - at).total_seconds() / fade_s)
    return max(0.0, min(1.0, level))


def _opening_around(hours: OpeningHours | None, at: datetime.datetime) -> Interval | None:
    """The merged opening [start, end) that contains `at` (None ends: unbounded), or None."""
    if at.tzinfo is not None:
        raise ValueError("opening hours take a naive local datetime (wall clock), not an aware one")
    if hours is None or _is_always_open(hours):
        return (None, None)
    for start, end in _merged_spans(hours, at):
        if start <= at < end:
            return (start, end)
    return None


def _is_always_open(hours: OpeningHours) -> bool:
    """Every day listed and 24-hour spans: the spans join into one without an end."""
    return hours.start == hours.end and set(DAYS) <= set(hours.days)


def _merged_spans(
    hours: OpeningHours, at: datetime.datetime
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The opening spans starting within `_SCAN_DAYS` of `at`, sorted, touching ones joined."""
    merged: list[tuple[datetime.datetime, datetime.datetime]] = []
    for offset in range(-_SCAN_DAYS, _SCAN_DAYS + 1):
        day = at.date() + datetime.timedelta(days=offset)
        if DAYS[day.weekday()] not in hours.days:
            continue
        start = datetime.datetime.combine(day, hours.start)
        end = datetime.datetime.combine(day, hours.end)
        if end <= start:  # overnight, or from == to: a 24-hour span
            end += _ONE_DAY
        if merged and merged[-1][1] >= start:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
