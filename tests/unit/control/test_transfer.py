"""Transfers through the switchboard and its driver (stepped clock, real engine and
SQLite store, fake worker pool): what the worker is told, where the caller ends up,
the transferring agent's wrap-up, and the events."""

from __future__ import annotations

from typing import Any

import pytest

from acd import events as ev
from acd.model import AgentConfig
from gateway.control.errors import Conflict, InvalidRequest, NotFound
from gateway.control.phases import Phase
from gateway.control.transfer import TransferSettings
from gateway.control.transfer_model import Flow, Request, State, Target
from gateway.control.transfer_service import TransferService, TransferView
from gateway.ipc import protocol as p
from gateway.ipc.errors import CapacityExceeded
from tests.unit.control.conftest import Rig, answered_call

L = p.LegState
CALLER = "w1-in-1"


def req(kind: str, value: str, flow: Flow = Flow.BLIND, **kw: Any) -> Request:
    return Request(flow, Target.parse(kind, value), **kw)


async def connected(rig: Rig) -> tuple[TransferService, str, str]:
    """A sales call alice answered; bob (sales too) logged in. -> service, call, alice's leg"""
    rig.driver.feed(ev.AddAgent(AgentConfig("bob", queues=("sales",))))
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    rig.login("bob")
    rig.step(3.0)
    await rig.settle()
    rig.pool.sent.clear()
    return TransferService(rig.driver), s.call_id, str(dial.leg)


async def types(rig: Rig, call_id: str) -> list[str]:
    page, _ = await rig.outbox.page(subject=call_id, limit=1000)
    return [e.type.removeprefix("io.contactgw.") for e in page]


async def payload(rig: Rig, call_id: str, kind: str) -> dict[str, Any]:
    page, _ = await rig.outbox.page(subject=call_id, limit=1000)
    (found,) = [e.payload for e in page if e.type == "io.contactgw." + kind]
    return dict(found)


def target_dial(rig: Rig) -> p.Dial:
    (dial,) = rig.pool.of(p.Dial)
    assert dial.leg is not None
    return dial


async def test_blind_to_an_agent_rings_it_on_the_callers_worker_and_bridges_it(
    rig: Rig,
) -> None:
    svc, call_id, alice = await connected(rig)
    t = svc.start(call_id, req("agent", "bob"))
    await rig.settle()
    assert (t.state, t.from_agent, t.flow) == ("ringing", "alice", "blind")
    s = rig.session()
    assert s.phase is Phase.TRANSFERRING
    unbridge = rig.pool.of(p.Unbridge)[0]
    assert (unbridge.a, unbridge.b) == (CALLER, alice)
    (music,) = rig.pool.of(p.Play)
    assert (music.leg, music.loop) == (CALLER, True)  # never silence
    (hangup,) = rig.pool.of(p.Hangup)
    assert (hangup.leg, hangup.reason) == (alice, "transferred")
    dial = target_dial(rig)
    assert dial.uri == "sip:bob@gw.test" and dial.proxy == "sip:127.0.0.1:5060;lr"
    assert dial.headers["X-Contactgw-Transfer"] == t.id
    assert all(w == "w1" for w, _ in rig.pool.sent)  # the caller's worker, always
    assert rig.engine.agent("alice").state.value == "wrap-up"  # released at once

    rig.leg(alice, L.DISCONNECTED)
    rig.leg(str(dial.leg), L.CONFIRMED)
    await rig.settle()
    bridge = rig.pool.of(p.Bridge)[-1]
    assert (bridge.a, bridge.b, bridge.linked) == (CALLER, dial.leg, True)
    assert s.phase is Phase.CONNECTED and s.connected is not None
    assert s.connected.agent_id == "bob"
    assert svc.get(t.id, None).state == "completed"
    assert (await types(rig, call_id))[-2:] == ["transfer.started", "transfer.completed"]
    done = await payload(rig, call_id, "transfer.completed")
    assert (done["target"], done["target_kind"], done["from_agent"]) == ("bob", "agent", "alice")


