"""Periodic snapshots for the gauges: queues and agents from the ACD, slots from the pool.

Counters are pushed as calls end (callflow); gauges are sampled here once a second,
which costs O(queues + agents) per tick and keeps the engine's hot path free of I/O.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from sqlalchemy import text

from acd.engine import Engine
from gateway.control.alerts import RECENT_WINDOW, SEVERITY, AlertTracker
from gateway.control.clock import Clock
from gateway.control.event_writer import EventSink
from gateway.edge.manager import EdgeManager
from gateway.metrics import Metrics
from gateway.store.engine import Database
from gateway.supervisor.config import WorkerInfo
from gateway.supervisor.pool import WorkerPool

log = logging.getLogger(__name__)


def conversations_held(worker: WorkerInfo) -> int:
    """A worker's slots in use: conversations, i.e. caller legs (each with its agent leg)."""
    return (worker.legs + 1) // 2


def agent_states_by_queue(engine: Engine) -> dict[str, Counter[str]]:
    """How many member agents of each queue are in each state (one pass over agents)."""
    per_queue: dict[str, Counter[str]] = {q: Counter() for q in engine.queue_ids()}
    for agent_id in engine.agent_ids():
        view = engine.agent(agent_id)
        for queue in view.queues:
            per_queue.setdefault(queue, Counter())[view.state.value] += 1
    return per_queue


class Observer:
    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        metrics: Metrics,
        pool: WorkerPool,
        edge: EdgeManager,
        db: Database,
        callers_per_worker: int,
        kpi_window: float,
        alerts: AlertTracker | None = None,
        events: EventSink | None = None,
        interval: float = 1.0,
    ) -> None:
        self.alerts = alerts or AlertTracker({})
        self._events = events
        self._engine, self._clock, self._metrics = engine, clock, metrics
        self._pool, self._edge = pool, edge
        self._callers_per_worker = callers_per_worker
        self._window, self._interval = kpi_window, interval
        self._task: asyncio.Task[None] | None = None
        self.edge_up = False
        self._db = db
        self.database_ok = True

    def start(self) -> None:
        for queue in self._engine.queue_ids():
            self._metrics.declare_queue(queue)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception:
                log.exception("metrics sample failed")
            await asyncio.sleep(self._interval)

    async def sample(self) -> None:
        engine, now = self._engine, self._clock.now().mono
        for queue, counts in agent_states_by_queue(engine).items():
            kpis = engine.queue_kpis(queue, now, self._window)
            recent = engine.queue_kpis(queue, now, RECENT_WINDOW)  # service_level_30m
            self._metrics.observe_kpis(kpis)
            self._metrics.set_agents(queue, dict(counts))
            for crossing in self.alerts.observe(queue, kpis, recent):
                log.warning("queue %s: %s %s (%s)", queue, crossing.kpi, crossing.level,
                            crossing.value)  # fmt: skip
                if self._events is not None:
                    self._events.emit(crossing)
            levels = self.alerts.levels(queue)
            self._metrics.set_alert_levels(queue, {k: SEVERITY[v] for k, v in levels.items()})
        for worker in self._pool.workers():
            # slots are conversations: caller legs bounded by callers_per_worker
            self._metrics.set_worker(
                worker.worker_id,
                up=worker.state == "up",
                slots_in_use=conversations_held(worker),
                slots_total=self._callers_per_worker,
            )
        self.edge_up = self._edge.process.ready.is_set()
        self._metrics.set_edge_up(self.edge_up)
        self.database_ok = await self._database_answers()

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(2.0), self._db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "not answering"
            if self.database_ok:
                log.error("database not answering: %s", exc)
            return False
        return True
