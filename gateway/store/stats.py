"""Per-interval queue and agent statistics, computed at request time from `calls` and
`agent_state_log` (no batch job, nothing stored).

Theory of operation. The SQL only selects rows (SQLAlchemy Core, portable: no date
functions, which differ between SQLite and PostgreSQL); bucketing is done here in
Python. Intervals are aligned to UTC hours or UTC days; each reported interval is
``[start, end)`` clipped to the requested ``[since, until)``.

Queues (a call counts in the interval it *arrived* in, under the last queue it was in;
T = the queue's `sl_threshold`, S its `short_abandon`, read from the `queues` table,
QueueSettings' defaults for a queue no longer configured):

- received: calls that reached the queue; answered: those with an answer time;
- abandoned: disposition `abandoned`/`abandoned_ringing` with a wait >= S;
  short_abandoned: the same with a wait < S (excluded from `abandoned`, as the live KPIs);
- overflowed: disposition `overflow` (the call left the queue for a terminal action or
  another queue: the record keeps the last queue, so an overflow into a queue counts
  there as received);
- service_level: answered within T / answered (Asterisk's ServicelevelPerf, as the live
  view); ASA: mean wait of answered calls; longest_wait: the longest wait of any call;
- AHT: mean of talk + wrap-up of answered calls. Wrap-up is not in the call record: it
  is the answering agent's first `wrap-up` span in the state log that starts between
  the answer and ``WRAPUP_MATCH`` after the end (0 if there is none, e.g. wrap-up 0).
- hold (the record's `hold_count`/`hold_seconds`, docs/in-call.md): held = answered
  calls put on hold at least once, hold_count = their holds, hold_seconds = their time
  on hold; avg_hold_seconds = hold_seconds / held (the mean hold time of a held call).

Agents (from the state log: each row starts a span that lasts until the agent's next
row, or `until`/`now` for the last one; the row before `since` gives the state at
`since`): time logged in (any state but `logged-out`), talk (`on-call`), wrap-up,
pause (by reason), available, ringing (`offered`); calls answered by answer time, and
their holds (held, hold_count, hold_seconds, avg_hold_seconds as for queues: a call's
holds count for the agent that answered it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Literal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.settings.routing import QueueSettings
from gateway.store.engine import Database
from gateway.store.models import AgentStateLog, Call, Queue

Interval = Literal["hour", "day"]
MAX_SPAN = timedelta(days=366)
WRAPUP_MATCH = timedelta(seconds=5)
LOG_LOOKAHEAD = timedelta(days=1)  # how far past `until` a wrap-up span's end is looked for
ABANDONS = ("abandoned", "abandoned_ringing")
DEFAULT_SL = float(QueueSettings.model_fields["sl_threshold"].default)
DEFAULT_SHORT = float(QueueSettings.model_fields["short_abandon"].default)


class InvalidRange(ValueError):
    """`since` not before `until`, or a range longer than MAX_SPAN."""


@dataclass(frozen=True, slots=True)
class QueueInterval:
    queue: str
    start: datetime
    end: datetime
    sl_threshold: float
    short_abandon: float
    received: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    overflowed: int = 0
    answered_within_sl: int = 0
    service_level: float | None = None
    asa_seconds: float | None = None
    aht_seconds: float | None = None
    talk_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    longest_wait_seconds: float | None = None
    held: int = 0
    hold_count: int = 0
    hold_seconds: float = 0.0
    avg_hold_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class AgentInterval:
    agent: str
    start: datetime
    end: datetime
    calls_answered: int = 0
    logged_in_seconds: float = 0.0
    available_seconds: float = 0.0
    ringing_seconds: float = 0.0
    talk_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    pause_seconds: float = 0.0
    pause_by_reason: dict[str, float] = field(default_factory=dict)
    held: int = 0
    hold_count: int = 0
    hold_seconds: float = 0.0
    avg_hold_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Holds:
    """Answered calls' holds, summed: `held` calls had at least one."""

    held: int = 0
    count: int = 0
    seconds: float = 0.0

    def add(self, count: int | None, seconds: float | None) -> Holds:
        if not count:
            return self
        return Holds(self.held + 1, self.count + count, self.seconds + (seconds or 0.0))

    @property
    def fields(self) -> dict[str, int | float | None]:
        avg = round(self.seconds / self.held, 3) if self.held else None
        return {"held": self.held, "hold_count": self.count,
                "hold_seconds": round(self.seconds, 3), "avg_hold_seconds": avg}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Span:
    state: str
    reason: str | None
    start: datetime
    end: datetime


