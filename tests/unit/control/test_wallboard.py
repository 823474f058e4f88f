"""The wallboard read model with a stepped clock: a caller waits with nobody to answer,
the longest-wait tile goes warning then critical (the tracker's levels, the same that
emit the events and set the gauge), an agent answers and it goes back to normal; time
in state, the call's wait and talk time; the fingerprint moves only on a real change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import acd
from acd import events as ev
from acd.engine import Engine
from gateway.control import build
from gateway.control.alerts import AlertTracker, Thresholds
from gateway.control.observer import Observer
from gateway.control.session import CallSession
from gateway.control.wallboard import DayCount, Sources, build_wallboard, fingerprint
from gateway.events.catalogue import QueueKpi, QueueThresholdCrossed
from gateway.metrics import Metrics
from gateway.settings import SettingsError, parse_settings
from gateway.store.engine import Database
from tests.support.clock import ManualClock

RULES: dict[str, dict[QueueKpi, Thresholds]] = {
    "sales": {
        "longest_wait": Thresholds(warning=2.0, critical=3.0),
        "service_level_30m": Thresholds(warning=0.8, critical=0.5),
        "asa": Thresholds(warning=10.0, critical=20.0),
    }
}


class Board:
    """An engine with one queue and one agent, and the wallboard's other sources."""

    def __init__(self, rules: dict[str, dict[QueueKpi, Thresholds]]) -> None:
        self.clock = ManualClock()
        self.engine = Engine()
        self.engine.handle(ev.AddQueue(acd.QueueConfig("sales", wrap_up=5.0)), self.now.mono)
        self.engine.handle(ev.AddAgent(acd.AgentConfig("a1", queues=("sales",))), self.now.mono)
        self.alerts = AlertTracker(lambda: rules)  # read on every sample: live edits
        self.calls: dict[str, CallSession] = {}
        self.since: dict[str, float] = {}
        self.today: dict[str, DayCount] | None = {"sales": DayCount(answered=4, within_sl=3)}

    @property
    def now(self) -> Any:
        return self.clock.now()

    def step(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.engine.handle_timer(self.now.mono)

    def feed(self, event: ev.Event) -> None:
        for command in self.engine.handle(event, self.now.mono):
            if isinstance(command, acd.commands.AgentStateChanged):
                self.since[command.agent_id] = self.now.mono

    def observe(self) -> list[QueueThresholdCrossed]:
        """What the observer does every second."""
        mono = self.now.mono
        k = self.engine.queue_kpis("sales", mono, 3600)
        return self.alerts.observe("sales", k, self.engine.queue_kpis("sales", mono, 1800))

    def snapshot(self) -> Any:
        src = Sources(self.engine, self.alerts, {"a1": "Ann"}, self.calls, self.since.get,
                      3600, self.today)  # fmt: skip
        return build_wallboard(src, self.now)


def test_a_waiting_call_turns_the_tile_critical_and_an_answer_turns_it_back() -> None:
    b = Board(RULES)
    b.feed(ev.CallArrived("c1", "sales"))
    session = CallSession("c1", "sip-1", "w1", "w1-in-1", "+1555", "+1666", None, b.now.wall)
    session.queue = "sales"
    b.calls["c1"] = session

    b.step(1.0)
    assert b.observe() == []
    (q,) = b.snapshot().queues
    assert (q.waiting, q.longest_wait_seconds, q.kpis["longest_wait"].level) == (1, 1.0, "normal")
    assert q.oldest_waiting_since == (b.now.wall - timedelta(seconds=1)).isoformat(
        timespec="milliseconds"
    )
    assert (q.agents_logged_in, q.agents_available) == (0, 0)

    b.step(1.5)
    (warn,) = b.observe()
    assert (warn.kpi, warn.level) == ("longest_wait", "warning")
    tile = b.snapshot().queues[0].kpis["longest_wait"]
    assert (tile.level, tile.value, tile.warning, tile.critical) == ("warning", 2.5, 2.0, 3.0)

    b.step(1.0)
    (crit,) = b.observe()
    assert crit.level == "critical"
    assert b.snapshot().queues[0].kpis["longest_wait"].level == "critical"

    b.feed(ev.AgentLogin("a1"))  # offered at once
    assert b.snapshot().agents[0].state == "offered"
    b.step(0.5)
    b.feed(ev.OfferAnswered("c1", "a1"))
    session.answered_at = b.now.wall
    crossings = b.observe()
    assert [(c.kpi, c.level) for c in crossings] == [
        ("longest_wait", "cleared"),  # the others had no level yet: nothing to clear
    ]
    b.step(3.0)
    board = b.snapshot()
    (q,) = board.queues
    assert q.kpis["longest_wait"].level == "normal" and q.waiting == 0
    assert q.oldest_waiting_since is None
    assert (q.agents_logged_in, q.agents_on_call, q.answered) == (1, 1, 1)
    assert q.asa_seconds == pytest.approx(4.0) and q.kpis["asa"].value == pytest.approx(4.0)
    assert q.service_level_30m == 1.0 and q.service_level == 1.0
    assert (q.service_level_today, q.answered_today) == (0.75, 4)
    (agent,) = board.agents
    assert (agent.name, agent.state, agent.call_id, agent.call_queue) == (
        "Ann", "on-call", "c1", "sales",
    )  # fmt: skip
    assert (agent.call_wait_seconds, agent.call_talk_seconds, agent.seconds_in_state) == (
        4.0, 3.0, 3.0,
    )  # fmt: skip


def test_time_in_state_pause_reason_and_unknown_since() -> None:
    b = Board(RULES)
    b.today = None  # no call records store
    board = b.snapshot()
    (agent,) = board.agents
    assert (agent.state, agent.state_since, agent.seconds_in_state) == ("logged-out", None, None)
    assert board.queues[0].answered_today is None and board.queues[0].service_level_today is None
    b.feed(ev.AgentLogin("a1"))
    b.step(2.0)
    b.feed(ev.AgentPause("a1", "lunch"))
    b.step(7.25)
    (agent,) = b.snapshot().agents
    assert (agent.state, agent.pause_reason, agent.seconds_in_state) == ("paused", "lunch", 7.25)
    q = b.snapshot().queues[0]
    assert (q.agents_logged_in, q.agents_paused, q.agents_available) == (1, 1, 0)


def test_fingerprint_ignores_the_ticking_fields_and_sees_a_change() -> None:
    b = Board(RULES)
    b.feed(ev.CallArrived("c1", "sales"))
    b.step(0.5)
    first = fingerprint(b.snapshot())
    b.step(1.0)  # the wait grew, nothing else happened
    assert fingerprint(b.snapshot()) == first
    b.step(1.0)
    b.observe()  # 2.5 s: warning
    assert fingerprint(b.snapshot()) != first


def test_thresholds_edited_live_apply_on_the_next_sample_and_removed_ones_clear() -> None:
    rules: dict[str, dict[QueueKpi, Thresholds]] = {"sales": {}}
    b = Board(rules)
    b.feed(ev.CallArrived("c1", "sales"))
    b.step(5.0)
    assert b.observe() == []  # no threshold yet
    rules["sales"] = {"waiting": Thresholds(warning=1, critical=2)}
    (warn,) = b.observe()
    assert (warn.kpi, warn.level, warn.threshold) == ("waiting", "warning", 1)
    assert b.snapshot().queues[0].kpis["waiting"].warning == 1
    rules["sales"] = {}
    (cleared,) = b.observe()
    assert (cleared.kpi, cleared.level, cleared.threshold) == ("waiting", "cleared", None)
    tile = b.snapshot().queues[0].kpis["waiting"]
    assert (tile.level, tile.warning, tile.critical) == ("normal", None, None)


def test_the_new_kpis_have_their_direction() -> None:
    """SL over 30 minutes is worse when lower; ASA and AHT when higher."""
    b = Board(
        {
            "sales": {
                "service_level_30m": Thresholds(warning=0.8, critical=0.5),
                "aht": Thresholds(warning=3.0, critical=6.0),
            }
        }
    )
    b.feed(ev.AgentLogin("a1"))
    b.feed(ev.CallArrived("c1", "sales"))
    b.step(30.0)  # answered after 30 s: outside the 20 s SL threshold
    b.feed(ev.OfferAnswered("c1", "a1"))
    b.step(4.0)
    b.feed(ev.ConversationEnded("c1"))
    b.step(5.0)  # wrap-up over: handle time 4 + 5 = 9 s
    levels = {(c.kpi, c.level) for c in b.observe()}
    assert levels == {("service_level_30m", "critical"), ("aht", "critical")}


async def test_observer_sets_the_alert_level_gauge_from_the_same_tracker(tmp_path: Path) -> None:
    b = Board(RULES)
    b.feed(ev.CallArrived("c1", "sales"))
    b.step(3.5)
    metrics, emitted = Metrics(), []
    metrics.declare_queue("sales")
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}")
    fake_edge: Any = SimpleNamespace(process=SimpleNamespace(ready=SimpleNamespace(is_set=lambda: True)))  # fmt: skip
    fake_pool: Any = SimpleNamespace(workers=list)
    sink: Any = SimpleNamespace(emit=emitted.append)
    observer = Observer(engine=b.engine, clock=b.clock, metrics=metrics, pool=fake_pool,
                        edge=fake_edge, db=db, callers_per_worker=2, kpi_window=3600,
                        alerts=b.alerts, events=sink)  # fmt: skip
    try:
        await observer.sample()
    finally:
        await db.close()
    assert [(e.kpi, e.level) for e in emitted] == [("longest_wait", "critical")]
    text = metrics.render()[0].decode()
    assert 'contactgw_queue_alert_level{kpi="longest_wait",queue="sales"} 2.0' in text
    assert 'contactgw_queue_alert_level{kpi="asa",queue="sales"} 0.0' in text
    assert b.snapshot().queues[0].kpis["longest_wait"].level == "critical"
    metrics.remove_queue("sales")
    assert "contactgw_queue_alert_level{" not in metrics.render()[0].decode()


@pytest.mark.parametrize(
    ("kpi", "warning", "critical", "side"),
    [
        ("service_level_30m", 0.5, 0.8, "below"),
        ("asa", 30, 10, "above"),
        ("aht", 300, 200, "above"),
    ],
)
def test_new_thresholds_the_wrong_way_round_name_the_kpi(
    kpi: str, warning: float, critical: float, side: str
) -> None:
    text = f"queues:\n  sales:\n    alerts:\n      {kpi}: {{warning: {warning}, critical: {critical}}}\n"
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})
    assert f"{kpi}: critical must be {side} warning" in str(caught.value)


def test_new_thresholds_reach_the_alert_rules() -> None:
    text = "queues:\n  sales:\n    alerts:\n      asa: {warning: 15}\n      service_level_30m: {critical: 0.5}\n"
    settings = parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})
    assert build.alert_rules(settings) == {
        "sales": {"service_level_30m": Thresholds(None, 0.5), "asa": Thresholds(15, None)}
    }