async def test_blind_target_failing_requeues_the_caller_with_its_arrival_time(rig: Rig) -> None:
    svc, call_id, _ = await connected(rig)
    arrival = rig.engine.call(call_id)
    assert arrival is not None
    t = svc.start(call_id, req("agent", "bob", priority_bump=3))
    await rig.settle()
    rig.leg(str(target_dial(rig).leg), L.DISCONNECTED, code=486)
    await rig.settle()
    s = rig.session()
    assert s.phase is Phase.QUEUED
    view = rig.engine.call(call_id)
    assert view is not None
    assert view.arrival_time == arrival.arrival_time and view.priority == 3
    assert rig.pool.of(p.Play)[-1].loop  # music again, not silence
    failed = await payload(rig, call_id, "transfer.failed")
    assert (failed["outcome"], failed["reason"], failed["sip_code"]) == ("requeued", "busy", 486)
    assert svc.get(t.id, None).state == "failed"


async def test_blind_to_a_queue_requeues_with_the_original_arrival_and_a_bump(rig: Rig) -> None:
    svc, call_id, alice = await connected(rig)
    before = rig.engine.call(call_id)
    assert before is not None
    t = svc.start(call_id, req("queue", "empty", priority_bump=5))
    await rig.settle()
    assert t.state == "completed"
    s = rig.session()
    assert (s.phase, s.queue) == (Phase.QUEUED, "empty")
    view = rig.engine.call(call_id)
    assert view is not None and view.queue_id == "empty"
    assert (view.arrival_time, view.priority) == (before.arrival_time, 5)
    assert rig.pool.of(p.Dial) == []  # nothing dialled for a queue
    assert [h.leg for h in rig.pool.of(p.Hangup)] == [alice]
    assert rig.engine.agent("alice").state.value == "wrap-up"
    row = await rig.record(call_id)
    assert row.queue == "empty"


async def test_attended_consults_then_completes_and_the_agent_wraps_up(rig: Rig) -> None:
    svc, call_id, alice = await connected(rig)
    t = svc.start(call_id, req("agent", "bob", Flow.ATTENDED))
    await rig.settle()
    assert rig.pool.of(p.Hangup) == []  # the agent stays, the caller holds
    assert rig.engine.agent("alice").state.value == "on-call"
    bob = str(target_dial(rig).leg)
    with pytest.raises(Conflict, match="only an attended transfer whose target answered"):
        svc.complete(t.id, None)
    rig.leg(bob, L.CONFIRMED)
    await rig.settle()
    consult = rig.pool.of(p.Bridge)[-1]
    assert (consult.a, consult.b, consult.linked) == (alice, bob, False)
    assert svc.get(t.id, None).state == "consulting"
    with pytest.raises(NotFound):
        svc.complete(t.id, "bob")  # not bob's transfer
    svc.complete(t.id, "alice")
    await rig.settle()
    assert (rig.pool.of(p.Unbridge)[-1].a, rig.pool.of(p.Unbridge)[-1].b) in {
        (alice, bob), (CALLER, alice)}  # fmt: skip
    final = rig.pool.of(p.Bridge)[-1]
    assert (final.a, final.b, final.linked) == (CALLER, bob, True)
    assert rig.pool.of(p.Hangup)[-1].leg == alice
    assert rig.session().phase is Phase.CONNECTED
    assert rig.engine.agent("alice").state.value == "wrap-up"


async def test_attended_target_failing_returns_the_caller_to_the_agent(rig: Rig) -> None:
    svc, call_id, alice = await connected(rig)
    t = svc.start(call_id, req("agent", "bob", Flow.ATTENDED))
    await rig.settle()
    rig.leg(str(target_dial(rig).leg), L.DISCONNECTED, code=408)
    await rig.settle()
    back = rig.pool.of(p.Bridge)[-1]
    assert (back.a, back.b, back.linked) == (CALLER, alice, True)
    s = rig.session()
    assert s.phase is Phase.CONNECTED and s.connected is not None
    assert s.connected.agent_id == "alice"
    assert rig.engine.agent("alice").state.value == "on-call"
    failed = await payload(rig, call_id, "transfer.failed")
    assert (failed["outcome"], failed["reason"]) == ("back-to-agent", "no-answer")
    assert svc.get(t.id, None).state == "failed"
    # the call goes on as before: the agent hanging up ends it (linked bridge)
    rig.leg(alice, L.DISCONNECTED)
    assert s.phase is Phase.HANGING_UP


