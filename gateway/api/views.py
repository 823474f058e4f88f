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
class WritesHealth:
    """Call record / agent-state writes not yet in the database (kept and retried):
    `degraded` once the oldest has waited `database.pending_writes_degraded_after`."""

    pending: int
    oldest_pending_seconds: float
    retries: int
    dead_letters: int
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class RecordingsHealth:
    """Recordings that could not be finished since start (docs/recordings.md). `failing`:
    the storage failed the last recorded call (full disk, I/O error), so the gateway is
    `degraded` until a recording is finished again; the calls themselves go on."""

    failures: int
    failing: bool
    last_reason: str | None = None
    last_call_id: str | None = None
    last_detail: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    status: str  # "ok" | "degraded" | "starting" | "stopping"
    edge_up: bool
    database_ok: bool
    workers: WorkersHealth
    trunks: list[TrunkHealth] = field(default_factory=list)
    events: EventsHealth | None = None
    writes: WritesHealth | None = None
    recordings: RecordingsHealth | None = None


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


# --------------------------------------------------------------------------- wallboard
@dataclass(frozen=True, slots=True)
class DayCount:
    """A queue's calls answered today, and how many within its SL threshold (an input
    of the wallboard, read from the call records by the API's feed)."""

    answered: int
    within_sl: int
    held: int = 0  # answered calls put on hold
    hold_seconds: float = 0.0  # their time on hold


@dataclass(frozen=True, slots=True)
class KpiTile:
    """One queue KPI, its alert level and the thresholds behind it (null: none set)."""

    value: float | None  # null: nothing to measure yet (no call in the window)
    level: str  # "normal" | "warning" | "critical"
    warning: float | None
    critical: float | None


@dataclass(frozen=True, slots=True)
class WallboardQueue:
    name: str
    waiting: int
    longest_wait_seconds: float
    oldest_waiting_since: str | None  # ISO 8601: the page ticks the wait from it
    service_level: float | None  # over acd.kpi_window
    service_level_30m: float | None
    service_level_today: float | None  # since 00:00 UTC, from the call records
    answered_today: int | None  # null: no call records store
    asa_seconds: float | None
    aht_seconds: float | None
    abandon_rate: float | None
    offered: int
    answered: int
    abandoned: int
    agents_logged_in: int
    agents_available: int
    agents_ringing: int
    agents_on_call: int
    agents_wrap_up: int
    agents_paused: int
    kpis: dict[str, KpiTile]  # by KPI name: waiting, longest_wait, service_level...
    # mean hold time of today's held calls (null: none held, or no call records store)
    avg_hold_seconds_today: float | None = None


@dataclass(frozen=True, slots=True)
class WallboardAgent:
    id: str
    name: str
    state: str
    state_since: str | None  # ISO 8601; null: no change seen since the gateway started
    seconds_in_state: float | None
    pause_reason: str | None
    queues: list[str]
    call_id: str | None
    call_queue: str | None
    call_wait_seconds: float | None  # the caller's wait before answer (or so far)
    call_answered_at: str | None  # ISO 8601
    call_talk_seconds: float | None
    call_arrived_at: str | None = None  # ISO 8601: the page ticks the wait of a ringing call


@dataclass(frozen=True, slots=True)
class Wallboard:
    at: str  # ISO 8601, when the snapshot was taken
    kpi_window_seconds: float
    queues: list[WallboardQueue]
    agents: list[WallboardAgent]
