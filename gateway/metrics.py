"""Prometheus metrics of the gateway, served by the control plane at ``/metrics``.

:class:`Metrics` owns its own ``CollectorRegistry`` (not prometheus-client's global
one), so each test, and each control plane in a test process, has its own values.
Only the control plane exports: workers report through IPC and the control plane sets
the gauges, so prometheus-client's multiprocess mode is not used (docs/metrics.md).

Counters are pushed as things happen (:meth:`Metrics.call_ended`); gauges are set
from snapshots (ACD KPIs, worker pool, trunk registration) whenever the control plane
has a new one. Queues, workers and trunks that go away are removed, so their series
disappear instead of freezing at the last value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

from acd.kpi import QueueKpis
from acd.states import AgentState
from gateway.events.catalogue import QueueKpi
from gateway.store.records import DISPOSITIONS

AGENT_STATES: tuple[str, ...] = tuple(state.value for state in AgentState)
ALERT_KPIS: tuple[str, ...] = get_args(QueueKpi)
TRUNK_STATES = ("disabled", "unregistered", "registering", "registered", "failed")
NO_QUEUE = ""  # label of calls that never reached a queue (unknown DID, closed, ...)


def _value(number: float | None) -> float:
    """None (no data in the window) is exported as NaN, Prometheus' "no value"."""
    return math.nan if number is None else float(number)


