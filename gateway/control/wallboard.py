"""The wallboard's read model: per queue KPIs with their alert levels, per agent state.

Pure: `build_wallboard` is given the engine, `now` and the other sources and reads
them; nothing here keeps state or reads a clock. The levels are the `AlertTracker`'s
(the same object that emits `queue.threshold_crossed` and sets the alert-level gauge),
so the wallboard can never disagree with the events; the tracker's `cleared` is shown
as `normal`. Durations that grow by themselves (longest wait, time in state, talk
time) come with the instant they started, so a page can tick them without asking, and
`fingerprint` leaves them out: a stream sends a snapshot only when something changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from acd.engine import Engine
from gateway.api.views import DayCount, KpiTile, Wallboard, WallboardAgent, WallboardQueue
from gateway.control.alerts import KPIS, RECENT_WINDOW, AlertTracker, kpi_values
from gateway.control.clock import Instant
from gateway.control.observer import agent_states_by_queue
from gateway.control.session import CallSession

__all__ = ["DayCount", "Sources", "build_wallboard", "fingerprint"]

# fields that change every instant without any event: not part of the fingerprint
TICKING = frozenset(
    {"at", "longest_wait_seconds", "seconds_in_state", "call_wait_seconds", "call_talk_seconds"}
)


@dataclass(frozen=True, slots=True)
class Sources:
    engine: Engine
    alerts: AlertTracker
    names: Mapping[str, str]  # agent id -> display name
    calls: Mapping[str, CallSession]  # live calls by call id
    agent_since: Callable[[str], float | None]  # monotonic instant of the last change
    kpi_window: float
    today: Mapping[str, DayCount] | None = None  # None: no call records store


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")


def _seconds(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0.0), 3)


def _queue(src: Sources, queue: str, now: Instant, states: Mapping[str, int]) -> WallboardQueue:
    k = src.engine.queue_kpis(queue, now.mono, src.kpi_window)
    recent = src.engine.queue_kpis(queue, now.mono, RECENT_WINDOW)
    values = kpi_values(k, recent)
    rules = src.alerts.thresholds(queue)
    tiles: dict[str, KpiTile] = {}
    for kpi in KPIS:
        level = src.alerts.level(queue, kpi)
        t = rules.get(kpi)
        tiles[kpi] = KpiTile(
            value=values[kpi],
            level="normal" if level == "cleared" else level,
            warning=t.warning if t else None,
            critical=t.critical if t else None,
        )
    day = src.today.get(queue, DayCount(0, 0)) if src.today is not None else None
    oldest = now.wall - timedelta(seconds=k.longest_waiting_seconds) if k.waiting else None
    return WallboardQueue(
        name=queue,
        waiting=k.waiting,
        longest_wait_seconds=round(k.longest_waiting_seconds, 3),
        oldest_waiting_since=_iso(oldest) if oldest else None,
        service_level=k.service_level,
        service_level_30m=recent.service_level,
        service_level_today=(day.within_sl / day.answered if day and day.answered else None),
        answered_today=day.answered if day else None,
        asa_seconds=k.asa_seconds,
        aht_seconds=k.aht_seconds,
        abandon_rate=values["abandon_rate"],
        offered=k.offered,
        answered=k.answered,
        abandoned=k.abandoned,
        agents_logged_in=sum(states.values()) - states.get("logged-out", 0),
        agents_available=states.get("available", 0),
        agents_ringing=states.get("offered", 0),
        agents_on_call=states.get("on-call", 0),
        agents_wrap_up=states.get("wrap-up", 0),
        agents_paused=states.get("paused", 0),
        kpis=tiles,
        avg_hold_seconds_today=round(day.hold_seconds / day.held, 3) if day and day.held else None,
    )


def _agent(src: Sources, agent_id: str, now: Instant) -> WallboardAgent:
    view = src.engine.agent(agent_id)
    since_mono = src.agent_since(agent_id)
    since = now.wall - timedelta(seconds=now.mono - since_mono) if since_mono is not None else None
    call_id = view.call_id or view.offered_call
    s = src.calls.get(call_id) if call_id else None
    wait = talk = None
    if s is not None:
        wait = _seconds((s.answered_at or now.wall) - s.arrived_at)
        if s.answered_at is not None:
            talk = _seconds((s.ended_at or now.wall) - s.answered_at)
    return WallboardAgent(
        id=agent_id,
        name=src.names.get(agent_id, agent_id),
        state=view.state.value,
        state_since=_iso(since) if since else None,
        seconds_in_state=_seconds(now.wall - since) if since else None,
        pause_reason=view.pause_reason or None,
        queues=list(view.queues),
        call_id=call_id,
        call_queue=s.queue if s else None,
        call_wait_seconds=wait,
        call_answered_at=_iso(s.answered_at) if s and s.answered_at else None,
        call_talk_seconds=talk,
        call_arrived_at=_iso(s.arrived_at) if s else None,
    )


def build_wallboard(src: Sources, now: Instant) -> Wallboard:
    states = agent_states_by_queue(src.engine)
    known = set(src.engine.agent_ids())
    return Wallboard(
        at=_iso(now.wall),
        kpi_window_seconds=src.kpi_window,
        queues=[_queue(src, q, now, states[q]) for q in sorted(src.engine.queue_ids())],
        agents=[_agent(src, a, now) for a in sorted(src.names) if a in known],
    )


def fingerprint(board: Wallboard) -> Any:
    """The snapshot without the fields that tick by themselves (see the module doc);
    two snapshots with equal fingerprints show the same thing, a page ticks the rest."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TICKING}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    data = strip(asdict(board))
    for q in data["queues"]:
        q["kpis"]["longest_wait"].pop("value")  # ticks like longest_wait_seconds
    return data
