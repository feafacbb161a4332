"""Opening hours (installation/walk/hours.py) with a fake clock: plain naive datetimes.

January 2024 starts on a Monday: Mon 1, Tue 2, ... Sun 7, Mon 8.
"""

from __future__ import annotations

import datetime
import itertools

import pytest

from installation.show.schema import DAYS, OpeningHours
from installation.walk.hours import fade_level, is_open, next_change

T = datetime.time
ONE_S = datetime.timedelta(seconds=1)
ONE_US = datetime.timedelta(microseconds=1)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime.datetime:
    """A naive local time on day `day` of January 2024 (1 = Monday)."""
    return datetime.datetime(2024, 1, day, hour, minute, second)


def hours(start: str, end: str, days: tuple[str, ...] = DAYS) -> OpeningHours:
    """OpeningHours from "HH:MM" strings, as the loader builds them."""
    start_time, end_time = T.fromisoformat(start), T.fromisoformat(end)
    return OpeningHours(days=days, start=start_time, end=end_time)  # type: ignore[arg-type]


DAYTIME = hours("10:00", "18:00", ("tue", "wed", "thu", "fri", "sat", "sun"))
OVERNIGHT = hours("22:00", "02:00", ("fri", "sat"))
SUNDAY_NIGHT = hours("23:00", "01:00", ("sun",))


# -- first principles, for the week scan ---------------------------------------------------------


def slow_is_open(h: OpeningHours | None, when: datetime.datetime) -> bool:
    """Open iff some listed day's span [from, from + length) holds `when`; length in minutes
    is (to - from) mod 24 h, and 24 h when from == to."""
    if h is None:
        return True
    minutes = (h.end.hour * 60 + h.end.minute - h.start.hour * 60 - h.start.minute) % (24 * 60)
    length = datetime.timedelta(minutes=minutes or 24 * 60)
    for back in (0, 1):  # a span is at most a day long: it started today or yesterday
        day = when.date() - datetime.timedelta(days=back)
        if ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][day.weekday()] not in h.days:
            continue
        start = datetime.datetime(day.year, day.month, day.day, h.start.hour, h.start.minute)
        if start <= when < start + length:
            return True
    return False


# -- None and defaults ---------------------------------------------------------------------------


def test_no_hours_is_always_open_at_full_level_and_never_changes() -> None:
    for when in (at(1, 0), at(3, 12, 30), at(7, 23, 59, 59)):
        assert is_open(None, when)
        assert next_change(None, when) is None
        assert fade_level(None, when, 60.0) == 1.0


def test_every_day_is_the_default() -> None:
    h = OpeningHours(start=T(10, 0), end=T(18, 0))
    assert h.days == DAYS
    for day in range(1, 8):
        assert is_open(h, at(day, 12))
        assert not is_open(h, at(day, 9, 59))


def test_all_day_every_day_never_changes() -> None:
    h = hours("00:00", "00:00")
    for when in (at(1, 0), at(4, 13, 7), at(7, 23, 59, 59)):
        assert is_open(h, when)
        assert next_change(h, when) is None
        assert fade_level(h, when, 600.0) == 1.0


def test_the_default_to_leaves_the_last_minute_closed() -> None:
    """OpeningHours() is 00:00-23:59: the `to` minute is closed, so 23:59 is."""
    h = OpeningHours()
    assert is_open(h, at(2, 23, 58, 59))
    assert not is_open(h, at(2, 23, 59))
    assert next_change(h, at(2, 23, 59)) == at(3, 0)


# -- edges ---------------------------------------------------------------------------------------


def test_from_is_open_to_is_closed() -> None:
    assert not is_open(DAYTIME, at(2, 10) - ONE_US)
    assert is_open(DAYTIME, at(2, 10))
    assert is_open(DAYTIME, at(2, 18) - ONE_S)
    assert is_open(DAYTIME, at(2, 18) - ONE_US)
    assert not is_open(DAYTIME, at(2, 18))


def test_closed_days_stay_closed_all_day() -> None:
    """DAYTIME leaves Monday out."""
    for hour in range(24):
        assert not is_open(DAYTIME, at(1, hour))
        assert not is_open(DAYTIME, at(8, hour, 30))
    assert is_open(DAYTIME, at(7, 12))  # Sunday is listed


