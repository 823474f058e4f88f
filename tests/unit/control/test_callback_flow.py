"""The queued callback through the real switchboard, ACD, driver and SQLite store, on a
stepped clock with a fake worker pool: the offer after `offer_after`, the key, the read
back and confirmation, the callback keeping its place ahead of a later caller, the
whisper to the agent, the customer dialled via the edge to the trunk, a no-answer retry
at the original place, the answered attempt's record (initiation callback, linked), a
restart's restore placing it exactly once, and the supervisors' cancel/reschedule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from acd import events as ev
from gateway.control.callback_dialog import CallbackDialog
from gateway.control.callback_plan import CallbackPlan
from gateway.control.errors import Conflict, NotFound
from gateway.control.phases import Phase
from gateway.ipc import protocol as p
from gateway.settings.callback import CallbackSettings
from gateway.store.callbacks import CallbackFilter, CallbackStore
from tests.unit.control.conftest import Rig

L = p.LegState
CALLER = "+15551230000"


def plan(**options: object) -> CallbackPlan:
    settings = CallbackSettings(offer_after=30, retries=1, retry_interval=60, **options)  # type: ignore[arg-type]
    return CallbackPlan(settings, ZoneInfo("UTC"), "US", "trunk.test:5080")


def with_callbacks(rig: Rig, **options: object) -> None:
    rig.board.settings = dataclasses.replace(
        rig.board.settings, callbacks={"sales": plan(**options)}
    )


def store(rig: Rig) -> CallbackStore:
    return CallbackStore(rig.cdr.database)


async def types(rig: Rig) -> list[str]:
    return [e.type.removeprefix("io.contactgw.") for e in await rig.outbox.pending(limit=500)]


async def request_callback(rig: Rig, leg: str = "w1-in-1") -> str:
    """A caller waits, hears the offer, presses 1, confirms its number, hangs up."""
    rig.incoming("+15550100100", leg=leg)
    await rig.settle()
    s = next(x for x in rig.board.calls.sessions() if x.caller_leg == leg)
    rig.event(p.PlaybackDone(leg=leg, path=str(s.playing)))  # the greeting ends: music
    rig.step(30.0)
    await rig.settle()
    offer = rig.pool.of(p.Play)[-1]
    assert offer.leg == leg and s.playing == offer.path  # the offer prompt
    rig.event(p.DtmfDigit(leg=leg, digit="1"))
    assert s.phase is Phase.CALLBACK_OFFER
    readback = rig.pool.of(p.Play)[-1].path
    rig.event(p.DtmfDigit(leg=leg, digit="1"))  # confirm the caller id
    await rig.settle()
    assert s.phase is Phase.ANNOUNCING and rig.pool.of(p.Play)[-1].path != readback
    rig.event(p.PlaybackDone(leg=leg, path=str(s.playing)))
    await rig.settle()
    assert rig.pool.of(p.Hangup)[-1].leg == leg
    rig.leg(leg, L.DISCONNECTED)
    rig.step(15.0)
    await rig.settle()
    assert (await rig.record(s.call_id)).disposition == "callback"
    return s.call_id


async def test_callback_keeps_its_place_whispers_dials_the_trunk_and_bridges(rig: Rig) -> None:
    with_callbacks(rig, caller_id="+15550100999")
    original = await request_callback(rig)
    (task,) = await store(rig).search(CallbackFilter())
    assert (task.state, task.number, str(task.call_id)) == ("pending", CALLER, original)
    rig.incoming("+15550100100", leg="w1-in-2")  # a second caller, behind the callback
    await rig.settle()
    (entry, second) = rig.engine.waiting("sales")
    assert rig.engine.call(entry).callback and not rig.engine.call(second).callback  # type: ignore[union-attr]
    rig.login()
    await rig.settle()
    (dial,) = rig.pool.of(p.Dial)  # the agent gets the callback first
    assert dial.uri == "sip:alice@gw.test" and dial.headers["X-Contactgw-Callback"] == str(task.id)
    rig.leg(str(dial.leg), L.CONFIRMED)
    await rig.settle()
    whisper = rig.pool.of(p.Play)[-1]
    assert whisper.leg == dial.leg  # "callback for ..." to the agent, not to anyone else
    rig.event(p.PlaybackDone(leg=str(dial.leg), path=whisper.path))
    await rig.settle()
    out = rig.pool.of(p.Dial)[-1]
    assert out.uri == f"sip:{CALLER}@trunk.test:5080" and out.proxy == "sip:127.0.0.1:5060;lr"
    assert out.caller_id == "sip:+15550100999@gw.test"
    rig.leg(str(out.leg), L.CONFIRMED)
    await rig.settle()
    (bridge,) = rig.pool.of(p.Bridge)
    assert {bridge.a, bridge.b} == {out.leg, dial.leg}
    assert {r.leg for r in rig.pool.of(p.RecordStart)} >= {out.leg, dial.leg}
    rig.leg(str(out.leg), L.DISCONNECTED)
    rig.leg(str(dial.leg), L.DISCONNECTED)
    rig.step(15.0)
    await rig.settle()
    record = await rig.record(entry)
    assert (record.disposition, record.agent) == ("answered", "alice")
    done = await store(rig).get(task.id)
    assert (done.state, done.attempts, str(done.outbound_call_id)) == ("completed", 1, entry)
    assert rig.engine.waiting("sales") == [second]  # never placed twice
    assert ["callback.requested", "callback.dialing", "callback.completed"] == [
        t for t in await types(rig) if t.startswith("callback.")]  # fmt: skip


async def test_no_answer_retries_at_the_original_place_then_gives_up(rig: Rig) -> None:
    with_callbacks(rig)
    await request_callback(rig)
    (task,) = await store(rig).search(CallbackFilter())
    rig.login()
    for attempt in (1, 2):
        await rig.settle()
        dial = rig.pool.of(p.Dial)[-1]
        assert dial.uri == "sip:alice@gw.test"
        rig.leg(str(dial.leg), L.CONFIRMED)
        await rig.settle()
        rig.event(p.PlaybackDone(leg=str(dial.leg), path=rig.pool.of(p.Play)[-1].path))
        await rig.settle()
        out = rig.pool.of(p.Dial)[-1]
        assert out.uri.startswith(f"sip:{CALLER}@")
        rig.leg(str(out.leg), L.DISCONNECTED, code=480)  # no answer
        await rig.settle()
        assert rig.pool.of(p.Hangup)[-1].leg == dial.leg
        rig.leg(str(dial.leg), L.DISCONNECTED)
        await rig.settle()
        after = await store(rig).get(task.id)
        assert after.attempts == attempt
        if attempt == 1:
            assert after.state == "pending" and after.not_before is not None
            assert len(rig.engine.waiting("sales")) == 1  # back at its place, held
            rig.step(5.0)  # alice's wrap-up; the retry is not due yet
            await rig.settle()
            assert rig.pool.of(p.Dial)[-1] == out
            rig.step(60.0)
    assert (after.state, after.last_result) == ("failed", "no-answer 480")
    assert rig.engine.waiting("sales") == []
    assert [t for t in await types(rig) if t == "callback.failed"] == ["callback.failed"] * 2


async def test_a_restart_restores_each_pending_callback_once(rig: Rig) -> None:
    with_callbacks(rig)
    await request_callback(rig)
    tasks = await store(rig).active(rig.clock.now().wall)
    # as a new control plane would start: the old line forgotten, the rows read again
    for entry in list(rig.engine.waiting("sales")):
        rig.driver.feed(ev.CallerHungUp(entry))  # forget the old process's line
        rig.board.calls.remove(rig.board.calls.by_call(entry))  # type: ignore[arg-type]
    rig.board.callbacks.attempts.clear()
    assert rig.driver.act(lambda: rig.board.callbacks.restore(tasks)) == 1
    assert rig.driver.act(lambda: rig.board.callbacks.restore(tasks)) == 0  # not twice
    (entry,) = rig.engine.waiting("sales")
    view = rig.engine.call(entry)
    assert view is not None and view.callback


async def test_supervisors_cancel_and_reschedule(rig: Rig) -> None:
    with_callbacks(rig, window="09:00-18:00")
    await request_callback(rig)
    (task,) = await store(rig).search(CallbackFilter())
    desk = rig.board.callbacks
    later = rig.clock.now().wall + timedelta(hours=2)
    moved = rig.driver.act(lambda: desk.reschedule(str(task.id), later, "sup"))
    assert (moved.not_before, moved.updated_by) == (later, "sup")
    rig.login()
    await rig.settle()
    assert rig.pool.of(p.Dial) == []  # held: not before `later`
    gone = rig.driver.act(lambda: desk.cancel(str(task.id), "sup"))
    assert gone.state == "cancelled" and rig.engine.waiting("sales") == []
    with pytest.raises(NotFound):
        rig.driver.act(lambda: desk.cancel(str(task.id), "sup"))
    await rig.settle()
    assert (await store(rig).get(task.id)).state == "cancelled"
    assert "callback.cancelled" in await types(rig)


async def test_an_agent_taking_it_makes_it_not_cancellable(rig: Rig) -> None:
    with_callbacks(rig)
    await request_callback(rig)
    (task,) = await store(rig).search(CallbackFilter())
    rig.login()
    await rig.settle()
    rig.leg(str(rig.pool.of(p.Dial)[-1].leg), L.CONFIRMED)  # whisper playing
    await rig.settle()
    with pytest.raises(Conflict, match="being dialled"):
        rig.driver.act(lambda: rig.board.callbacks.cancel(str(task.id), "sup"))


async def test_hanging_up_mid_dialogue_is_an_abandon_and_frees_the_place(rig: Rig) -> None:
    with_callbacks(rig)
    rig.incoming("+15550100100")
    await rig.settle()
    s = rig.session()
    rig.event(p.PlaybackDone(leg="w1-in-1", path=str(s.playing)))
    rig.event(p.DtmfDigit(leg="w1-in-1", digit="1"))  # before the offer: ignored
    assert s.phase is Phase.QUEUED
    rig.step(30.0)
    rig.event(p.DtmfDigit(leg="w1-in-1", digit="1"))
    assert s.phase is Phase.CALLBACK_OFFER and len(rig.engine.waiting("sales")) == 1
    rig.leg("w1-in-1", L.DISCONNECTED)
    rig.step(15.0)
    await rig.settle()
    assert rig.engine.waiting("sales") == []
    assert (await rig.record(s.call_id)).disposition == "abandoned"
    assert await store(rig).search(CallbackFilter(states=())) == []


def test_dialog_reads_back_changes_and_validates_a_keyed_number() -> None:
    d = CallbackDialog("anonymous", "DE")
    assert d.start() == ["callback_enter"]
    for key in "123#":
        step = d.digit(key)
    assert step.play == ["callback_invalid", "callback_enter"]
    for key in "030123456":
        d.digit(key)
    step = d.digit("#")
    assert step.play[0] == "callback_number" and step.play[-1] == "callback_confirm"
    assert step.play[1:3] == ["number_04", "number_09"]  # +49 30 ..., read digit by digit
    assert d.digit("9").play == []  # not a choice
    assert d.digit("1").confirmed == "+4930123456"


def test_window_and_its_next_opening() -> None:
    p_ = CallbackPlan(CallbackSettings(window="09:00-18:00"), ZoneInfo("Europe/Berlin"), None, "t")
    inside = datetime(2026, 12, 1, 10, tzinfo=UTC)  # 11:00 in Berlin
    assert p_.next_dial(inside) == inside
    evening = datetime(2026, 12, 1, 19, tzinfo=UTC)  # 20:00: the next morning, 09:00 local
    assert p_.next_dial(evening) == datetime(2026, 12, 2, 8, tzinfo=UTC)
    early = datetime(2026, 12, 1, 5, tzinfo=UTC)  # 06:00: today at 09:00 local
    assert p_.next_dial(early) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    night = CallbackPlan(CallbackSettings(window="22:00-06:00"), ZoneInfo("UTC"), None, "t")
    assert night.next_dial(datetime(2026, 12, 1, 23, tzinfo=UTC)).hour == 23  # spans midnight
    assert night.next_dial(datetime(2026, 12, 1, 12, tzinfo=UTC)).hour == 22
