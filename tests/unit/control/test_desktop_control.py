"""The desktop's live side on the real switchboard (fake workers, SQLite): the screen-pop
facts of a ringing call, Call-Info on the agent's INVITE, and a wrap-up submitted during
the wrap-up time that ends it and rides in call.completed; another agent's call refused."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from gateway.control.caller_name import display_name
from gateway.control.desktop import DesktopControl
from gateway.control.errors import NotFound
from gateway.control.presence import Presence
from gateway.control.wrapups import WrapupNote
from gateway.ipc import protocol as p
from gateway.settings.routing import RoutingSettings
from tests.unit.control.conftest import Rig

L = p.LegState
ROUTING = RoutingSettings.model_validate(
    {"queues": {"sales": {"wrapup_codes": ["sale", "no-sale"]}},
     "agents": {"alice": {"password": "pw", "queues": ["sales"]}}}
)  # fmt: skip


async def nobody(_users: list[str]) -> set[str]:
    return set()


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('"Ann \\"Q\\" Smith" <sip:+1555@carrier>;tag=1', 'Ann "Q" Smith'),
        ("Bob  Jones <sip:+1555@carrier>", "Bob Jones"),
        ("<sip:+1555@carrier>;tag=2", None),
        ("sip:+1555@carrier", None),
        ('"\x1b[2J" <sip:x@y>', "[2J"),  # control characters dropped
        ('"\x07" <sip:x@y>', None),
        (None, None),
    ],
)
def test_display_name(header: str | None, name: str | None) -> None:
    assert display_name(header) == name


async def test_pop_call_info_and_a_wrapup_that_ends_wrap_up_into_call_completed(
    rig: Rig,
) -> None:
    rig.board.settings = dataclasses.replace(rig.board.settings, desktop_url="https://desk.test")
    presence = Presence(rig.driver, {"alice": True, "bob": True}, nobody)
    desk = DesktopControl(rig.driver, presence, lambda: ROUTING)
    presence.login("alice")
    assert desk.current("alice") is None
    rig.event(
        p.IncomingCall(
            leg="w1-in-1", call_id="sip-1", request_uri="sip:+15550100100@edge",
            from_uri='"Ann Smith" <sip:+15551230000@carrier>;tag=9',
            to_uri="sip:+15550100100@edge", source="127.0.0.1:5070",
        )
    )  # fmt: skip
    rig.leg("w1-in-1", L.CONFIRMED)
    await rig.settle()
    (dial,) = rig.pool.of(p.Dial)
    s = rig.session()
    assert (
        dial.headers["Call-Info"] == f"<https://desk.test/ui/agent/calls/{s.call_id}>;purpose=info"
    )
    ringing = desk.current("alice")
    assert ringing is not None
    assert (ringing.state, ringing.caller, ringing.caller_name, ringing.queue, ringing.did) == (
        "ringing", "+15551230000", "Ann Smith", "sales", "+15550100100")  # fmt: skip
    assert desk.codes("sales") == ("sale", "no-sale") and desk.codes("gone") is None
    assert desk.open_call(s.call_id) == (None, "sales")  # not answered yet

    assert dial.leg is not None
    rig.leg(dial.leg, L.CONFIRMED)
    rig.step(3.0)
    rig.leg("w1-in-1", L.DISCONNECTED)
    rig.leg(dial.leg, L.DISCONNECTED)
    rig.step(1.0)
    await rig.settle()
    wrapping = desk.current("alice")
    assert wrapping is not None and wrapping.state == "wrap-up"
    now = datetime.now(UTC)
    with pytest.raises(NotFound):  # bob's desktop cannot wrap up alice's call
        desk.submit(s.call_id, WrapupNote("sale", None, "bob", now), ready=True)
    assert desk.submit(s.call_id, WrapupNote("sale", "wants a quote", "alice", now), ready=True)
    await rig.settle()
    assert rig.engine.agent("alice").state.value == "available"  # ready: wrap-up ended
    assert desk.current("alice") is None
    rig.step(15.0)  # the recordings never close here: the finalise timeout closes the record
    await rig.settle()
    assert len(rig.board.wrapups) == 0  # taken by the call's call.completed
    page, _ = await rig.outbox.page(subject=s.call_id, limit=100)
    completed = [e.payload for e in page if e.type.endswith("call.completed")]
    assert len(completed) == 1
    assert (completed[0]["wrapup_code"], completed[0]["wrapup_notes"]) == ("sale", "wants a quote")
    assert completed[0]["wrapup_seconds"] == 1.0
    # the call.completed went: a later wrap-up is for the record alone
    late = WrapupNote("no-sale", None, "alice", now)
    assert desk.submit(s.call_id, late, ready=True) is False
    row = await rig.cdr.get_call(uuid.UUID(s.call_id))
    assert row is not None and row.caller_name == "Ann Smith"  # written with the record
