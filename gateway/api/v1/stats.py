"""Per-interval statistics (API v1), computed from the call records and the agent state
log at request time: see gateway/store/stats.py for every definition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

from gateway.api.errors import Responses, error_doc
from gateway.api.params import NO_NUL, IsoDateTime
from gateway.api.v1.deps import OwnRows, StatsDep
from gateway.api.v1.history import restrict, utc
from gateway.store.stats import AgentInterval, Interval, QueueInterval

Since = Annotated[
    IsoDateTime, Query(alias="from", description="ISO 8601, inclusive; no offset: UTC")
]
Until = Annotated[IsoDateTime, Query(alias="to", description="ISO 8601, exclusive; no offset: UTC")]
Step = Annotated[
    Interval, Query(description="`hour` or `day`, aligned to UTC; the first and last are clipped")
]
ERRORS: Responses = {
    422: error_doc("an invalid parameter, `from` not before `to`, or a range over 366 days"),
    503: error_doc("no call records store configured"),
}


class QueueStats(BaseModel):
    interval: Interval
    items: list[QueueInterval] = Field(
        description="one per queue and interval with calls, by queue then time"
    )


class AgentStats(BaseModel):
    interval: Interval
    items: list[AgentInterval] = Field(
        description="one per agent and interval it was logged in or answered a call"
    )


def _range(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    start, end = utc(since, "from"), utc(until, "to")
    assert start is not None and end is not None
    return start, end


def install(app: FastAPI) -> None:
    @app.get(
        "/api/v1/stats/queues",
        tags=["statistics"],
        summary="Per queue, per hour or day: received, answered, abandoned, SL, ASA, AHT...",
        description="A call counts in the interval it arrived in, under the last queue it "
        "was in. `abandoned` excludes short abandons (wait under the queue's "
        "`short_abandon`); `service_level` = answered within `sl_threshold` / answered "
        "(both thresholds are the queue's configured values, echoed per item); "
        "`aht_seconds` = mean talk + wrap-up (the agent state log's wrap-up span). Ratios "
        "and means with nothing to average are null. Intervals without calls are omitted.",
        responses=ERRORS,
    )
    async def queue_stats(
        stats: StatsDep,
        since: Since,
        until: Until,
        interval: Step = "hour",
        queue: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    ) -> QueueStats:
        start, end = _range(since, until)
        return QueueStats(
            interval=interval, items=await stats.queue_stats(start, end, interval, queue)
        )

    @app.get(
        "/api/v1/stats/agents",
        tags=["statistics"],
        summary="Per agent, per hour or day: calls answered, talk, wrap-up, pause, logged-in time",
        description="From the agent state log: each state lasts until the agent's next "
        "change, clipped to the interval (and to now). `pause_by_reason` splits "
        "`pause_seconds`. `calls_answered` counts by answer time. An agent user sees only "
        "itself. Intervals where an agent was logged out and answered nothing are omitted.",
        responses=ERRORS,
    )
    async def agent_stats(
        stats: StatsDep,
        own: OwnRows,
        since: Since,
        until: Until,
        interval: Step = "hour",
        agent: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    ) -> AgentStats:
        start, end = _range(since, until)
        items = await stats.agent_stats(
            start, end, interval, now=datetime.now(UTC), agent=restrict(agent, own)
        )
        return AgentStats(interval=interval, items=items)
