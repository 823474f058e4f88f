"""Weekly business hours, holidays and time zones for a queue.

Theory of operation: a :class:`Schedule` is evaluated on *local wall-clock time* in its
IANA zone.  An instant is open when the local minute falls in one of that weekday's
ranges (or in the after-midnight tail of the previous day's range that crosses
midnight) and no holiday that applies to the local *calendar date* closes it.  So a
full-day holiday on a Saturday also closes the 00:00-02:00 tail of a Friday
22:00-02:00 shift.  On DST days wall times are what count: a range starting in the
skipped hour opens at the transition, a range covering the repeated hour is open
both times round.

:meth:`Schedule.next_change` finds when the state next flips.  The state is constant
between "candidate" instants: every boundary wall time (range ends, holiday closures,
local midnights) mapped to UTC with both ``fold`` values, plus the zone's DST
transitions.  Checking the candidates in order finds the first flip exactly.  Nothing
here reads the clock: ``now`` is an argument (aware ``datetime`` or POSIX seconds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

__all__ = [
    "WEEKDAYS",
    "ClosedReason",
    "Holiday",
    "Schedule",
    "ScheduleState",
    "TimeRange",
    "as_utc",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 400  # a yearly holiday in an otherwise 24/7 schedule is still found
_DAY = 1440
_HHMM = re.compile(r"(\d{2}):(\d{2})")


def as_utc(now: datetime | float) -> datetime:
    """Return ``now`` as an aware UTC datetime; a naive datetime is a programming error."""
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (or POSIX seconds)")
        return now.astimezone(UTC)
    return datetime.fromtimestamp(now, UTC)


def parse_hhmm(text: str, *, allow_24: bool) -> int:
    """Parse ``HH:MM`` to minutes after midnight; ``24:00`` only if ``allow_24``."""
    m = _HHMM.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a time HH:MM")
    hours, minutes = int(m.group(1)), int(m.group(2))
    total = hours * 60 + minutes
    if minutes > 59 or total > _DAY or (total == _DAY and not allow_24):
        raise ValueError(f"{text!r} is not a time HH:MM")
    return total


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Local minutes ``[start, end)``; ``end <= start`` means it crosses midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < _DAY and 0 < self.end <= _DAY) or self.start == self.end:
            raise ValueError(f"bad time range {self.start}-{self.end}")

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """Parse ``"09:00-17:30"``, ``"22:00-02:00"`` (crosses midnight), ``"00:00-24:00"``."""
        start_text, sep, end_text = text.partition("-")
        if not sep:
            raise ValueError(f"{text!r} is not a range HH:MM-HH:MM")
        start = parse_hhmm(start_text, allow_24=False)
        end = parse_hhmm(end_text, allow_24=True)
        if start == end or (end == 0 and start == 0):
            raise ValueError(f"{text!r} is an empty range")
        return cls(start, end if end != 0 else _DAY)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def covers_same_day(self, minute: int) -> bool:
        if self.crosses_midnight:
            return minute >= self.start
        return self.start <= minute < self.end

    def covers_next_day(self, minute: int) -> bool:
        return self.crosses_midnight and minute < self.end


@dataclass(frozen=True, slots=True)
class Holiday:
    """A closure on a local date; ``year=None`` repeats every year.

    ``closed`` empty means the whole day; otherwise only those ranges (which may not
    cross midnight) are closed, e.g. ``14:00-24:00`` on Christmas Eve.
    """

    month: int
    day: int
    year: int | None = None
    name: str = ""
    closed: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        date(self.year or 2000, self.month, self.day)  # 2000 is a leap year: 02-29 ok
        if any(r.crosses_midnight for r in self.closed):
            raise ValueError("holiday closures may not cross midnight (use ..-24:00)")

    def applies(self, day: date) -> bool:
        return (
            day.month == self.month
            and day.day == self.day
            and (self.year is None or day.year == self.year)
        )

    def closes(self, minute: int) -> bool:
        return not self.closed or any(r.covers_same_day(minute) for r in self.closed)


class ClosedReason(Enum):
    OUTSIDE_HOURS = "outside-hours"
    HOLIDAY = "holiday"


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """Whether a schedule is open at an instant, why not, and until when."""

    is_open: bool
    reason: ClosedReason | None = None
    holiday: str = ""
    until: datetime | None = None  # next flip (UTC), None if none within the horizon


@dataclass(frozen=True, slots=True)
class Schedule:
    """Business hours of one queue: 7 weekday range lists (Mon..Sun) and holidays."""

    timezone: ZoneInfo
    hours: tuple[tuple[TimeRange, ...], ...]
    holidays: tuple[Holiday, ...] = ()

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("hours must have 7 entries, Monday first")

    # -- evaluation ------------------------------------------------------------

    def _local(self, instant: datetime) -> tuple[date, int]:
        local = instant.astimezone(self.timezone)
        return local.date(), local.hour * 60 + local.minute

    def _weekly_open(self, day: date, minute: int) -> bool:
        today = self.hours[day.weekday()]
        yesterday = self.hours[(day.weekday() - 1) % 7]
        return any(r.covers_same_day(minute) for r in today) or any(
            r.covers_next_day(minute) for r in yesterday
        )

    def _holiday(self, day: date, minute: int) -> Holiday | None:
        for holiday in self.holidays:
            if holiday.applies(day) and holiday.closes(minute):
                return holiday
        return None

    def state_now(self, now: datetime | float) -> ScheduleState:
        """Like :meth:`state` without computing ``until`` (cheap; for the call path)."""
        return self._state_no_until(as_utc(now))

    def _state_no_until(self, instant: datetime) -> ScheduleState:
        day, minute = self._local(instant)
        holiday = self._holiday(day, minute)
        if holiday is not None:
            return ScheduleState(False, ClosedReason.HOLIDAY, holiday.name)
        if self._weekly_open(day, minute):
            return ScheduleState(True)
        return ScheduleState(False, ClosedReason.OUTSIDE_HOURS)

    def is_open(self, now: datetime | float) -> bool:
        return self._state_no_until(as_utc(now)).is_open

    def state(self, now: datetime | float) -> ScheduleState:
        """Open/closed at ``now``, the closing reason, and when that next changes."""
        instant = as_utc(now)
        current = self._state_no_until(instant)
        return ScheduleState(
            current.is_open, current.reason, current.holiday, self._next_flip(instant)
        )

    def next_change(self, now: datetime | float) -> datetime | None:
        """First instant (UTC) after ``now`` at which open/closed differs from ``now``."""
        return self._next_flip(as_utc(now))

    def open_until(self, now: datetime | float) -> datetime | None:
        """When an open schedule closes; None if closed now or no closing in sight."""
        instant = as_utc(now)
        return self._next_flip(instant) if self._state_no_until(instant).is_open else None

    # -- next change -----------------------------------------------------------

    def _next_flip(self, instant: datetime) -> datetime | None:
        was_open = self._state_no_until(instant).is_open
        first_day = self._local(instant)[0] - timedelta(days=1)
        # grow the window so the common case (a flip within days) stays cheap
        for horizon in (8, 40, HORIZON_DAYS):
            last_day = first_day + timedelta(days=horizon)
            limit = self._instant(last_day, 0, fold=0)
            for candidate in sorted(self._candidates(first_day, last_day)):
                if candidate >= limit:
                    break
                if candidate > instant and self._state_no_until(candidate).is_open != was_open:
                    return candidate
        return None

    def _candidates(self, first: date, last: date) -> Iterator[datetime]:
        day = first
        while day <= last:
            minutes = {0}
            # yesterday's ranges too: a range crossing midnight ends today
            for ranges in (self.hours[day.weekday()], self.hours[(day.weekday() - 1) % 7]):
                minutes.update(r.start for r in ranges)
                minutes.update(r.end % _DAY for r in ranges)
            for holiday in self.holidays:
                if holiday.applies(day):
                    minutes.update(r.start for r in holiday.closed)
                    minutes.update(r.end % _DAY for r in holiday.closed)
            for minute in minutes:
                yield self._instant(day, minute, fold=0)
                yield self._instant(day, minute, fold=1)
            transition = self._transition_in(day)
            if transition is not None:
                yield transition
            day += timedelta(days=1)

    def _instant(self, day: date, minute: int, *, fold: int) -> datetime:
        local = datetime(
            day.year,
            day.month,
            day.day,
            minute // 60,
            minute % 60,
            fold=fold,
            tzinfo=self.timezone,
        )
        return local.astimezone(UTC)

    def _transition_in(self, day: date) -> datetime | None:
        """The UTC-offset change during ``day`` (found by bisection), if any."""
        lo = self._instant(day, 0, fold=0) - timedelta(hours=3)
        hi = self._instant(day + timedelta(days=1), 0, fold=0)
        if lo.astimezone(self.timezone).utcoffset() == hi.astimezone(self.timezone).utcoffset():
            return None
        before = lo.astimezone(self.timezone).utcoffset()
        lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
        while hi_s - lo_s > 1:
            mid = (lo_s + hi_s) // 2
            if datetime.fromtimestamp(mid, self.timezone).utcoffset() == before:
                lo_s = mid
            else:
                hi_s = mid
        return datetime.fromtimestamp(hi_s, UTC)
