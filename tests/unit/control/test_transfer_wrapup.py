"""Wrap-up after a transferred call for the TARGET agent too (asterisk issue 607): the
engine's DirectCallAnswered, the switchboard rig (stepped clock, real engine, SQLite)
through a blind transfer alice -> bob, and each agent's wrap-up kept in call.completed
and in the record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acd import commands as cmd
from acd import events as ev
from gateway.control.desktop import DesktopControl
from gateway.control.presence import Presence
from gateway.control.transfer_model import Flow, Request, Target
from gateway.control.transfer_service import TransferService
from gateway.control.wrapups import WrapupNote
from gateway.ipc import protocol as p
from gateway.settings.routing import RoutingSettings
from gateway.store.records import NotFoundError
from gateway.store.wrapup import WrapupStore, record_agents, wrapup_of
from tests.unit.acd.acd_harness import Acd
from tests.unit.control.conftest import Rig
from tests.unit.control.test_transfer import connected

L = p.LegState
CALLER = "w1-in-1"
ROUTING = RoutingSettings.model_validate(
    {"queues": {"sales": {"wrapup_codes": ["sale", "no-sale"]}},
     "agents": {"alice": {"password": "pw", "queues": ["sales"]},
                "bob": {"password": "pw", "queues": ["sales"]}}}
)  # fmt: skip


# ---------------------------------------------------------------- the engine
def test_an_agent_taking_a_call_outside_the_line_wraps_up_then_takes_calls() -> None:
    acd = Acd()
    acd.queue("q", wrap_up=5)
    acd.agent("bob")
    out = acd(ev.DirectCallAnswered("x", "q", "bob"), at=1)
    assert [(c.old.value, c.new.value, c.reason) for c in out
            if isinstance(c, cmd.AgentStateChanged)] == [("available", "on-call", "transfer")]  # fmt: skip
    acd(ev.CallArrived("c2", "q"), at=2)  # bob is on the transferred call: not offered
    assert acd.engine.agent("bob").offered_call is None
    acd(ev.ConversationEnded("x"), at=10)
    assert acd.state("bob").value == "wrap-up" and acd.engine.agent("bob").call_id == "x"
    acd.tick(14.9)
    assert acd.engine.agent("bob").offered_call is None  # nothing during wrap-up
    acd.tick(15)
    assert acd.engine.agent("bob").offered_call == "c2"


def test_a_paused_agent_returns_to_its_pause_and_a_busy_one_is_left_alone() -> None:
    acd = Acd()
    acd.queue("q", wrap_up=5)
    acd.agent("bob")
    acd.agent("carol")
    acd(ev.AgentPause("bob", "lunch"))
    acd(ev.DirectCallAnswered("x", "q", "bob", resume_pause="lunch"), at=1)
    assert acd.state("bob").value == "on-call"
    acd(ev.ConversationEnded("x"), at=3)
    acd.tick(8)
    view = acd.engine.agent("bob")
    assert (view.state.value, view.pause_reason) == ("paused", "lunch")
    acd(ev.CallArrived("c", "q"), at=9)
    acd(ev.OfferAnswered("c", "carol"), at=9)
    assert acd(ev.DirectCallAnswered("y", "q", "carol"), at=10) == []  # busy: not ours
    assert acd.engine.agent("carol").call_id == "c"
    acd(ev.ConversationEnded("y"), at=11)
    assert acd.state("carol").value == "on-call"


# ---------------------------------------------------------------- the switchboard
def req(agent: str) -> Request:
    return Request(Flow.BLIND, Target.parse("agent", agent))


async def transferred(rig: Rig) -> tuple[TransferService, str, str, str]:
    """alice answered a sales call and blind-transferred it to bob, who answered."""
    svc, call_id, alice = await connected(rig)
    svc.start(call_id, req("bob"))
    await rig.settle()
    (target,) = rig.pool.of(p.Dial)
    assert target.leg is not None
    rig.leg(alice, L.DISCONNECTED)
    rig.leg(target.leg, L.CONFIRMED)
    await rig.settle()
    return svc, call_id, alice, target.leg


async def completed_of(rig: Rig, call_id: str) -> list[dict[str, Any]]:
    page, _ = await rig.outbox.page(subject=call_id, limit=1000)
    return [dict(e.payload) for e in page if e.type.endswith("call.completed")]


async def nobody(_users: list[str]) -> set[str]:
    return set()


async def test_the_target_wraps_up_is_offered_nothing_meanwhile_and_both_codes_are_kept(
    rig: Rig,
) -> None:
    _, call_id, _, bob = await transferred(rig)
    desk = DesktopControl(rig.driver, Presence(rig.driver, {}, nobody), lambda: ROUTING)
    assert rig.engine.agent("bob").state.value == "on-call"  # the ACD has him on the call
    assert desk.took_call(call_id) == ("alice", "bob")
    now = datetime.now(UTC)
    assert desk.submit(call_id, WrapupNote("no-sale", "to bob", "alice", now), ready=False)
    rig.driver.feed(ev.AgentPause("alice", "break"))  # deferred: paused after her wrap-up
    rig.step(6.0)
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "paused"
    rig.incoming("+15550100100", leg="w1-in-2")  # a second sales caller waits
    await rig.settle()
    assert len(rig.pool.of(p.Dial)) == 1  # bob is on the transferred call: not offered
    rig.leg(bob, L.DISCONNECTED)  # bob hangs up: the worker ends the caller
    rig.leg(CALLER, L.DISCONNECTED)
    await rig.settle()
    assert rig.engine.agent("bob").state.value == "wrap-up"
    rig.step(4.0)
    await rig.settle()
    assert len(rig.pool.of(p.Dial)) == 1  # 4 of the queue's 5 s: still nothing for bob
    assert desk.submit(call_id, WrapupNote("sale", "sold it", "bob", now), ready=False)
    rig.step(1.0)
    await rig.settle()
    dials = rig.pool.of(p.Dial)
    assert len(dials) == 2 and dials[-1].uri == "sip:bob@gw.test"  # wrap-up over: the call
    rig.step(15.0)  # the recordings never close here: the finalise timeout closes the record
    await rig.settle()
    (done,) = await completed_of(rig, call_id)
    assert done["agent"] == "bob" and (done["wrapup_code"], done["wrapup_notes"]) == (
        "sale", "sold it")  # fmt: skip
    assert [(w["agent"], w["seconds"], w["code"]) for w in done["wrapups"]] == [
        ("alice", pytest.approx(5.0, abs=0.01), "no-sale"),
        ("bob", pytest.approx(5.0, abs=0.01), "sale"),
    ]
    assert done["wrapup_seconds"] == pytest.approx(10.0, abs=0.01)


async def test_a_target_paused_before_returns_to_its_pause_after_the_wrap_up(rig: Rig) -> None:
    svc, call_id, alice = await connected(rig)
    rig.driver.feed(ev.AgentPause("bob", "lunch"))
    svc.start(call_id, req("bob"))
    await rig.settle()
    (target,) = rig.pool.of(p.Dial)
    assert target.leg is not None
    assert rig.engine.agent("bob").pause_reason == "lunch"  # not replaced while it rings
    rig.leg(target.leg, L.CONFIRMED)
    await rig.settle()
    assert rig.engine.agent("bob").state.value == "on-call"
    rig.leg(CALLER, L.DISCONNECTED)  # the caller hangs up first this time
    rig.leg(target.leg, L.DISCONNECTED)
    rig.leg(alice, L.DISCONNECTED)
    await rig.settle()
    assert rig.engine.agent("bob").state.value == "wrap-up"
    rig.step(5.0)
    await rig.settle()
    view = rig.engine.agent("bob")
    assert (view.state.value, view.pause_reason) == ("paused", "lunch")


async def test_a_target_that_never_answers_is_unpaused_without_a_wrap_up(rig: Rig) -> None:
    svc, call_id, _ = await connected(rig)
    svc.start(call_id, req("bob"))
    await rig.settle()
    (target,) = rig.pool.of(p.Dial)
    assert rig.engine.agent("bob").pause_reason == "transfer"
    rig.leg(str(target.leg), L.DISCONNECTED, code=486)
    await rig.settle()
    assert rig.engine.agent("bob").state.value in ("available", "offered")


# ---------------------------------------------------------------- the record
async def test_the_record_keeps_each_agents_wrap_up(rig: Rig) -> None:
    _, call_id, _, bob = await transferred(rig)
    rig.leg(bob, L.DISCONNECTED)
    rig.leg(CALLER, L.DISCONNECTED)
    rig.step(16.0)  # finalised (recordings never close here)
    await rig.settle()
    key = uuid.UUID(call_id)
    store = WrapupStore(rig.cdr.database)
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    await store.save(key, "sale", "bob's", "bob", at, agent="bob")  # the target: segment 2
    await store.save(key, "no-sale", None, "alice", at, agent="alice")
    saved = await store.save(key, "no-sale", "again", "alice", at + timedelta(seconds=1),
                             agent="alice")  # fmt: skip
    assert [(w["agent"], w["code"], w["notes"]) for w in saved.wrapups or ()] == [
        ("bob", "sale", "bob's"), ("alice", "no-sale", "again")]  # fmt: skip
    assert (saved.wrapup_code, saved.wrapup_by) == ("no-sale", "alice")  # the first agent's
    assert record_agents(saved.agent, saved.segments) == ["alice", "bob"]  # may see the pop
    assert wrapup_of(saved, "bob") == ("sale", "bob's")  # each desktop shows its own
    assert wrapup_of(saved, "alice") == ("no-sale", "again")
    assert wrapup_of(saved, "carol") == (None, None)
    with pytest.raises(NotFoundError):
        await store.save(key, "sale", None, "carol", at, agent="carol")  # never on the call