async def test_attended_cancel_hangs_up_the_target_and_reconnects_the_agent(rig: Rig) -> None:
    svc, call_id, alice = await connected(rig)
    t = svc.start(call_id, req("agent", "bob", Flow.ATTENDED))
    await rig.settle()
    bob = str(target_dial(rig).leg)
    rig.leg(bob, L.CONFIRMED)
    out = svc.cancel(t.id, None)
    await rig.settle()
    assert out.state == "cancelled" and out.reason == "cancelled"
    assert (rig.pool.of(p.Hangup)[-1].leg, rig.pool.of(p.Hangup)[-1].code) == (bob, 487)
    back = rig.pool.of(p.Bridge)[-1]
    assert (back.a, back.b) == (CALLER, alice)
    rig.leg(bob, L.DISCONNECTED)  # its end is no news
    await rig.settle()
    assert rig.session().phase is Phase.CONNECTED
    with pytest.raises(Conflict, match="is cancelled: nothing left to complete or cancel"):
        svc.cancel(t.id, None)


async def test_no_free_leg_on_the_callers_worker_fails_cleanly_and_changes_nothing(
    rig: Rig,
) -> None:
    svc, call_id, _ = await connected(rig)
    rig.event(p.Capacity(legs=4, max_legs=4, draining=False))
    with pytest.raises(Conflict, match="no free leg on worker w1 \\(4 of 4 in use\\)"):
        svc.start(call_id, req("agent", "bob"))
    await rig.settle()
    assert rig.pool.sent == []
    assert rig.session().phase is Phase.CONNECTED
    assert "transfer.started" not in await types(rig, call_id)
    rig.event(p.Capacity(legs=3, max_legs=4, draining=False))
    assert svc.start(call_id, req("queue", "sales")).state == "completed"


async def test_a_dial_the_worker_refuses_for_capacity_keeps_the_caller_with_the_agent(
    rig: Rig,
) -> None:
    svc, call_id, alice = await connected(rig)
    rig.pool.refuse[p.Dial] = CapacityExceeded("w1", "all 4 legs in use")
    svc.start(call_id, req("number", "+15557654321", Flow.ATTENDED))
    await rig.settle()
    await rig.settle()
    back = rig.pool.of(p.Bridge)[-1]
    assert (back.a, back.b) == (CALLER, alice)
    assert rig.session().phase is Phase.CONNECTED
    failed = await payload(rig, call_id, "transfer.failed")
    assert failed["reason"] == "no free leg on worker w1"


@pytest.mark.parametrize(
    ("request_", "error", "match"),
    [
        (lambda: req("queue", "sales", Flow.ATTENDED), InvalidRequest, "target.queue"),
        (lambda: req("agent", "carol"), InvalidRequest, "no agent 'carol'"),
        (lambda: req("agent", "alice"), InvalidRequest, "is the agent on the call"),
        (lambda: req("queue", "nope"), InvalidRequest, "no queue 'nope'"),
        (lambda: req("number", "12ab"), InvalidRequest, "target.number"),
        (lambda: req("agent", "bob", priority_bump=101), InvalidRequest, "priority_bump"),
        (lambda: req("agent", "bob", by_agent="bob"), NotFound, "connected to agent 'bob'"),
    ],
)
async def test_bad_requests_name_the_field_and_change_nothing(
    rig: Rig, request_: Any, error: type[Exception], match: str
) -> None:
    svc, call_id, _ = await connected(rig)
    with pytest.raises(error, match=match):
        svc.start(call_id, request_())
    await rig.settle()
    assert rig.pool.sent == [] and rig.session().phase is Phase.CONNECTED


async def test_only_a_connected_call_can_be_transferred(rig: Rig) -> None:
    svc = TransferService(rig.driver)
    rig.incoming("+15550100100")
    await rig.settle()
    with pytest.raises(Conflict, match="is queued, not connected"):
        svc.start(rig.session().call_id, req("queue", "sales"))
    with pytest.raises(NotFound):
        svc.start("no-such-call", req("queue", "sales"))


