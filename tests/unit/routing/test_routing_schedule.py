"""Business hours, holidays, time zones and DST, next_change exactness."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.schedule import ClosedReason, Holiday, Schedule, TimeRange

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
ALL_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly(tz: ZoneInfo, *, holidays: tuple[Holiday, ...] = (), **days: str) -> Schedule:
    hours = tuple(
        tuple(TimeRange.parse(r) for r in days.get(d, "").split(",") if r) for d in ALL_WEEK
    )
    return Schedule(tz, hours, holidays)


def every_day(tz: ZoneInfo, ranges: str, holidays: tuple[Holiday, ...] = ()) -> Schedule:
    day = tuple(TimeRange.parse(r) for r in ranges.split(","))
    return Schedule(tz, (day,) * 7, holidays)


def test_time_range_parse() -> None:
    assert TimeRange.parse("09:00-17:30") == TimeRange(540, 1050)
    assert TimeRange.parse("22:00-02:00").crosses_midnight
    assert TimeRange.parse("00:00-24:00") == TimeRange(0, 1440)
    assert TimeRange.parse("18:00-00:00") == TimeRange(1080, 1440)
    for bad in ("25:00-26:00", "9:00-17:00", "09:60-10:00", "10:00-10:00", "24:00-01:00", "x"):
        with pytest.raises(ValueError):
            TimeRange.parse(bad)


def test_weekday_hours_in_local_time() -> None:
    s = weekly(NY, mon="09:00-12:00,13:00-17:00")
    # Monday 2026-11-23, New York is UTC-5
    assert not s.is_open(utc(2026, 11, 23, 13, 59))
    assert s.is_open(utc(2026, 11, 23, 14, 0))
    assert not s.is_open(utc(2026, 11, 23, 17, 0))  # lunch
    assert s.is_open(utc(2026, 11, 23, 21, 59))
    assert not s.is_open(utc(2026, 11, 23, 22, 0))
    assert not s.is_open(utc(2026, 11, 24, 15, 0))  # Tuesday: no hours
    assert s.next_change(utc(2026, 11, 23, 15, 0)) == utc(2026, 11, 23, 17, 0)
    assert s.next_change(utc(2026, 11, 23, 22, 0)) == utc(2026, 11, 30, 14, 0)


def test_float_now_is_posix_seconds() -> None:
    s = weekly(NY, mon="09:00-17:00")
    now = utc(2026, 11, 23, 15, 0)
    assert s.is_open(now.timestamp())
    assert s.next_change(now.timestamp()) == s.next_change(now)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        weekly(NY, mon="09:00-17:00").is_open(datetime(2026, 11, 23, 15, 0))


def test_range_crossing_midnight() -> None:
    s = weekly(PARIS, fri="22:00-02:00")  # Friday 2026-11-27; Paris is UTC+1
    assert not s.is_open(utc(2026, 11, 27, 20, 59))
    assert s.is_open(utc(2026, 11, 27, 21, 0))
    assert s.is_open(utc(2026, 11, 28, 0, 59))  # Saturday 01:59
    assert not s.is_open(utc(2026, 11, 28, 1, 0))
    assert s.next_change(utc(2026, 11, 27, 12, 0)) == utc(2026, 11, 27, 21, 0)
    assert s.next_change(utc(2026, 11, 27, 22, 0)) == utc(2026, 11, 28, 1, 0)


def test_adjacent_ranges_do_not_flip_at_midnight() -> None:
    s = weekly(PARIS, fri="20:00-24:00", sat="00:00-03:00")
    assert s.open_until(utc(2026, 11, 27, 20, 0)) == utc(2026, 11, 28, 2, 0)


def test_full_day_holiday_also_closes_a_previous_night_tail() -> None:
    xmas = Holiday(12, 26, 2026, "Boxing day")  # Saturday
    s = weekly(PARIS, holidays=(xmas,), fri="22:00-02:00")
    assert s.is_open(utc(2026, 12, 25, 22, 0))
    state = s.state(utc(2026, 12, 25, 23, 30))  # Saturday 00:30 local
    assert (state.is_open, state.reason, state.holiday) == (
        False,
        ClosedReason.HOLIDAY,
        "Boxing day",
    )
    assert s.open_until(utc(2026, 12, 25, 22, 0)) == utc(2026, 12, 25, 23, 0)


def test_partial_holiday_and_yearly_repeat() -> None:
    eve = Holiday(12, 24, None, "Christmas Eve", (TimeRange.parse("14:00-24:00"),))
    s = every_day(NY, "09:00-17:00", (eve,))
    for year in (2026, 2031):
        assert s.is_open(datetime(year, 12, 24, 13, 59, tzinfo=NY))
        state = s.state(datetime(year, 12, 24, 14, 0, tzinfo=NY))
        assert not state.is_open and state.reason is ClosedReason.HOLIDAY
        assert state.until == datetime(year, 12, 25, 9, 0, tzinfo=NY)
    assert s.state(datetime(2026, 12, 24, 20, 0, tzinfo=NY)).reason is ClosedReason.HOLIDAY
    assert s.state(datetime(2026, 12, 23, 20, 0, tzinfo=NY)).reason is ClosedReason.OUTSIDE_HOURS


def test_always_open_and_never_open_have_no_next_change() -> None:
    always = every_day(NY, "00:00-24:00")
    assert always.is_open(utc(2026, 1, 1, 0, 0))
    assert always.next_change(utc(2026, 1, 1, 0, 0)) is None
    assert always.open_until(utc(2026, 1, 1, 0, 0)) is None
    never = weekly(NY)
    assert not never.is_open(utc(2026, 1, 1))
    assert never.next_change(utc(2026, 1, 1)) is None


def test_far_holiday_in_24_7_schedule_is_found() -> None:
    s = every_day(NY, "00:00-24:00", (Holiday(10, 1, 2027),))
    assert s.next_change(utc(2026, 11, 23)) == datetime(2027, 10, 1, tzinfo=NY)


# -- DST ----------------------------------------------------------------------


def test_opening_hour_follows_dst_spring_forward() -> None:
    # New York springs forward on Sunday 2026-03-08 at 02:00 EST -> 03:00 EDT
    s = weekly(NY, sat="09:00-17:00", sun="09:00-17:00")
    assert s.next_change(utc(2026, 3, 7, 0, 0)) == utc(2026, 3, 7, 14, 0)  # EST
    assert s.next_change(utc(2026, 3, 8, 0, 0)) == utc(2026, 3, 8, 13, 0)  # EDT
    assert s.open_until(utc(2026, 3, 8, 13, 0)) == utc(2026, 3, 8, 21, 0)


def test_range_starting_in_the_skipped_hour_opens_at_the_transition() -> None:
    s = weekly(NY, sun="02:30-04:00")
    assert not s.is_open(utc(2026, 3, 8, 6, 59))  # 01:59 EST
    assert s.is_open(utc(2026, 3, 8, 7, 0))  # 03:00 EDT
    assert s.next_change(utc(2026, 3, 8, 6, 0)) == utc(2026, 3, 8, 7, 0)
    assert s.next_change(utc(2026, 3, 8, 7, 0)) == utc(2026, 3, 8, 8, 0)  # 04:00 EDT


def test_repeated_hour_on_fall_back_is_open_twice() -> None:
    # New York falls back on Sunday 2026-11-01 at 02:00 EDT -> 01:00 EST
    s = weekly(NY, sun="01:00-01:30")
    assert s.is_open(utc(2026, 11, 1, 5, 15))  # 01:15 EDT
    assert not s.is_open(utc(2026, 11, 1, 5, 45))  # 01:45 EDT
    assert s.is_open(utc(2026, 11, 1, 6, 15))  # 01:15 EST
    assert s.next_change(utc(2026, 11, 1, 5, 45)) == utc(2026, 11, 1, 6, 0)
    assert s.next_change(utc(2026, 11, 1, 6, 0)) == utc(2026, 11, 1, 6, 30)


def test_paris_business_day_on_dst_change() -> None:
    # Paris springs forward on Sunday 2026-03-29 at 01:00 UTC
    s = weekly(PARIS, sun="08:00-18:00", mon="08:00-18:00")
    assert s.next_change(utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 6, 0)
    assert s.open_until(utc(2026, 3, 29, 6, 0)) == utc(2026, 3, 29, 16, 0)
    assert s.next_change(utc(2026, 3, 29, 16, 0)) == utc(2026, 3, 30, 6, 0)


# -- next_change against brute force ------------------------------------------

_ZONES = ("America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kolkata")
_ranges = st.tuples(st.integers(0, 47), st.integers(1, 48)).filter(lambda r: r[0] != r[1] % 48)


def _brute_next_change(s: Schedule, now: datetime, days: int) -> datetime | None:
    state, t = s.is_open(now), now
    for _ in range(days * 24 * 60):
        t += timedelta(minutes=1)
        if s.is_open(t) != state:
            return t
    return None


@settings(max_examples=25, deadline=None)
@given(
    zone=st.sampled_from(_ZONES),
    day_ranges=st.lists(st.lists(_ranges, max_size=2), min_size=7, max_size=7),
    holiday_offset=st.integers(0, 4),
    start_day=st.sampled_from(
        [
            date(2026, 3, 6),
            date(2026, 3, 27),
            date(2026, 10, 2),
            date(2026, 10, 30),
            date(2026, 4, 3),
        ]
    ),
    minute=st.integers(0, 3 * 1440),
)
def test_next_change_matches_minute_by_minute_scan(
    zone: str,
    day_ranges: list[list[tuple[int, int]]],
    holiday_offset: int,
    start_day: date,
    minute: int,
) -> None:
    hours = tuple(
        tuple(TimeRange(a * 30, b * 30 if b * 30 != a * 30 else 1440) for a, b in d)
        for d in day_ranges
    )
    hday = start_day + timedelta(days=holiday_offset)
    holiday = Holiday(hday.month, hday.day, hday.year, "h", (TimeRange(600, 780),))
    s = Schedule(ZoneInfo(zone), hours, (holiday,))
    now = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC) + timedelta(
        minutes=minute
    )
    expected = _brute_next_change(s, now, days=8)
    got = s.next_change(now)
    if expected is None:
        assert got is None or got > now + timedelta(days=8)
    else:
        assert got == expected
