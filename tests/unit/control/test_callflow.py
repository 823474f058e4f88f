"""The call flow driven directly: real ACD engine, routing table and SQLite store, with
a fake worker pool that records the commands it is sent and answers them at once."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from acd import events as ev
from acd.engine import Engine
from acd.model import AgentConfig, QueueConfig, TerminalAction, TerminalTarget
from gateway.control.acd_actions import AcdActions
from gateway.control.acd_driver import AcdDriver
from gateway.control.announcements import PromptSet
from gateway.control.callflow import CallFlow
from gateway.control.context import CallContext, FlowSettings
from gateway.ipc import protocol as p
from gateway.metrics import Metrics
from gateway.store.cdr import CdrStore
from gateway.store.engine import Database
from gateway.store.migrate import migrate
from routing import build_routing_table

PROMPTS = Path(__file__).resolve().parents[3] / "config" / "prompts"


class FakePool:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def command(self, worker_id: str, cmd: Any, timeout: float | None = None
                      ) -> dict[str, Any]:
        self.sent.append((worker_id, cmd))
        return {}

    def of(self, kind: type) -> list[Any]:
        return [c for _, c in self.sent if isinstance(c, kind)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, flow: CallFlow, pool: FakePool, cdr: CdrStore, engine: Engine,
                 clock: Clock, driver: AcdDriver) -> None:
        self.flow, self.pool, self.cdr, self.engine = flow, pool, cdr, engine
        self.clock, self.driver = clock, driver

    def step(self, seconds: float) -> None:
        """Advance the ACD's clock and fire what is due (no sleeping)."""
        self.clock.now += seconds
        self.driver.poll()

    async def settle(self) -> None:
        for _ in range(3):
            for s in list(self.flow.ctx.sessions):
                await s.media.settled()
                await s.cdr.settled()
            await asyncio.sleep(0)

    def event(self, e: Any) -> None:
        self.flow.on_worker_event("w1", e)

    def incoming(self, did: str, leg: str = "w1-in-1") -> None:
        self.event(p.IncomingCall(leg=leg, call_id=f"sip-{leg}", request_uri=f"sip:{did}@edge",
                                  from_uri="sip:+15551230000@carrier", to_uri=f"sip:{did}@edge",
                                  source="127.0.0.1:5070"))

    def session(self) -> Any:
        (s,) = list(self.flow.ctx.sessions)
        return s


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await migrate(url)
    db = Database.open(url)
    pool = FakePool()
    table = build_routing_table({
        "region": "US",
        "dids": [{"number": "+15550100100", "queue": "sales"},
                 {"number": "+15550100200", "queue": "empty"}],
        "default_route": {"announcement": "not_in_service"},
        "queues": {"sales": {}, "empty": {}},
    })
    ctx = CallContext(pool=pool, prompts=PromptSet(PROMPTS, tmp_path / "cache"),
                      cdr=CdrStore(db), metrics=Metrics(),
                      settings=FlowSettings(domain="gw.test", edge_proxy="sip:127.0.0.1:5060;lr",
                                            recordings_dir=tmp_path / "rec"),
                      routing=lambda: table)
    flow = CallFlow(ctx)
    engine = Engine()
    clock = Clock()
    driver = AcdDriver(engine, AcdActions(flow, lambda change: None), clock=clock)
    flow.acd = driver
    driver.feed(ev.AddQueue(QueueConfig("sales", offer_timeout=10, wrap_up=5)))
    driver.feed(ev.AddQueue(QueueConfig("empty", max_wait=60, announce_every=20,
                                        overflow=TerminalTarget(
                                            TerminalAction.ANNOUNCE_HANGUP, "all_busy"))))
    driver.feed(ev.AddAgent(AgentConfig("alice", queues=("sales",))))
    yield Rig(flow, pool, ctx.cdr, engine, clock, driver)
    driver.close()
    await db.close()


async def test_queued_call_rings_the_agent_through_the_edge(rig: Rig) -> None:
    rig.flow.acd.feed(ev.AgentLogin("alice"))  # type: ignore[union-attr]
    rig.incoming("+15550100100")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.code == 200 and answer.prompt.endswith("greeting.wav") and not answer.loop
    (dial,) = rig.pool.of(p.Dial)
    assert dial.uri == "sip:alice@gw.test" and dial.proxy == "sip:127.0.0.1:5060;lr"
    assert dial.headers["X-Contactgw-Queue"] == "sales"
    assert dial.caller_id == "sip:+15551230000@gw.test"


async def test_answer_bridges_records_and_the_caller_hangup_closes_the_record(rig: Rig) -> None:
    rig.flow.acd.feed(ev.AgentLogin("alice"))  # type: ignore[union-attr]
    rig.incoming("+15550100100")
    await rig.settle()
    s = rig.session()
    (dial,) = rig.pool.of(p.Dial)
    rig.event(p.LegState(leg=dial.leg, state="confirmed", code=200))
    await rig.settle()
    (bridge,) = rig.pool.of(p.Bridge)
    assert (bridge.a, bridge.b, bridge.linked) == ("w1-in-1", dial.leg, True)
    records = {c.leg: c.path for c in rig.pool.of(p.RecordStart)}
    assert set(records) == {"w1-in-1", dial.leg}
    assert records["w1-in-1"].endswith("caller.wav") and records[dial.leg].endswith("agent.wav")
    assert rig.engine.agent("alice").state.value == "on-call"

    rig.event(p.LegState(leg="w1-in-1", state="disconnected", code=200))
    rig.event(p.LegState(leg=dial.leg, state="disconnected", code=200))
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "wrap-up"
    row = await rig.cdr.get_call(uuid.UUID(s.call_id))
    assert row is not None
    assert (row.disposition, row.agent, row.queue, row.hangup_by) == (
        "answered", "alice", "sales", "caller")
    assert row.answered_at is not None and row.ended_at is not None


