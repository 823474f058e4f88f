"""The control plane as the API sees it: views built from the engine, pool and store."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from acd.engine import Engine
from gateway.api.views import (
    ActiveCall,
    AgentStatus,
    EventsHealth,
    Health,
    QueueView,
    RecordingsHealth,
    Wallboard,
    WorkersHealth,
    WritesHealth,
)
from gateway.control.clock import Clock
from gateway.control.errors import NotFound
from gateway.control.observer import Observer, agent_states_by_queue, conversations_held
from gateway.control.phases import LIVE
from gateway.control.presence import Presence
from gateway.control.recording import RecordingFinalizer
from gateway.control.switchboard import CallIndex
from gateway.control.trunks import Trunks
from gateway.control.wallboard import DayCount, Sources, build_wallboard
from gateway.events.service import EventsService
from gateway.metrics import Metrics
from gateway.store.cdr import CdrStore
from gateway.store.search import recording_paths
from gateway.store.write_behind import WriteBehind
from gateway.supervisor.pool import WorkerPool


class ApiFacade:
    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        presence: Presence,
        pool: WorkerPool,
        trunks: Trunks,
        calls: CallIndex,
        cdr: CdrStore,
        metrics: Metrics,
        observer: Observer,
        agent_names: dict[str, str],
        callers_per_worker: int,
        kpi_window: float,
        events: EventsService | None = None,
        writes: WriteBehind | None = None,
        writes_degraded_after: float = 30.0,
        agent_since: Callable[[str], float | None] = lambda _agent: None,
        recordings: RecordingFinalizer | None = None,
    ) -> None:
        self._events = events
        self._recordings = recordings
        self._writes, self._writes_bound = writes, writes_degraded_after
        self._agent_since = agent_since
        self._engine, self._clock, self._presence = engine, clock, presence
        self._pool, self._trunks, self._calls = pool, trunks, calls
        self._cdr, self._metrics, self._observer = cdr, metrics, observer
        self._names = agent_names
        self._callers_per_worker = callers_per_worker
        self._window = kpi_window
        self.phase = "starting"

    def health(self) -> Health:
        workers = self._pool.workers()
        up = [w for w in workers if w.state == "up"]
        report = WorkersHealth(
            up=len(up),
            total=len(workers),
            slots_in_use=sum(conversations_held(w) for w in up),
            slots_total=len(up) * self._callers_per_worker,
        )
        trunks = self._trunks.health()
        healthy = (
            self._observer.edge_up
            and up
            and self._observer.database_ok
            and self._trunks.all_registered()
            and not self._writes_late()
            and not (self._recordings is not None and self._recordings.failing)
        )
        status = self.phase if self.phase != "running" else ("ok" if healthy else "degraded")
        return Health(
            status=status,
            edge_up=self._observer.edge_up,
            database_ok=self._observer.database_ok,
            workers=report,
            trunks=trunks,
            events=self._events_health(),
            writes=self._writes_health(),
            recordings=self._recordings_health(),
        )

    def _recordings_health(self) -> RecordingsHealth | None:
        if (f := self._recordings) is None:
            return None
        last = f.last_failure
        if last is None:
            return RecordingsHealth(f.failures, f.failing)
        return RecordingsHealth(f.failures, f.failing, last.reason, last.call_id, last.detail)

    def _writes_late(self) -> bool:
        return self._writes is not None and (
            self._writes.oldest_pending_seconds() > self._writes_bound
        )

    def _writes_health(self) -> WritesHealth | None:
        if self._writes is None:
            return None
        w = self._writes.state()
        return WritesHealth(
            w.pending, round(w.oldest_pending_seconds, 3), w.retries, w.dead_letters, w.last_error
        )

    def _events_health(self) -> EventsHealth | None:
        if self._events is None:
            return None
        state = self._events.state
        if state is None:
            return EventsHealth(publishing=False, broker_connected=False, pending=0)
        return EventsHealth(True, state.connected, state.pending, state.last_error)

    def metrics_exposition(self) -> tuple[bytes, str]:
        return self._metrics.render()

    # ------------------------------------------------------------------ agents
    def _agent_status(self, agent_id: str) -> AgentStatus:
        if agent_id not in self._names:
            raise NotFound(f"no agent {agent_id!r}")
        view = self._engine.agent(agent_id)
        return AgentStatus(
            id=agent_id,
            name=self._names[agent_id],
            state=view.state.value,
            pause_reason=view.pause_reason or None,
            queues=list(view.queues),
            registered=agent_id in self._presence.registered,
            current_call=view.call_id or view.offered_call,
        )

    def agents(self) -> list[AgentStatus]:
        return [self._agent_status(a) for a in sorted(self._names)]

    def agent(self, agent_id: str) -> AgentStatus:
        return self._agent_status(agent_id)

    def login_agent(self, agent_id: str) -> AgentStatus:
        self._presence.login(agent_id)
        return self._agent_status(agent_id)

    def logout_agent(self, agent_id: str) -> AgentStatus:
        self._presence.logout(agent_id)
        return self._agent_status(agent_id)

    def pause_agent(self, agent_id: str, reason: str) -> AgentStatus:
        self._presence.pause(agent_id, reason)
        return self._agent_status(agent_id)

    def unpause_agent(self, agent_id: str) -> AgentStatus:
        self._presence.unpause(agent_id)
        return self._agent_status(agent_id)

    def ready_agent(self, agent_id: str) -> AgentStatus:
        self._presence.ready(agent_id)
        return self._agent_status(agent_id)

    # ------------------------------------------------------------------ queues and calls
    def queues(self) -> list[QueueView]:
        now, out = self._clock.now().mono, []
        states_by_queue = agent_states_by_queue(self._engine)
        for queue in sorted(self._engine.queue_ids()):
            k = self._engine.queue_kpis(queue, now, self._window)
            states = states_by_queue[queue]
            out.append(
                QueueView(
                    name=queue,
                    waiting=k.waiting,
                    longest_wait_seconds=k.longest_waiting_seconds,
                    agents_available=states["available"],
                    agents_logged_in=sum(states.values()) - states["logged-out"],
                    offered=k.offered,
                    answered=k.answered,
                    abandoned=k.abandoned,
                    service_level=k.service_level,
                    asa_seconds=k.asa_seconds,
                    aht_seconds=k.aht_seconds,
                )
            )
        return out

    def wallboard(self, today: Mapping[str, DayCount] | None = None) -> Wallboard:
        """The wallboard snapshot now (`today`: answered calls per queue since 00:00 UTC)."""
        sources = Sources(
            engine=self._engine,
            alerts=self._observer.alerts,
            names=self._names,
            calls={s.call_id: s for s in self._calls.sessions()},
            agent_since=self._agent_since,
            kpi_window=self._window,
            today=today,
        )
        return build_wallboard(sources, self._clock.now())

    def active_calls(self) -> list[ActiveCall]:
        return [
            ActiveCall(
                id=s.call_id,
                did=s.did,
                caller=s.caller,
                queue=s.queue,
                state=s.phase.value,
                agent=s.connected.agent_id if s.connected else None,
                worker=s.worker_id,
                arrived_at=s.arrived_at.isoformat(),
            )
            for s in self._calls.sessions()
            if s.phase in LIVE
        ]

    async def recording_file(self, call_id: str, role: str | None) -> Path:
        """The recording file of a finished call (`role` None: the best one there is)."""
        try:
            key = uuid.UUID(call_id)
        except ValueError:
            raise NotFound(f"no call {call_id!r}") from None
        row = await self._cdr.get_call(key)
        if row is None:
            raise NotFound(f"no call {call_id!r}")
        files: dict[str, str] = {str(k): v for k, v in recording_paths(row).items()}
        wanted = [role] if role else ["stereo", "voicemail", "caller"]
        for name in wanted:
            path = files.get(name)
            if path and Path(path).is_file():
                return Path(path)
        raise NotFound(f"call {call_id} has no {role or ''} recording".replace("  ", " "))

    async def call_records(self, limit: int) -> list[dict[str, Any]]:
        rows = await self._cdr.calls(limit=limit)
        out = []
        for row in rows:
            data = asdict(row)
            data["id"] = str(row.id)
            for key, value in data.items():
                if hasattr(value, "isoformat"):
                    data[key] = value.isoformat()
            data["offers"] = [
                {"agent": o.agent, "result": o.result, "sip_code": o.sip_code}
                for o in await self._cdr.offers(row.id)
            ]
            out.append(data)
        return out