async def test_a_second_transfer_while_one_is_live_is_refused(rig: Rig) -> None:
    svc, call_id, _ = await connected(rig)
    svc.start(call_id, req("agent", "bob", Flow.ATTENDED))
    with pytest.raises(Conflict, match="transfer in progress"):
        svc.start(call_id, req("queue", "sales"))


async def test_refer_blind_from_the_phone_adopts_the_workers_new_leg(rig: Rig) -> None:
    _, call_id, alice = await connected(rig)
    rig.event(p.TransferRequested(leg=alice, new_leg="w1-xfer-3", refer_to="<sip:bob@gw.test>"))
    await rig.settle()
    s = rig.session()
    assert s.phase is Phase.TRANSFERRING
    assert rig.pool.of(p.Dial) == []  # the worker placed it (pjsua's REFER handling)
    assert rig.pool.of(p.Play)[-1].leg == CALLER
    rig.leg("w1-xfer-3", L.CONFIRMED)
    rig.leg(alice, L.DISCONNECTED)  # the phone hangs up once NOTIFY says 200
    await rig.settle()
    assert (rig.pool.of(p.Bridge)[-1].a, rig.pool.of(p.Bridge)[-1].b) == (CALLER, "w1-xfer-3")
    assert s.phase is Phase.CONNECTED and s.connected is not None
    assert s.connected.agent_id == "bob"
    assert rig.engine.agent("alice").state.value == "wrap-up"
    started = await payload(rig, call_id, "transfer.started")
    assert (started["origin"], started["flow"], started["target"]) == ("refer", "blind", "bob")


async def test_refer_to_a_queue_uri_requeues_and_refuses_the_workers_leg(rig: Rig) -> None:
    _, _, alice = await connected(rig)
    rig.event(p.TransferRequested(leg=alice, new_leg="w1-xfer-3",
                                  refer_to="sip:queue-empty@gw.test"))  # fmt: skip
    await rig.settle()
    assert {h.leg for h in rig.pool.of(p.Hangup)} == {"w1-xfer-3", alice}
    s = rig.session()
    assert (s.phase, s.queue) == (Phase.QUEUED, "empty")


async def test_refer_without_a_free_leg_leaves_the_caller_with_the_agent(rig: Rig) -> None:
    _, call_id, _ = await connected(rig)
    rig.event(p.TransferRequested(leg="x", new_leg="", refer_to="sip:bob@gw.test", code=503))
    await rig.settle()
    assert await types(rig, call_id) == [] or "transfer.started" not in await types(rig, call_id)
    rig.event(p.TransferRequested(leg=rig.session().connected.leg,  # type: ignore[union-attr]
                                  new_leg="", refer_to="sip:bob@gw.test", code=503))  # fmt: skip
    await rig.settle()
    assert rig.pool.sent == []  # still bridged: nothing to undo
    assert rig.session().phase is Phase.CONNECTED
    failed = await payload(rig, call_id, "transfer.failed")
    assert (failed["outcome"], failed["sip_code"]) == ("back-to-agent", 503)


async def test_the_transferring_agents_wrap_up_is_kept_in_call_completed(rig: Rig) -> None:
    """asterisk issue 607: after a transfer the agent's wrap-up must not be lost."""
    svc, call_id, alice = await connected(rig)
    svc.start(call_id, req("agent", "bob"))
    await rig.settle()
    bob = str(target_dial(rig).leg)
    rig.leg(alice, L.DISCONNECTED)
    rig.leg(bob, L.CONFIRMED)
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "wrap-up"
    rig.step(2.0)
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "wrap-up"  # 5 s of wrap-up, not 0
    # no new call goes to alice while she wraps up
    rig.incoming("+15550100100", leg="w1-in-9")
    await rig.settle()
    assert all(d.uri != "sip:alice@gw.test" for d in rig.pool.of(p.Dial)[1:])
    rig.step(4.0)  # wrap-up over
    await rig.settle()
    assert rig.engine.agent("alice").state.value in ("available", "offered")
    rig.leg(CALLER, L.DISCONNECTED)
    rig.leg(bob, L.DISCONNECTED)
    rig.step(16.0)
    await rig.settle()
    completed = await payload(rig, call_id, "call.completed")
    # bob, the target, wraps up too (tests/unit/control/test_transfer_wrapup.py): the sum
    assert completed["wrapup_seconds"] == pytest.approx(10.0, abs=0.01)
    assert [(w["agent"], w["seconds"]) for w in completed["wrapups"]] == [
        ("alice", pytest.approx(5.0, abs=0.01)), ("bob", pytest.approx(5.0, abs=0.01))]  # fmt: skip
    assert completed["agent"] == "bob"


