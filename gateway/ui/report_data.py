"""The reports page's figures from the per-interval statistics (gateway/store/stats.py):
totals per interval over the selected queues, agents' occupancy, and the CSV rows.

    abandon rate  = abandoned / (received - short abandons)   (short abandons excluded
                    from both sides, as `abandoned` already excludes them)
    service level = answered within the SL threshold / answered (summed over queues)
    occupancy     = (talk + wrap-up) / (logged in - paused): the share of the time an
                    agent was available for work that it spent on calls
A ratio with nothing to divide is None (shown as a dash)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from gateway.store.stats import AgentInterval, QueueInterval


@dataclass(frozen=True, slots=True)
class IntervalTotal:
    start: datetime
    received: int
    answered: int
    abandoned: int
    answered_within_sl: int
    short_abandoned: int

    @property
    def service_level(self) -> float | None:
        return self.answered_within_sl / self.answered if self.answered else None

    @property
    def abandon_rate(self) -> float | None:
        base = self.received - self.short_abandoned
        return self.abandoned / base if base > 0 else None


@dataclass(frozen=True, slots=True)
class Occupancy:
    agent: str
    calls_answered: int
    talk_seconds: float
    wrapup_seconds: float
    logged_in_seconds: float
    pause_seconds: float
    hold_seconds: float = 0.0  # its answered calls' time on hold (within talk)

    @property
    def occupancy(self) -> float | None:
        working = self.logged_in_seconds - self.pause_seconds
        return (self.talk_seconds + self.wrapup_seconds) / working if working > 0 else None


def per_interval(items: Iterable[QueueInterval]) -> list[IntervalTotal]:
    """Every queue's interval summed, by interval start (intervals without calls are
    not in the statistics: they are not invented here either)."""
    sums: dict[datetime, list[int]] = {}
    for q in items:
        row = sums.setdefault(q.start, [0, 0, 0, 0, 0])
        for i, v in enumerate((q.received, q.answered, q.abandoned, q.answered_within_sl,
                               q.short_abandoned)):  # fmt: skip
            row[i] += v
    return [IntervalTotal(start, *row) for start, row in sorted(sums.items())]


def occupancy(items: Iterable[AgentInterval]) -> list[Occupancy]:
    """Per agent over the whole range, by agent name."""
    sums: dict[str, list[float]] = {}
    for a in items:
        row = sums.setdefault(a.agent, [0, 0.0, 0.0, 0.0, 0.0, 0.0])
        for i, v in enumerate((a.calls_answered, a.talk_seconds, a.wrapup_seconds,
                               a.logged_in_seconds, a.pause_seconds, a.hold_seconds)):  # fmt: skip
            row[i] += v
    return [
        Occupancy(agent, int(r[0]), r[1], r[2], r[3], r[4], r[5])
        for agent, r in sorted(sums.items())
    ]


QUEUE_COLUMNS = tuple(f.name for f in fields(QueueInterval))
AGENT_COLUMNS = tuple(f.name for f in fields(AgentInterval) if f.name != "pause_by_reason")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def queues_csv(items: Sequence[QueueInterval]) -> str:
    return _csv(QUEUE_COLUMNS, ([asdict(q)[c] for c in QUEUE_COLUMNS] for q in items))


def agents_csv(items: Sequence[AgentInterval]) -> str:
    """One row per agent and interval; the pause split as `pause:<reason>` columns."""
    reasons = sorted({r for a in items for r in a.pause_by_reason})
    header = (*AGENT_COLUMNS, *(f"pause:{r}" for r in reasons))
    rows = (
        [*(asdict(a)[c] for c in AGENT_COLUMNS), *(a.pause_by_reason.get(r, 0.0) for r in reasons)]
        for a in items
    )
    return _csv(header, rows)
