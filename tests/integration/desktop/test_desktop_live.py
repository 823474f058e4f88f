"""The agent desktop end to end: `contactgw run`, sipp as the carrier, a pjsua2 softphone
as alice, a real MQTT 5 subscriber. The agent's INVITE carries `Call-Info` to the call's
screen-pop (the phone reports the header it received); during the wrap-up the agent user
submits a code and notes, which ends its wrap-up (it is available again), lands in the
call record, and rides in `call.completed`; a bad code is a 422 naming it and changes
nothing; the screen-pop of the next call from the same number shows this one."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.conftest import add_user
from tests.integration.e2e.test_events_e2e import Subscriber
from tests.support.agent_ua_client import AgentProcess
from tests.support.gateway_env import Gateway, start_phone

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": "+15550100100", "queue": "sales"}],
    "queues": {
        "sales": {
            "ring_timeout": 10,
            "wrapup": 60,  # long: the wrap-up is ended by the agent's submission
            "announcements": {"every": None},
            "wrapup_codes": ["sale", "no-sale"],
        }
    },
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


class Desk:
    def __init__(self, gw: Gateway, phone: AgentProcess, sub: Subscriber, token: str) -> None:
        self.gw, self.phone, self.sub = gw, phone, sub
        self.auth = {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Desk]:
    gw = Gateway(tmp_path_factory.mktemp("desktop"), ROUTING, workers=1)
    await gw.start()
    sub = Subscriber(gw.mqtt_port)
    phone: AgentProcess | None = None
    try:
        root = await add_user(gw, "root", "admin", None)
        ana = await add_user(gw, "ana", "agent", "alice")
        gw.api.headers["Authorization"] = f"Bearer {root}"
        sub.start()
        phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
        await asyncio.wait_for(sub.subscribed.wait(), 10)
        yield Desk(gw, phone, sub, ana)
    finally:
        await sub.stop()
        if phone is not None:
            await phone.stop()
        rc = await gw.stop()
        assert rc == 0, gw.log()


async def state_is(d: Desk, state: str) -> None:
    async def probe() -> bool:
        return await d.gw.agent_state("alice") == state

    await d.gw.wait_for(f"alice {state}", probe, timeout=15)


async def test_call_info_reaches_the_phone_and_the_wrapup_reaches_record_and_event(
    desk: Desk,
) -> None:
    gw = desk.gw
    await state_is(desk, "available")
    sipp = await gw.call("+15550100100", hold_ms=1500)
    incoming = await desk.phone.wait_event("incoming", timeout=15)
    found = re.fullmatch(
        rf"<http://127\.0\.0\.1:{gw.api_port}/ui/agent/calls/([0-9a-f-]{{36}})>;purpose=info",
        incoming["call_info"] or "",
    )
    assert found, incoming
    call_id = found.group(1)
    pop = (await gw.api.get(f"/api/v1/desktop/calls/{call_id}", headers=desk.auth)).json()
    assert (pop["call_id"], pop["queue"], pop["caller"]) == (call_id, "sales", "+15551230000")
    assert pop["caller_name"] == "Caller" and pop["wrapup_codes"] == ["sale", "no-sale"]
    rc = await sipp.wait(30)
    assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
    await state_is(desk, "wrap-up")
    assert not [e for e in desk.sub.of(call_id) if e["type"].endswith("call.completed")]

    url = f"/api/v1/calls/{call_id}/wrapup"
    bad = await gw.api.post(url, json={"code": "maybe"}, headers=desk.auth)
    assert bad.status_code == 422 and "'maybe'" in bad.json()["detail"], bad.text
    ok = await gw.api.post(url, json={"code": "sale", "notes": "wants a quote"}, headers=desk.auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["in_call_completed"] is True
    await state_is(desk, "available")  # ready: the submission ended the wrap-up

    async def completed() -> dict[str, Any] | None:
        done = [e for e in desk.sub.of(call_id) if e["type"].endswith("call.completed")]
        return done[0]["data"] if done else None

    data = await gw.wait_for("call.completed", completed, timeout=20)
    assert (data["wrapup_code"], data["wrapup_notes"], data["agent"]) == (
        "sale", "wants a quote", "alice")  # fmt: skip
    assert data["wrapup_seconds"] is not None and data["wrapup_seconds"] < 30
    row = await gw.get(f"/api/v1/calls/{call_id}")
    assert (row["wrapup_code"], row["wrapup_notes"], row["caller_name"]) == (
        "sale", "wants a quote", "Caller")  # fmt: skip

    # the next call from the same number pops with this one in its history
    sipp = await gw.call("+15550100100", hold_ms=1000)
    second = await gw.wait_for("the next pop", lambda: current_pop(desk, call_id), timeout=15)
    (previous,) = [h for h in second["history"] if h["call_id"] == call_id]
    assert (previous["wrapup_code"], previous["wrapup_notes"]) == ("sale", "wants a quote")
    assert previous["recording_url"] == f"/ui/calls/{call_id}"  # alice's own, policy `own`
    assert await sipp.wait(30) == 0


async def current_pop(desk: Desk, previous: str) -> dict[str, Any] | None:
    view = (await desk.gw.api.get("/api/v1/desktop", headers=desk.auth)).json()
    call = view.get("call")
    return call if call and call["call_id"] != previous else None