def test_views_are_plain_data() -> None:
    assert "state" in TransferView.__dataclass_fields__
    assert State.CONSULTING.value == "consulting"


async def test_the_target_agent_is_kept_from_the_acd_while_it_rings_and_talks(rig: Rig) -> None:
    svc, call_id, _ = await connected(rig)
    assert rig.engine.agent("bob").state.value == "available"
    svc.start(call_id, req("agent", "bob"))
    await rig.settle()
    bob = str(target_dial(rig).leg)
    view = rig.engine.agent("bob")
    assert (view.state.value, view.pause_reason) == ("paused", "transfer")
    rig.leg(bob, L.CONFIRMED)
    rig.incoming("+15550100100", leg="w1-in-9")  # a new sales call: nobody free for it
    await rig.settle()
    assert [d.uri for d in rig.pool.of(p.Dial)] == ["sip:bob@gw.test"]
    rig.leg(bob, L.DISCONNECTED)  # bob's transferred call is over: his wrap-up (5 s)
    await rig.settle()
    assert rig.engine.agent("bob").state.value == "wrap-up"
    assert len(rig.pool.of(p.Dial)) == 1
    rig.step(5.0)
    await rig.settle()
    assert rig.engine.agent("bob").state.value in ("available", "offered")
    assert len(rig.pool.of(p.Dial)) == 2  # the waiting call goes out (to alice or bob)


async def test_a_call_the_phone_held_before_its_refer_is_taken_off_hold_and_moved(
    rig: Rig,
) -> None:
    """Desk phones and Linphone hold the call, then send REFER."""
    _, call_id, alice = await connected(rig)
    rig.event(p.LegHold(leg=alice, held=True))
    await rig.settle()
    assert rig.session().phase is Phase.HELD
    rig.event(p.TransferRequested(leg=alice, new_leg="w1-xfer-3", refer_to="sip:bob@gw.test"))
    await rig.settle()
    s = rig.session()
    assert s.phase is Phase.TRANSFERRING
    types_ = await types(rig, call_id)
    assert types_.index("call.resumed") < types_.index("transfer.started")
    rig.leg("w1-xfer-3", L.CONFIRMED)
    await rig.settle()
    assert s.phase is Phase.CONNECTED and s.connected is not None
    assert s.connected.agent_id == "bob"


async def test_an_api_transfer_of_a_held_call_resumes_it_only_once_checked(rig: Rig) -> None:
    svc, call_id, alice = await connected(rig)
    rig.event(p.LegHold(leg=alice, held=True))
    await rig.settle()
    with pytest.raises(InvalidRequest):
        svc.start(call_id, req("agent", "nobody"))
    assert rig.session().phase is Phase.HELD  # a refused request changes nothing
    svc.start(call_id, req("queue", "empty"))
    await rig.settle()
    assert rig.session().phase is Phase.QUEUED


async def test_a_number_is_dialled_through_the_trunk(rig: Rig) -> None:
    svc, call_id, _ = await connected(rig)
    rig.board.transfers.settings = TransferSettings.from_trunks(
        {"carrier": "sip:10.0.0.1:5070;transport=udp"}
    )
    svc.start(call_id, req("number", "+15557654321"))
    await rig.settle()
    assert target_dial(rig).uri == "sip:+15557654321@10.0.0.1:5070"  # not our domain: trunk
    settings = TransferSettings.from_trunks({"a": "sip:gw@a.example", "b": "sip:b.example:5080"})
    assert settings.number_uri("123", "b", "gw.test") == "sip:123@b.example:5080"
    assert settings.number_uri("123", None, "gw.test") == "sip:123@a.example"
    assert TransferSettings().number_uri("123", None, "gw.test") == "sip:123@gw.test"