def test_from_equal_to_is_24_hours_from_from_on_each_listed_day() -> None:
    h = hours("06:00", "06:00", ("wed",))
    assert not is_open(h, at(3, 5, 59, 59))
    assert is_open(h, at(3, 6))
    assert is_open(h, at(4, 5, 59, 59))  # Thursday morning still belongs to Wednesday
    assert not is_open(h, at(4, 6))
    assert next_change(h, at(3, 12)) == at(4, 6)


def test_24_hour_spans_on_consecutive_days_join_into_one_opening() -> None:
    h = hours("06:00", "06:00", ("sat", "sun"))
    assert is_open(h, at(7, 6))  # the Saturday span ends where Sunday's starts
    assert next_change(h, at(6, 7)) == at(8, 6)  # Monday 06:00, not Sunday 06:00
    assert fade_level(h, at(7, 6), 60.0) == 1.0  # no fade at the join


# -- overnight -----------------------------------------------------------------------------------


def test_overnight_span_runs_past_midnight_into_an_unlisted_day() -> None:
    """fri+sat 22:00-02:00: Fri 22:00 -> Sat 02:00 and Sat 22:00 -> Sun 02:00 (Sun unlisted)."""
    assert not is_open(OVERNIGHT, at(5, 21, 59, 59))
    assert is_open(OVERNIGHT, at(5, 22))
    assert is_open(OVERNIGHT, at(5, 23, 59, 59))
    assert is_open(OVERNIGHT, at(6, 0))
    assert is_open(OVERNIGHT, at(6, 2) - ONE_S)
    assert not is_open(OVERNIGHT, at(6, 2))
    assert is_open(OVERNIGHT, at(7, 1))  # Sunday early morning: Saturday's span
    assert not is_open(OVERNIGHT, at(7, 22))  # Sunday evening: Sunday is not listed
    assert not is_open(OVERNIGHT, at(5, 1))  # Friday early morning: Thursday is not listed


def test_overnight_span_across_the_week_end() -> None:
    """Sunday 23:00 -> Monday 01:00, and the next week wraps the same way."""
    assert is_open(SUNDAY_NIGHT, at(7, 23))
    assert is_open(SUNDAY_NIGHT, at(8, 0, 30))
    assert is_open(SUNDAY_NIGHT, at(8, 1) - ONE_S)
    assert not is_open(SUNDAY_NIGHT, at(8, 1))
    assert not is_open(SUNDAY_NIGHT, at(8, 23, 30))  # Monday night: closed
    assert is_open(SUNDAY_NIGHT, at(1, 0, 30))  # Monday 1 Jan: the Sunday of 31 Dec 2023
    assert next_change(SUNDAY_NIGHT, at(7, 23, 30)) == at(8, 1)
    assert next_change(SUNDAY_NIGHT, at(8, 1)) == at(14, 23)


# -- next_change ---------------------------------------------------------------------------------


def test_next_change_from_inside_is_the_closing_time() -> None:
    assert next_change(DAYTIME, at(2, 10)) == at(2, 18)
    assert next_change(DAYTIME, at(2, 17, 59, 59)) == at(2, 18)
    assert next_change(OVERNIGHT, at(5, 23)) == at(6, 2)


def test_next_change_from_outside_is_the_next_opening() -> None:
    assert next_change(DAYTIME, at(2, 18)) == at(3, 10)  # at `to` itself: closed, opens next day
    assert next_change(DAYTIME, at(2, 9)) == at(2, 10)
    assert next_change(DAYTIME, at(1, 12)) == at(2, 10)  # Monday closed -> Tuesday
    assert next_change(DAYTIME, at(7, 18)) == at(9, 10)  # Sunday close -> skips Monday
    assert next_change(OVERNIGHT, at(6, 2)) == at(6, 22)
    assert next_change(OVERNIGHT, at(7, 2)) == at(12, 22)  # next Friday


def test_next_change_just_before_an_edge() -> None:
    assert next_change(DAYTIME, at(2, 10) - ONE_US) == at(2, 10)
    assert next_change(DAYTIME, at(2, 18) - ONE_US) == at(2, 18)


def test_no_days_is_never_open_and_never_changes() -> None:
    h = hours("10:00", "18:00", ())
    assert not is_open(h, at(2, 12))
    assert next_change(h, at(2, 12)) is None
    assert fade_level(h, at(2, 12), 10.0) == 0.0


def test_aware_datetimes_are_refused() -> None:
    aware = datetime.datetime(2024, 1, 2, 12, tzinfo=datetime.timezone.utc)
    with pytest.raises(ValueError, match="naive"):
        is_open(DAYTIME, aware)