def check_range(since: datetime, until: datetime) -> None:
    if since >= until:
        raise InvalidRange("`from` must be before `to`")
    if until - since > MAX_SPAN:
        raise InvalidRange(f"the range may span at most {MAX_SPAN.days} days")


def floor(t: datetime, interval: Interval) -> datetime:
    t = t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if interval == "day" else t


def intervals(
    since: datetime, until: datetime, interval: Interval
) -> Iterator[tuple[datetime, datetime]]:
    """The aligned intervals covering [since, until), each clipped to it."""
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    start = floor(since, interval)
    while start < until:
        yield max(start, since), min(start + step, until)
        start += step


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


class StatsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queue_stats(
        self, since: datetime, until: datetime, interval: Interval, queue: str | None = None
    ) -> list[QueueInterval]:
        check_range(since, until)
        calls = (
            select(Call)
            .where(Call.arrived_at >= since, Call.arrived_at < until, Call.queue.is_not(None))
            .order_by(Call.arrived_at, Call.id)
        )
        if queue is not None:
            calls = calls.where(Call.queue == queue)
        async with self._db.reading() as session:
            rows = (await session.scalars(calls)).all()
            settings = {q.name: q.config for q in (await session.scalars(select(Queue))).all()}
            agents = {r.agent for r in rows if r.agent is not None and r.answered_at is not None}
            log = await _log_rows(session, agents, since, until + LOG_LOOKAHEAD)
        wrapups = _wrapup_spans(log)
        groups: dict[tuple[str, datetime], list[Call]] = defaultdict(list)
        for row in rows:
            groups[(row.queue or "", floor(row.arrived_at, interval))].append(row)
        out = []
        for (name, aligned), group in sorted(groups.items()):
            config = settings.get(name, {})
            sl = float(config.get("sl_threshold", DEFAULT_SL))
            short = float(config.get("short_abandon", DEFAULT_SHORT))
            start = max(aligned, since)
            end = min(
                aligned + (timedelta(hours=1) if interval == "hour" else timedelta(days=1)), until
            )
            out.append(_queue_interval(name, start, end, sl, short, group, wrapups))
        return out

    async def agent_stats(
        self,
        since: datetime,
        until: datetime,
        interval: Interval,
        *,
        now: datetime,
        agent: str | None = None,
    ) -> list[AgentInterval]:
        """`now` ends the last span of an agent still in that state."""
        check_range(since, until)
        stop = min(until, max(now, since))
        before = select(AgentStateLog.agent, func.max(AgentStateLog.at).label("at")).where(
            AgentStateLog.at < since
        )
        if agent is not None:
            before = before.where(AgentStateLog.agent == agent)
        last = before.group_by(AgentStateLog.agent).subquery()
        prior = select(AgentStateLog).join(
            last, and_(AgentStateLog.agent == last.c.agent, AgentStateLog.at == last.c.at)
        )
        window = select(AgentStateLog).where(AgentStateLog.at >= since, AgentStateLog.at < until)
        answered = select(Call.agent, Call.answered_at, Call.hold_count, Call.hold_seconds).where(
            Call.answered_at >= since, Call.answered_at < until, Call.agent.is_not(None)
        )
        if agent is not None:
            window = window.where(AgentStateLog.agent == agent)
            answered = answered.where(Call.agent == agent)
        async with self._db.reading() as session:
            rows = [*(await session.scalars(prior)).all(), *(await session.scalars(window)).all()]
            answers = (await session.execute(answered)).all()
        spans = _spans(rows, since, stop)
        counts: dict[tuple[str, datetime], int] = defaultdict(int)
        holds: dict[tuple[str, datetime], Holds] = defaultdict(Holds)
        for who, at, hold_count, hold_seconds in answers:
            if who is not None and at is not None:
                counts[(who, floor(at, interval))] += 1
                key = (who, floor(at, interval))
                holds[key] = holds[key].add(hold_count, hold_seconds)
        out = []
        for who in sorted(set(spans) | {who for who, _ in counts}):
            mine, first = spans.get(who, []), 0
            for start, end in intervals(since, until, interval):
                # spans are ordered and disjoint: skip those over, take those that overlap
                while first < len(mine) and mine[first].end <= start:
                    first += 1
                upto = first
                while upto < len(mine) and mine[upto].start < end:
                    upto += 1
                item = _agent_interval(who, start, end, mine[first:upto])
                n = counts.get((who, floor(start, interval)), 0)
                if n or item.logged_in_seconds > 0:
                    out.append(_with_calls(item, n, holds.get((who, floor(start, interval)))))
        return out


