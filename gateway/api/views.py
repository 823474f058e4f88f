"""Read models the API returns: plain frozen dataclasses, built by the control plane.

The API never sees engine objects, ORM rows or worker handles; the control plane
translates its state into these views (and the OpenAPI schema is derived from them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TrunkHealth:
    name: str
    register: bool
    registered: bool
    worker: str | None
    last_code: int | None
    last_reason: str


@dataclass(frozen=True, slots=True)
class WorkersHealth:
    up: int
    total: int
    slots_in_use: int
    slots_total: int


@dataclass(frozen=True, slots=True)
class EventsHealth:
    """The publisher of call events: a broker outage delays events, never loses them,
    so it does not make the gateway `degraded`."""

    publishing: bool  # false with mqtt.enabled: false
    broker_connected: bool
    pending: int
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    status: str  # "ok" | "degraded" | "starting" | "stopping"
    edge_up: bool
    database_ok: bool
    workers: WorkersHealth
    trunks: list[TrunkHealth] = field(default_factory=list)
    events: EventsHealth | None = None


@dataclass(frozen=True, slots=True)
class AgentStatus:
    id: str
    name: str
    state: str
    pause_reason: str | None
    queues: list[str]
    registered: bool
    current_call: str | None


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    waiting: int
    longest_wait_seconds: float
    agents_available: int
    agents_logged_in: int
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    asa_seconds: float | None
    aht_seconds: float | None


@dataclass(frozen=True, slots=True)
class ActiveCall:
    id: str
    did: str
    caller: str
    queue: str | None
    state: str
    agent: str | None
    worker: str
    arrived_at: str