# -- a full week against first principles --------------------------------------------------------


WEEK_CASES = {
    "daytime": DAYTIME,
    "overnight": OVERNIGHT,
    "sunday_night": SUNDAY_NIGHT,
    "odd_minutes": hours("09:17", "09:18", ("mon", "thu")),
    "from_eq_to": hours("13:05", "13:05", ("mon", "wed", "sun")),
    "joined_24h": hours("06:00", "06:00", ("sat", "sun", "mon")),
    "all_day": hours("00:00", "00:00"),
    "late_close": hours("08:00", "23:55", ("tue", "sun")),
    "none": None,
}


@pytest.mark.parametrize("name", sorted(WEEK_CASES))
def test_week_scan_matches_first_principles(name: str) -> None:
    """Every 5 minutes (and 1 µs before each) for 8 days: is_open is the slow definition, and
    next_change lands on the instant where the slow definition flips, before any later flip."""
    h = WEEK_CASES[name]
    start = datetime.datetime(2023, 12, 31, 0, 0)  # a Sunday, so the scan crosses a week end
    samples = [start + datetime.timedelta(minutes=5 * i) for i in range(8 * 24 * 12 + 1)]
    states = [slow_is_open(h, when) for when in samples]
    for i, when in enumerate(samples):
        assert is_open(h, when) == states[i], when
        assert is_open(h, when - ONE_US) == slow_is_open(h, when - ONE_US), when
        change = next_change(h, when)
        flips = [j for j in range(i + 1, len(samples)) if states[j] != states[i]]
        if change is None:
            assert not flips, when
            continue
        assert change > when
        assert slow_is_open(h, change) != states[i], (when, change)
        assert slow_is_open(h, change - ONE_US) == states[i], (when, change)
        if flips:
            assert change <= samples[flips[0]], (when, change)


# -- fade_level ----------------------------------------------------------------------------------


def test_fade_ramps_in_after_opening_and_out_before_closing() -> None:
    fade_s = 60.0
    assert fade_level(DAYTIME, at(2, 9, 59, 59), fade_s) == 0.0
    assert fade_level(DAYTIME, at(2, 10), fade_s) == 0.0
    assert fade_level(DAYTIME, at(2, 10, 0, 15), fade_s) == pytest.approx(0.25)
    assert fade_level(DAYTIME, at(2, 10, 0, 30), fade_s) == pytest.approx(0.5)
    assert fade_level(DAYTIME, at(2, 10, 1), fade_s) == 1.0
    assert fade_level(DAYTIME, at(2, 14), fade_s) == 1.0
    assert fade_level(DAYTIME, at(2, 17, 59), fade_s) == 1.0
    assert fade_level(DAYTIME, at(2, 17, 59, 45), fade_s) == pytest.approx(0.25)
    assert fade_level(DAYTIME, at(2, 18) - ONE_US, fade_s) == pytest.approx(0.0, abs=1e-6)
    assert fade_level(DAYTIME, at(2, 18), fade_s) == 0.0


def test_fade_is_monotonic_and_within_bounds_over_a_ramp() -> None:
    levels = [fade_level(DAYTIME, at(2, 17, 58) + i * ONE_S, 90.0) for i in range(130)]
    assert all(0.0 <= level <= 1.0 for level in levels)
    assert all(a >= b for a, b in itertools.pairwise(levels))


def test_fade_over_midnight_and_short_openings() -> None:
    assert fade_level(OVERNIGHT, at(6, 0), 600.0) == 1.0  # midnight is inside, no dip
    assert fade_level(OVERNIGHT, at(6, 1, 55), 600.0) == pytest.approx(0.5)
    short = hours("09:17", "09:18", ("mon",))  # a minute: never reaches 1 with 60 s ramps
    assert fade_level(short, at(1, 9, 17, 30), 60.0) == pytest.approx(0.5)


def test_zero_fade_is_a_step_and_negative_fade_is_refused() -> None:
    assert fade_level(DAYTIME, at(2, 10), 0.0) == 1.0
    assert fade_level(DAYTIME, at(2, 18) - ONE_US, 0.0) == 1.0
    assert fade_level(DAYTIME, at(2, 18), 0.0) == 0.0
    with pytest.raises(ValueError, match="fade_s"):
        fade_level(DAYTIME, at(2, 12), -1.0)