async def _log_rows(
    session: AsyncSession, agents: set[str], since: datetime, until: datetime
) -> Sequence[AgentStateLog]:
    if not agents:
        return []
    query = (
        select(AgentStateLog)
        .where(AgentStateLog.agent.in_(sorted(agents)))
        .where(AgentStateLog.at >= since, AgentStateLog.at < until)
        .order_by(AgentStateLog.agent, AgentStateLog.at, AgentStateLog.id)
    )
    rows: Sequence[AgentStateLog] = (await session.scalars(query)).all()
    return rows


def _wrapup_spans(log: Sequence[AgentStateLog]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each agent's wrap-up spans that have an end (the agent's next row)."""
    out: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row, after in pairwise(log):
        if row.state == "wrap-up" and after.agent == row.agent:
            out[row.agent].append((row.at, after.at))
    return out


def _wrapup_of(call: Call, spans: dict[str, list[tuple[datetime, datetime]]]) -> float:
    if call.agent is None or call.answered_at is None or call.ended_at is None:
        return 0.0
    latest = call.ended_at + WRAPUP_MATCH
    for start, end in spans.get(call.agent, []):
        if call.answered_at <= start <= latest:
            return (end - start).total_seconds()
    return 0.0


def _queue_interval(
    name: str,
    start: datetime,
    end: datetime,
    sl: float,
    short: float,
    calls: list[Call],
    wrapups: dict[str, list[tuple[datetime, datetime]]],
) -> QueueInterval:
    answered = [c for c in calls if c.answered_at is not None]
    waits = [c.wait_seconds or 0.0 for c in answered]
    abandons = [c.wait_seconds or 0.0 for c in calls if c.disposition in ABANDONS]
    talks = [c.talk_seconds or 0.0 for c in answered]
    wraps = [_wrapup_of(c, wrapups) for c in answered]
    all_waits = [c.wait_seconds for c in calls if c.wait_seconds is not None]
    within = sum(1 for w in waits if w <= sl)
    holds = Holds()
    for c in answered:
        holds = holds.add(c.hold_count, c.hold_seconds)
    return QueueInterval(
        queue=name,
        start=start,
        end=end,
        sl_threshold=sl,
        short_abandon=short,
        received=len(calls),
        answered=len(answered),
        abandoned=sum(1 for w in abandons if w >= short),
        short_abandoned=sum(1 for w in abandons if w < short),
        overflowed=sum(1 for c in calls if c.disposition == "overflow"),
        answered_within_sl=within,
        service_level=within / len(answered) if answered else None,
        asa_seconds=_mean(waits),
        aht_seconds=_mean([t + w for t, w in zip(talks, wraps, strict=True)]),
        talk_seconds=sum(talks),
        wrapup_seconds=sum(wraps),
        longest_wait_seconds=max(all_waits) if all_waits else None,
        **holds.fields,  # type: ignore[arg-type]
    )


def _spans(
    rows: Sequence[AgentStateLog], since: datetime, stop: datetime
) -> dict[str, list[_Span]]:
    """Each agent's state spans within [since, stop), in order."""
    by_agent: dict[str, list[AgentStateLog]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.agent, r.at, r.id)):
        by_agent[row.agent].append(row)
    out: dict[str, list[_Span]] = {}
    for agent, log in by_agent.items():
        spans = []
        for i, row in enumerate(log):
            end = log[i + 1].at if i + 1 < len(log) else stop
            start, end = max(row.at, since), min(end, stop)
            if end > start:
                spans.append(_Span(row.state, row.reason, start, end))
        out[agent] = spans
    return out


def _agent_interval(
    agent: str, start: datetime, end: datetime, spans: list[_Span]
) -> AgentInterval:
    seconds: dict[str, float] = defaultdict(float)
    pauses: dict[str, float] = defaultdict(float)
    for span in spans:
        lo, hi = max(span.start, start), min(span.end, end)
        if hi <= lo:
            continue
        length = (hi - lo).total_seconds()
        seconds[span.state] += length
        if span.state == "paused":
            pauses[span.reason or "unspecified"] += length
    logged_in = sum(v for k, v in seconds.items() if k != "logged-out")
    return AgentInterval(
        agent=agent,
        start=start,
        end=end,
        logged_in_seconds=logged_in,
        available_seconds=seconds["available"],
        ringing_seconds=seconds["offered"],
        talk_seconds=seconds["on-call"],
        wrapup_seconds=seconds["wrap-up"],
        pause_seconds=seconds["paused"],
        pause_by_reason=dict(sorted(pauses.items())),
    )


def _with_calls(item: AgentInterval, calls: int, holds: Holds | None) -> AgentInterval:
    return replace(item, calls_answered=calls, **(holds or Holds()).fields)  # type: ignore[arg-type]
