"""Reports (`/ui/reports`): the per-interval queue and agent statistics of
gateway/store/stats.py as tables and SVG charts (volume, service level, abandon rate
per interval; occupancy per agent), with CSV downloads of both tables
(`/ui/reports.csv`, `/ui/reports/agents.csv`). Filters: a date range (UTC days, both
inclusive), a queue, the interval (hour or day). An agent user's agent table and CSV
hold its own agent only (the `ROWS` grant of `stats.agents`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from markupsafe import Markup

from gateway.auth.http import CurrentUser
from gateway.auth.permissions import Permission, refusal, rows_agent
from gateway.auth.service import Principal
from gateway.store.stats import AgentInterval, Interval, InvalidRange, QueueInterval, StatsStore
from gateway.ui import shell
from gateway.ui.charts import Series, bar_chart
from gateway.ui.forms import Fields
from gateway.ui.report_data import agents_csv, occupancy, per_interval, queues_csv

INTERVALS: tuple[str, ...] = get_args(Interval)
NO_STORE = "This gateway has no call records store (no database configured)."


@dataclass(frozen=True, slots=True)
class Query:
    first: date
    last: date
    queue: str | None
    interval: Interval

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    def filename(self, table: str) -> str:
        return f"contactgw-{table}-{self.first}-{self.last}-{self.interval}.csv"


def _query(fields: Fields, today: date) -> Query:
    first = fields.day("from", "From") or today
    last = fields.day("to", "To") or first
    interval = fields.choice("interval", "Interval", INTERVALS) or "hour"
    if last < first:
        fields.errors.append("To: on or after From")
    return Query(first, last, fields.text("queue", "Queue"), interval)  # type: ignore[arg-type]


def _stats(request: Request) -> StatsStore | None:
    stats: StatsStore | None = request.app.state.stats
    return stats


def _may_read_agents(user: Principal) -> bool:
    return refusal(user.role, user.agent_id, Permission.STATS_AGENTS, None) is None


async def _agents(stats: StatsStore, q: Query, user: Principal) -> list[AgentInterval]:
    own = rows_agent(user.role, user.agent_id, Permission.STATS_AGENTS)
    return await stats.agent_stats(q.since, q.until, q.interval, now=datetime.now(UTC), agent=own)


def _label(start: datetime, q: Query) -> str:
    if q.interval == "day":
        return start.strftime("%Y-%m-%d")
    return start.strftime("%H:00") if q.first == q.last else start.strftime("%m-%d %H:00")


def _captioned(chart_id: str, title: str, *args: Any, **kw: Any) -> tuple[str, Markup]:
    return title, bar_chart(chart_id, title, *args, **kw)


def _charts(
    q: Query, queues: list[QueueInterval], agents: list[AgentInterval]
) -> list[tuple[str, Markup]]:
    """(caption, SVG) of each chart."""
    totals = per_interval(queues)
    labels = [_label(t.start, q) for t in totals]
    per = "hour" if q.interval == "hour" else "day"
    charts = [
        _captioned(
            "chart-volume",
            f"Calls per {per}",
            labels,
            [
                Series("received", [t.received for t in totals], "s-received"),
                Series("answered", [t.answered for t in totals], "s-answered"),
                Series("abandoned", [t.abandoned for t in totals], "s-abandoned"),
            ],
            counts=True,
        ),
        _captioned(
            "chart-sl",
            f"Service level per {per}",
            labels,
            [Series("service level", [t.service_level for t in totals], "s-sl")],
            percent=True,
        ),
        _captioned(
            "chart-abandon",
            f"Abandon rate per {per}",
            labels,
            [Series("abandon rate", [t.abandon_rate for t in totals], "s-abandoned")],
            percent=True,
        ),
    ]
    if agents:
        occ = occupancy(agents)
        charts.append(
            _captioned(
                "chart-occupancy",
                "Agent occupancy",
                [o.agent for o in occ],
                [Series("occupancy", [o.occupancy for o in occ], "s-occupancy")],
                percent=True,
            )
        )
    return charts


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _read(request: Request) -> tuple[StatsStore, Query]:
    """The store and the query of a CSV download (a bad one: 422 naming the fields)."""
    stats = _stats(request)
    if stats is None:
        raise HTTPException(503, NO_STORE)
    fields = Fields(dict(request.query_params))
    q = _query(fields, datetime.now(UTC).date())
    if fields.errors:
        raise HTTPException(422, "; ".join(fields.errors))
    return stats, q


def install(app: FastAPI) -> None:
    shell.add_nav(app, "Reports", "/ui/reports", Permission.STATS_QUEUES)

    @app.get("/ui/reports", include_in_schema=False)
    async def reports_page(request: Request, user: CurrentUser) -> Response:
        stats = _stats(request)
        if stats is None:
            return shell.message(request, user, "Reports", NO_STORE, 503)
        fields = Fields(dict(request.query_params))
        q = _query(fields, datetime.now(UTC).date())
        queues: list[QueueInterval] = []
        agents: list[AgentInterval] = []
        if not fields.errors:
            try:
                queues = await stats.queue_stats(q.since, q.until, q.interval, q.queue)
                if _may_read_agents(user):
                    agents = await _agents(stats, q, user)
            except InvalidRange as exc:
                fields.errors.append(str(exc))
        query = {"from": str(q.first), "to": str(q.last), "interval": q.interval}
        if q.queue:
            query["queue"] = q.queue
        return shell.render(
            request,
            user,
            "reports.html",
            status=422 if fields.errors else 200,
            title="Reports",
            q=q,
            form=fields.raw,
            errors=fields.errors,
            intervals=INTERVALS,
            queues=queues,
            totals=per_interval(queues),
            agents=occupancy(agents),
            show_agents=_may_read_agents(user),
            charts=_charts(q, queues, agents) if not fields.errors else [],
            query=query,
        )

    @app.get("/ui/reports.csv", include_in_schema=False)
    async def queues_download(request: Request, user: CurrentUser) -> Response:
        stats, q = await _read(request)
        try:
            items = await stats.queue_stats(q.since, q.until, q.interval, q.queue)
        except InvalidRange as exc:
            raise HTTPException(422, str(exc)) from None
        return _csv(queues_csv(items), q.filename("queues"))

    @app.get("/ui/reports/agents.csv", include_in_schema=False)
    async def agents_download(request: Request, user: CurrentUser) -> Response:
        stats, q = await _read(request)
        try:
            items = await _agents(stats, q, user)
        except InvalidRange as exc:
            raise HTTPException(422, str(exc)) from None
        return _csv(agents_csv(items), q.filename("agents"))