async def test_agent_no_answer_is_reported_and_the_engine_moves_on(rig: Rig) -> None:
    rig.flow.acd.feed(ev.AgentLogin("alice"))  # type: ignore[union-attr]
    rig.incoming("+15550100100")
    await rig.settle()
    (dial,) = rig.pool.of(p.Dial)
    rig.event(p.LegState(leg=dial.leg, state="disconnected", code=486, reason="Busy Here"))
    await rig.settle()
    s = rig.session()
    offers = await rig.cdr.offers(uuid.UUID(s.call_id))
    assert (offers[0].agent, offers[0].result, offers[0].sip_code) == ("alice", "rejected", 486)
    assert rig.engine.call(s.call_id) is not None  # still queued


async def test_caller_hangup_while_ringing_cancels_the_agent_leg(rig: Rig) -> None:
    rig.flow.acd.feed(ev.AgentLogin("alice"))  # type: ignore[union-attr]
    rig.incoming("+15550100100")
    await rig.settle()
    s = rig.session()
    (dial,) = rig.pool.of(p.Dial)
    rig.event(p.LegState(leg="w1-in-1", state="disconnected", code=487))
    await rig.settle()
    hangups = rig.pool.of(p.Hangup)
    assert [h.leg for h in hangups] == [dial.leg]
    row = await rig.cdr.get_call(uuid.UUID(s.call_id))
    assert row is not None and row.disposition == "abandoned_ringing"
    assert rig.engine.agent("alice").state.value == "available"


async def test_unknown_number_gets_early_media_then_404(rig: Rig) -> None:
    rig.incoming("+15559990000")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.code == 183 and answer.prompt.endswith("not_in_service.wav")
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))
    await rig.settle()
    (hangup,) = rig.pool.of(p.Hangup)
    assert hangup.code == 404
    s = rig.session()
    rig.event(p.LegState(leg="w1-in-1", state="disconnected", code=404))
    await rig.settle()
    row = await rig.cdr.get_call(uuid.UUID(s.call_id))
    assert row is not None and row.disposition == "unknown_did" and row.queue is None


async def test_greeting_then_music_then_a_stale_playback_event_is_ignored(rig: Rig) -> None:
    rig.incoming("+15550100200")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))
    await rig.settle()
    (music,) = rig.pool.of(p.Play)
    assert music.path.endswith("music.wav") and music.loop
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))  # late duplicate
    await rig.settle()
    assert len(rig.pool.of(p.Play)) == 1



async def test_position_announcement_then_max_wait_overflow(rig: Rig) -> None:
    rig.incoming("+15550100200")
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))  # greeting over: music
    rig.step(20.0)
    await rig.settle()
    music, announce = rig.pool.of(p.Play)
    assert music.loop and not announce.loop
    assert Path(announce.path).name.startswith("announce_caller_number_number_01")
    rig.event(p.PlaybackDone(leg="w1-in-1", path=announce.path))  # back to music
    await rig.settle()
    assert rig.pool.of(p.Play)[-1].loop

    rig.step(40.0)  # 60 s in the queue: max_wait
    await rig.settle()
    goodbye = rig.pool.of(p.Play)[-1]
    assert goodbye.path.endswith("all_busy.wav") and not goodbye.loop
    rig.event(p.PlaybackDone(leg="w1-in-1", path=goodbye.path))
    await rig.settle()
    (hangup,) = rig.pool.of(p.Hangup)
    assert (hangup.leg, hangup.code) == ("w1-in-1", 200)
    s = rig.session()
    rig.event(p.LegState(leg="w1-in-1", state="disconnected", code=200))
    await rig.settle()
    row = await rig.cdr.get_call(uuid.UUID(s.call_id))
    assert row is not None and (row.disposition, row.hangup_by) == ("overflow", "system")


async def test_a_trunk_that_puts_the_did_in_to_is_routed_on_to(rig: Rig) -> None:
    rig.flow.ctx.settings = dataclasses.replace(rig.flow.ctx.settings,
                                                did_from_to=frozenset({"carrier"}))
    # R-URI and To name different routed numbers: only `did_from: to` picks To's.
    for trunk, leg in (("carrier", "w1-in-1"), ("other", "w1-in-2")):
        rig.event(p.IncomingCall(leg=leg, call_id=f"sip-{leg}",
                                 request_uri="sip:+15550100200@edge",
                                 from_uri="sip:+15551230000@carrier",
                                 to_uri="sip:+15550100100@edge", source="127.0.0.1:5070",
                                 trunk=trunk))
    await rig.settle()
    queues = {s.caller_leg: s.queue for s in rig.flow.ctx.sessions}
    assert queues == {"w1-in-1": "sales", "w1-in-2": "empty"}


async def test_agent_ready_ends_wrap_up_early_and_is_refused_otherwise(rig: Rig) -> None:
    from gateway.api.errors import Conflict
    from gateway.control.presence import Presence

    async def nobody(_users: list[str]) -> set[str]:
        return set()
    presence = Presence(rig.driver, {"alice": True}, nobody)
    presence.login("alice")
    with pytest.raises(Conflict, match="not in wrap-up"):
        presence.ready("alice")
    rig.incoming("+15550100100")
    await rig.settle()
    (dial,) = rig.pool.of(p.Dial)
    rig.event(p.LegState(leg=dial.leg, state="confirmed", code=200))
    rig.event(p.LegState(leg="w1-in-1", state="disconnected", code=200))
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "wrap-up"  # 5 s of wrap-up
    presence.ready("alice")
    assert rig.engine.agent("alice").state.value == "available"
