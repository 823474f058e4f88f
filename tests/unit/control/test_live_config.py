"""Live routing changes: the change set (pure), and LiveConfig on the real switchboard,
engine, driver and SQLite store with a stepped clock (calls waiting, talking, removed)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from acd import events as ev
from acd.engine import Engine
from acd.model import AgentConfig, Strategy
from acd.states import AgentState, CallState
from gateway.control import build
from gateway.control.announcements import PromptSet
from gateway.control.driver import CallDriver
from gateway.control.live_config import LiveConfig, Refused, plan
from gateway.control.phases import Phase
from gateway.control.switchboard import Switchboard
from gateway.ipc import protocol as p
from gateway.metrics import Metrics
from gateway.settings import RoutingSettings, Settings, load_settings
from gateway.store.cdr import CdrStore
from gateway.store.engine import Database
from gateway.store.migrate import migrate
from gateway.store.outbox import OutboxStore
from gateway.store.routing_repo import RoutingRepository
from routing import ToQueue, build_routing_table, resolve
from tests.support.clock import ManualClock
from tests.unit.control.conftest import PROMPTS, FakePool, Rig

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "contactgw.yaml"
L = p.LegState
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [
        {"number": "+15550100100", "queue": "sales"},
        {"number": "+15550100200", "queue": "support"},
    ],
    "default_route": {"announcement": "not_in_service"},
    "queues": {
        "sales": {"wrapup": 5},
        "support": {"strategy": "round-robin", "skills": {"english": 5}},
    },
    "agents": {
        "alice": {"password": "alice-secret", "queues": ["sales"]},
        "bob": {"password": "bob-secret", "queues": ["support"], "skills": {"english": 3}},
    },
}


def routing(**changes: Any) -> RoutingSettings:
    """ROUTING with top-level keys replaced (deep copies: tests edit freely)."""
    data = copy.deepcopy(ROUTING)
    data.update(copy.deepcopy(changes))
    return RoutingSettings.model_validate(data)


def edited(edit: Any) -> RoutingSettings:
    data = copy.deepcopy(ROUTING)
    edit(data)
    return RoutingSettings.model_validate(data)


@pytest.fixture(scope="module")
def base() -> Settings:
    return build.with_routing(load_settings(EXAMPLE, environ={}), routing())


def change(base: Settings, new: RoutingSettings, waiting: dict[str, int] | None = None) -> Any:
    old = base.routing
    return plan(
        base,
        old,
        new,
        engine_queues=set(old.queues),
        engine_agents=set(old.agents),
        waiting=waiting or {},
    )


# ---------------------------------------------------------------------- the change set
def test_the_same_routing_changes_nothing(base: Settings) -> None:
    c = change(base, routing())
    assert (c.events, c.removed_agents, c.credentials, c.new_queues) == ((), (), (), ())
    assert c.auto_login == {"alice": True, "bob": True}


def test_a_new_did_and_queue_and_agent(base: Settings) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["queues"]["vip"] = {"ring_timeout": 12}
        d["dids"].append({"number": "+15550100300", "queue": "vip"})
        d["agents"]["carol"] = {"password": "carol-secret", "queues": ["vip"]}

    c = change(base, edited(edit))
    assert c.events == (
        ev.AddQueue(build.queue_config("vip", edited(edit).queues["vip"])),
        ev.AddAgent(AgentConfig("carol", queues=("vip",))),
    )
    assert c.credentials == (("carol", "carol-secret"),)
    assert c.new_queues == ("vip",)
    now = datetime(2026, 12, 1, 16, tzinfo=UTC)
    decision = resolve("sip:+15550100300@gw", None, c.table, now)
    assert isinstance(decision, ToQueue) and decision.queue == "vip"
    assert "vip" in c.flow.queue_media


def test_strategy_and_skills_are_one_update_of_that_queue(base: Settings) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["queues"]["support"] = {"strategy": "linear", "skills": {"english": 2}}

    (update,) = change(base, edited(edit)).events
    assert isinstance(update, ev.UpdateQueue)
    assert update.config.strategy is Strategy.LINEAR
    assert dict(update.config.required_skills) == {"english": 2}


def test_a_changed_password_is_a_credential_not_an_engine_event(base: Settings) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["agents"]["bob"]["password"] = "new-secret"

    c = change(base, edited(edit))
    assert (c.events, c.credentials) == ((), (("bob", "new-secret"),))


def test_a_removed_agent_leaves_its_queues_and_retires(base: Settings) -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["agents"]["bob"]

    c = change(base, edited(edit))
    assert c.events == (ev.UpdateAgent(AgentConfig("bob")),)
    assert c.removed_agents == ("bob",)
    assert c.auto_login == {"alice": True}


def test_an_empty_queue_is_removed_after_its_agents_left_it(base: Settings) -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["queues"]["support"]
        d["dids"] = d["dids"][:1]
        d["agents"]["bob"]["queues"] = ["sales"]

    c = change(base, edited(edit), waiting={"support": 0})
    assert [type(e).__name__ for e in c.events] == ["UpdateAgent", "RemoveQueue"]
    assert c.events[-1] == ev.RemoveQueue("support")


def test_a_queue_with_waiting_calls_is_not_removed(base: Settings) -> None:
    def edit(d: dict[str, Any]) -> None:
        del d["queues"]["support"]
        d["dids"] = d["dids"][:1]
        d["agents"]["bob"]["queues"] = ["sales"]

    with pytest.raises(Refused, match="queue 'support' has 2 waiting calls"):
        change(base, edited(edit), waiting={"support": 2})


def test_a_dangling_reference_is_refused(base: Settings) -> None:
    bad = routing().model_copy(
        update={"queues": {"sales": routing().queues["sales"]}}  # bob's support is gone
    )
    with pytest.raises(Refused, match="unknown queue 'support'"):
        change(base, bad)


def test_an_agent_still_retiring_that_comes_back_is_updated_not_added(base: Settings) -> None:
    old = edited(lambda d: d["agents"].pop("bob"))
    c = plan(
        base, old, routing(), engine_queues={"sales", "support"},
        engine_agents={"alice", "bob"}, waiting={},
    )  # fmt: skip
    assert c.events == (
        ev.UpdateAgent(AgentConfig("bob", queues=("support",), skills={"english": 3})),
    )


# ---------------------------------------------------------------------- the running rig
class FakeEdge:
    def __init__(self) -> None:
        self.credentials: dict[str, str] = {}
        self.removed: list[str] = []

    async def set_agent_credentials(self, user: str, password: str) -> None:
        self.credentials[user] = password

    async def remove_agent(self, user: str) -> None:
        self.removed.append(user)


class FakePresence:
    def __init__(self, agents: dict[str, bool]) -> None:
        self._auto = agents

    def set_agents(self, agents: dict[str, bool]) -> None:
        self._auto = dict(agents)


class LiveRig(Rig):
    live: LiveConfig
    repo: RoutingRepository
    edge: FakeEdge
    presence: FakePresence

    def call_at(self, did: str, leg: str) -> str:
        self.incoming(did, leg=leg)
        call = self.board.calls.by_leg(leg)
        assert call is not None
        return call.call_id


@pytest.fixture
async def live(tmp_path: Path, base: Settings) -> AsyncIterator[LiveRig]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await migrate(url)
    db = Database.open(url)
    repo = RoutingRepository(db)
    version = await repo.apply_routing_config(base.routing, "yaml")
    table = build_routing_table(base.routing.routing_data())
    holder: dict[str, LiveConfig] = {}
    board = Switchboard(
        engine=Engine(build.engine_settings(base)),
        settings=build.flow_settings(base),
        prompts=PromptSet(PROMPTS, tmp_path / "cache"),
        routing=lambda: holder["live"].table,
    )
    clock = ManualClock(wall=datetime(2026, 12, 1, 16, tzinfo=UTC))
    pool, cdr, metrics, outbox = FakePool(), CdrStore(db), Metrics(), OutboxStore(db)
    driver = CallDriver(board, pool=pool, cdr=cdr, outbox=outbox, metrics=metrics, clock=clock)
    for queue in build.queue_configs(base):
        driver.feed(ev.AddQueue(queue))
    for agent in build.agent_configs(base):
        driver.feed(ev.AddAgent(agent))
    rig = LiveRig(board=board, driver=driver, pool=pool, cdr=cdr, clock=clock, metrics=metrics,
                  tmp=tmp_path, outbox=outbox)  # fmt: skip
    rig.repo, rig.edge = repo, FakeEdge()
    rig.presence = FakePresence({u: True for u in base.routing.agents})
    rig.live = holder["live"] = LiveConfig(
        base, version.version, table, repo=repo, calls=driver, edge=rig.edge,
        presence=rig.presence, metrics=metrics,
    )  # fmt: skip
    yield rig
    await rig.settle()
    driver.close()
    await db.close()


def failures(rig: Rig) -> float:
    value = rig.metrics.registry.get_sample_value("contactgw_config_apply_failures_total")
    return value or 0.0


async def test_strategy_and_skills_change_while_calls_wait_keeps_order_and_arrival(
    live: LiveRig,
) -> None:
    calls = []
    for i in range(3):  # nobody logged in: they wait
        calls.append(live.call_at("+15550100200", f"w1-in-{i}"))
        live.step(7)
    await live.settle()
    arrivals = {c: live.engine.call(c).arrival_time for c in calls}  # type: ignore[union-attr]
    assert live.engine.waiting("support") == calls

    def edit(d: dict[str, Any]) -> None:
        d["queues"]["support"] = {"strategy": "longest-idle", "skills": {"english": 2}}

    await live.repo.apply_routing_config(edited(edit), "cli", "ops")
    await live.live.poll_once()
    await live.settle()

    assert live.live.version == 2
    assert live.engine.waiting("support") == calls
    for c in calls:
        view = live.engine.call(c)
        assert view is not None and view.state is CallState.QUEUED
        assert view.arrival_time == arrivals[c]
        assert dict(view.requirement) == {"english": 2}  # bob (3) now qualifies
    assert [s.phase for s in live.board.calls.sessions()] == [Phase.QUEUED] * 3
    assert live.pool.of(p.Hangup) == []

    live.login("bob")  # the oldest caller gets him first
    await live.settle()
    (dial,) = live.pool.of(p.Dial)
    assert live.engine.call(calls[0]).state is CallState.OFFERING  # type: ignore[union-attr]
    assert dial.leg is not None and calls[0] in dial.leg


async def test_a_did_repointed_mid_call_affects_only_new_calls(live: LiveRig) -> None:
    live.login("alice")
    first = live.call_at("+15550100100", "w1-in-1")
    await live.settle()
    (dial,) = live.pool.of(p.Dial)
    live.leg(str(dial.leg), L.CONFIRMED)
    await live.settle()
    assert live.engine.agent("alice").state is AgentState.ON_CALL

    def edit(d: dict[str, Any]) -> None:
        d["dids"][0]["queue"] = "support"

    await live.repo.apply_routing_config(edited(edit), "cli")
    await live.live.poll_once()
    await live.settle()

    talking = live.board.calls.by_call(first)
    assert talking is not None and talking.session.phase is Phase.CONNECTED
    assert talking.session.queue == "sales"
    assert live.pool.of(p.Hangup) == []
    second = live.call_at("+15550100100", "w1-in-2")
    call = live.board.calls.by_call(second)
    assert call is not None and call.session.queue == "support"


async def test_an_agent_removed_on_a_call_finishes_it_then_goes(live: LiveRig) -> None:
    live.login("alice")
    live.call_at("+15550100100", "w1-in-1")
    await live.settle()
    (dial,) = live.pool.of(p.Dial)
    live.leg(str(dial.leg), L.CONFIRMED)
    await live.settle()

    def edit(d: dict[str, Any]) -> None:
        del d["agents"]["alice"]

    await live.repo.apply_routing_config(edited(edit), "cli")
    await live.live.poll_once()
    await live.settle()
    assert live.engine.agent("alice").state is AgentState.ON_CALL  # the call goes on
    assert live.engine.agent("alice").queues == ()  # but nothing new comes her way
    assert live.live.retiring == {"alice"}
    assert live.presence._auto == {"bob": True}
    assert live.live.agent_names == {"alice": "alice", "bob": "bob"}  # the API shows her
    assert live.pool.of(p.Hangup) == [] and live.edge.removed == []

    live.leg("w1-in-1", L.DISCONNECTED)  # the caller hangs up: wrap-up (5 s) still hers
    live.leg(str(dial.leg), L.DISCONNECTED)
    await live.settle()
    await live.live.poll_once()
    assert "alice" in live.engine.agent_ids() and live.edge.removed == []
    live.step(5)
    await live.settle()
    await live.live.poll_once()
    assert "alice" not in live.engine.agent_ids()
    assert live.edge.removed == ["alice"] and live.live.retiring == frozenset()
    assert live.live.agent_names == {"bob": "bob"}


async def test_a_logged_in_idle_agent_removed_goes_at_once(live: LiveRig) -> None:
    live.login("bob")
    new = edited(lambda d: d["agents"].pop("bob"))
    assert await live.live.apply(2, new)
    assert "bob" not in live.engine.agent_ids()
    assert live.edge.removed == ["bob"]


async def test_a_refused_version_leaves_everything_running_and_is_retried(
    live: LiveRig,
) -> None:
    waiting = live.call_at("+15550100200", "w1-in-1")
    await live.settle()

    def edit(d: dict[str, Any]) -> None:
        del d["queues"]["support"]
        d["dids"] = d["dids"][:1]
        d["agents"]["bob"]["queues"] = ["sales"]
        d["agents"]["carol"] = {"password": "carol-secret", "queues": ["sales"]}

    await live.repo.apply_routing_config(edited(edit), "cli")
    table = live.live.table
    await live.live.poll_once()
    await live.live.poll_once()  # retried quietly: counted once
    assert (live.live.version, failures(live)) == (1, 1.0)
    assert live.live.table is table
    assert set(live.engine.queue_ids()) == {"sales", "support"}
    assert "carol" not in live.engine.agent_ids() and live.edge.credentials == {}
    assert live.engine.waiting("support") == [waiting]

    live.leg("w1-in-1", L.DISCONNECTED)  # the queue empties: the next poll applies it
    await live.settle()
    await live.live.poll_once()
    assert live.live.version == 2
    assert set(live.engine.queue_ids()) == {"sales"}
    assert live.engine.agent("bob").queues == ("sales",)
    assert live.edge.credentials == {"carol": "carol-secret"}
    assert live.metrics.registry.get_sample_value("contactgw_config_version") == 2


async def test_a_new_queue_and_did_take_the_next_call(live: LiveRig) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["queues"]["vip"] = {}
        d["dids"].append({"number": "+15550100300", "queue": "vip"})
        d["agents"]["carol"] = {"password": "carol-secret", "queues": ["vip"]}

    await live.repo.apply_routing_config(edited(edit), "cli")
    await live.live.poll_once()
    assert live.presence._auto == {"alice": True, "bob": True, "carol": True}
    assert set(live.live.agent_names) == {"alice", "bob", "carol"}
    live.login("carol")
    live.call_at("+15550100300", "w1-in-1")
    await live.settle()
    (dial,) = live.pool.of(p.Dial)
    assert dial.uri.startswith("sip:carol@")
    assert live.metrics.registry.get_sample_value(
        "contactgw_queue_calls_waiting", {"queue": "vip"}
    ) == 0  # fmt: skip


async def test_a_queue_removed_while_one_of_its_calls_talks_lets_it_finish(
    live: LiveRig,
) -> None:
    live.login("alice")
    live.call_at("+15550100100", "w1-in-1")
    await live.settle()
    (dial,) = live.pool.of(p.Dial)
    live.leg(str(dial.leg), L.CONFIRMED)
    await live.settle()

    def edit(d: dict[str, Any]) -> None:
        del d["queues"]["sales"]
        d["dids"] = d["dids"][1:]
        d["agents"]["alice"]["queues"] = ["support"]

    assert await live.live.apply(2, edited(edit))  # answered calls are not waiting
    assert live.engine.queue_ids() == ["support"]
    assert live.engine.agent("alice").state is AgentState.ON_CALL
    live.leg("w1-in-1", L.DISCONNECTED)
    live.leg(str(dial.leg), L.DISCONNECTED)
    await live.settle()
    assert live.engine.agent("alice").state is AgentState.WRAP_UP  # sales' wrap-up, kept
    assert live.pool.of(p.Hangup) == []