class Metrics:
    """All the gateway's metrics in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls = Counter(
            "contactgw_calls",
            "Calls ended, by queue and disposition",
            ["queue", "disposition"],
            registry=r,
        )
        self.queue_waiting = Gauge(
            "contactgw_queue_calls_waiting", "Calls waiting in the queue", ["queue"], registry=r
        )
        self.queue_longest_wait = Gauge(
            "contactgw_queue_longest_wait_seconds",
            "Wait of the oldest call in the queue",
            ["queue"],
            registry=r,
        )
        self.queue_agents = Gauge(
            "contactgw_queue_agents", "Member agents by state", ["queue", "state"], registry=r
        )
        self.queue_service_level = Gauge(
            "contactgw_queue_service_level_ratio",
            "Answered within the SL threshold / answered, over the KPI window",
            ["queue"],
            registry=r,
        )
        self.queue_asa = Gauge(
            "contactgw_queue_asa_seconds",
            "Average speed of answer over the KPI window",
            ["queue"],
            registry=r,
        )
        self.queue_aht = Gauge(
            "contactgw_queue_aht_seconds",
            "Average handle time (talk + wrap-up)",
            ["queue"],
            registry=r,
        )
        self.queue_occupancy = Gauge(
            "contactgw_queue_occupancy_ratio", "Busy time / staffed time", ["queue"], registry=r
        )
        self.queue_alert_level = Gauge(
            "contactgw_queue_alert_level",
            "Alert level of a queue KPI against its thresholds: 0 normal, 1 warning, 2 critical",
            ["queue", "kpi"],
            registry=r,
        )
        self.worker_up = Gauge(
            "contactgw_worker_up",
            "1 if the worker process is running and connected",
            ["worker"],
            registry=r,
        )
        self.worker_slots_in_use = Gauge(
            "contactgw_worker_slots_in_use",
            "Conversations the worker holds",
            ["worker"],
            registry=r,
        )
        self.worker_slots = Gauge(
            "contactgw_worker_slots", "Conversations the worker can hold", ["worker"], registry=r
        )
        self.trunk_registration = Gauge(
            "contactgw_trunk_registration",
            "1 for the trunk's current registration state",
            ["trunk", "state"],
            registry=r,
        )
        self.trunk_registered = Gauge(
            "contactgw_trunk_registered", "1 if the trunk is registered", ["trunk"], registry=r
        )
        self.invites_refused = Counter(
            "contactgw_worker_invites_refused_total",
            "INVITEs a worker refused before routing (e.g. 486 when full); the edge fails "
            "them over to another worker, so they are not calls of their own",
            ["worker", "code"],
            registry=r,
        )
        self.recording_failures = Counter(
            "contactgw_recording_failures_total",
            "Calls whose recording could not be finished, by reason (disk_full, io_error, "
            "bad_format, missing, encoding); the calls themselves went on",
            ["reason"],
            registry=r,
        )
        self.edge_up = Gauge(
            "contactgw_edge_up", "1 if the Kamailio edge is running and answering RPC", registry=r
        )
        self.events_published = Counter(
            "contactgw_events_published",
            "Events the broker acknowledged (PUBACK), by CloudEvents type",
            ["type"],
            registry=r,
        )
        self.events_pending = Gauge(
            "contactgw_events_pending",
            "Outbox events not yet acknowledged by the broker",
            registry=r,
        )
        self.events_broker_connected = Gauge(
            "contactgw_events_broker_connected",
            "1 while the events publisher is connected to the MQTT broker",
            registry=r,
        )
        self.db_pending_writes = Gauge(
            "contactgw_db_pending_writes",
            "Call record / agent-state writes handed to the write-behind, not yet committed",
            registry=r,
        )
        self.db_oldest_pending_write = Gauge(
            "contactgw_db_oldest_pending_write_seconds",
            "Age of the oldest write not yet committed (0 when none is pending)",
            registry=r,
        )
        self.db_write_retries = Counter(
            "contactgw_db_write_retries",
            "Write batches that failed (database locked, down, restarting) and are retried",
            registry=r,
        )
        self.db_dead_letters = Counter(
            "contactgw_db_write_dead_letters",
            "Writes the database refused for good (constraint, data), kept in the dead-letter file",
            registry=r,
        )
        self._agent_states: dict[str, set[str]] = {}

    # -- calls and queues ---------------------------------------------------------

    def declare_queue(self, queue: str) -> None:
        """Create a queue's series at zero, so rates and dashboards work before the first call."""
        for disposition in DISPOSITIONS:
            self.calls.labels(queue=queue, disposition=disposition)
        self.set_queue(queue, waiting=0, longest_wait=0.0)
        self.set_agents(queue, {})
        self.set_alert_levels(queue, {})

    def call_ended(self, *, disposition: str, queue: str | None) -> None:
        if disposition not in DISPOSITIONS:
            raise ValueError(f"unknown disposition {disposition!r}")
        self.calls.labels(queue=queue or NO_QUEUE, disposition=disposition).inc()

    def invite_refused(self, *, worker: str, code: int) -> None:
        self.invites_refused.labels(worker=worker, code=str(code)).inc()

    def recording_failed(self, reason: str) -> None:
        self.recording_failures.labels(reason=reason).inc()

    def set_queue(self, queue: str, *, waiting: int, longest_wait: float) -> None:
        self.queue_waiting.labels(queue=queue).set(waiting)
        self.queue_longest_wait.labels(queue=queue).set(longest_wait)

    def set_agents(self, queue: str, counts: Mapping[str, int]) -> None:
        """Agents of ``queue`` per state; states not in ``counts`` are set to 0."""
        states = self._agent_states.setdefault(queue, set(AGENT_STATES))
        states.update(counts)
        for state in states:
            self.queue_agents.labels(queue=queue, state=state).set(counts.get(state, 0))

    def set_queue_kpis(
        self,
        queue: str,
        *,
        service_level: float | None,
        asa: float | None,
        aht: float | None,
        occupancy: float | None = None,
    ) -> None:
        self.queue_service_level.labels(queue=queue).set(_value(service_level))
        self.queue_asa.labels(queue=queue).set(_value(asa))
        self.queue_aht.labels(queue=queue).set(_value(aht))
        self.queue_occupancy.labels(queue=queue).set(_value(occupancy))

    def set_alert_levels(self, queue: str, levels: Mapping[str, int]) -> None:
        """Every KPI's alert level (0/1/2) in ``queue``; KPIs not in ``levels`` are 0."""
        for kpi in ALERT_KPIS:
            self.queue_alert_level.labels(queue=queue, kpi=kpi).set(levels.get(kpi, 0))

    def observe_kpis(self, kpis: QueueKpis) -> None:
        """Set every queue gauge from one ACD KPI snapshot."""
        self.set_queue(
            kpis.queue_id, waiting=kpis.waiting, longest_wait=kpis.longest_waiting_seconds
        )
        self.set_queue_kpis(
            kpis.queue_id,
            service_level=kpis.service_level,
            asa=kpis.asa_seconds,
            aht=kpis.aht_seconds,
            occupancy=kpis.occupancy,
        )

    def remove_queue(self, queue: str) -> None:
        for gauge in (
            self.queue_waiting,
            self.queue_longest_wait,
            self.queue_service_level,
            self.queue_asa,
            self.queue_aht,
            self.queue_occupancy,
        ):
            _forget(gauge, queue)
        for state in self._agent_states.pop(queue, set()):
            _forget(self.queue_agents, queue, state)
        for kpi in ALERT_KPIS:
            _forget(self.queue_alert_level, queue, kpi)

    # -- workers, trunks, edge ----------------------------------------------------

    def set_worker(self, worker: str, *, up: bool, slots_in_use: int, slots_total: int) -> None:
        self.worker_up.labels(worker=worker).set(1 if up else 0)
        self.worker_slots_in_use.labels(worker=worker).set(slots_in_use)
        self.worker_slots.labels(worker=worker).set(slots_total)

    def remove_worker(self, worker: str) -> None:
        for gauge in (self.worker_up, self.worker_slots_in_use, self.worker_slots):
            _forget(gauge, worker)

    def set_trunk_registration(self, trunk: str, state: str) -> None:
        if state not in TRUNK_STATES:
            raise ValueError(f"unknown trunk state {state!r} (one of {', '.join(TRUNK_STATES)})")
        for candidate in TRUNK_STATES:
            self.trunk_registration.labels(trunk=trunk, state=candidate).set(
                1 if candidate == state else 0
            )
        self.trunk_registered.labels(trunk=trunk).set(1 if state == "registered" else 0)

    def remove_trunks(self, trunks: Iterable[str]) -> None:
        for trunk in trunks:
            _forget(self.trunk_registered, trunk)
            for state in TRUNK_STATES:
                _forget(self.trunk_registration, trunk, state)

    def set_edge_up(self, up: bool) -> None:
        self.edge_up.set(1 if up else 0)

    # -- events ---------------------------------------------------------------------

    def events_acknowledged(self, types: Iterable[str]) -> None:
        """One count per acknowledged event, by its type."""
        for event_type in types:
            self.events_published.labels(type=event_type).inc()

    def set_events_pending(self, count: int) -> None:
        self.events_pending.set(count)

    def set_events_broker_connected(self, connected: bool) -> None:
        self.events_broker_connected.set(1 if connected else 0)

    # -- write-behind of records -----------------------------------------------------

    def watch_db_writes(self, pending: Callable[[], float], oldest: Callable[[], float]) -> None:
        """Read the write-behind's backlog at each scrape (nothing to do per write)."""
        self.db_pending_writes.set_function(pending)
        self.db_oldest_pending_write.set_function(oldest)

    def db_write_retried(self) -> None:
        self.db_write_retries.inc()

    def db_write_dead_lettered(self) -> None:
        self.db_dead_letters.inc()

    # -- exposition ---------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The text exposition and its content type, for the ``/metrics`` route."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _forget(metric: Gauge, *labels: str) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass
