"""Queued callback end to end: `contactgw run` (one worker), sipp as the carrier's caller
(440 Hz, RFC 2833 DTMF from a pcap made by tests/support/rtp_pcap.py), a pjsua2 phone
as alice (1000 Hz, records what it hears), and sipp as the carrier's UAS for the
outbound calls (480 first, then an answer with 440 Hz).

The waiting caller presses 1 at the offer and 1 to confirm its caller id, and is hung
up on; a second caller arrives behind; alice frees up and gets the callback first (a
whisper, then the customer is dialled through the edge to the trunk): 480, so it is
retried at its place after `retry_interval` while alice serves the second caller; the
retry is answered, bridged and recorded both ways (initiation callback, linked to the
original call). Then a pending callback survives a gateway restart exactly once and a
supervisor cancels it."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import dominant_frequency, read_channels
from tests.support.gateway_env import Gateway, start_phone
from tests.support.ports import block
from tests.support.rtp_pcap import dtmf_packets, tone_packets, write_pcap
from tests.support.sipp import Sipp, render_scenario, uas_bye

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
SCENARIO = Path(__file__).with_name("trunk_call_dtmf.xml")
SALES, CALLER, SECOND = "+15550100100", "+15551230000", "+15557770000"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": SALES, "queue": "sales"}],
    "default_route": {"announcement": "not_in_service"},
    "queues": {
        "sales": {
            "ring_timeout": 8, "wrapup": 1, "greeting": "", "announcements": {"every": None},
            "callback": {"offer_after": 1, "key": "1", "retries": 2, "retry_interval": 3,
                         "caller_id": SALES, "trunk": "callbacks", "ring_timeout": 10},
        }
    },
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}  # fmt: skip


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("callback"), ROUTING, workers=1)
    # the outbound trunk: "localhost", not the SIP domain (127.0.0.1), so the edge relays
    gateway.uas_port = block(gateway.sip_range, 1, align=1)  # type: ignore[attr-defined]
    gateway.config["trunks"].append(
        {"name": "callbacks", "registrar": f"sip:localhost:{gateway.uas_port}"}  # type: ignore[attr-defined]
    )
    gateway.config_path.write_text(yaml.safe_dump(gateway.config, sort_keys=False))
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def alice(gw: Gateway) -> AsyncIterator[AgentProcess]:
    phone = await start_phone(gw, "alice", tone=1000.0, answer_after=0.3)
    yield phone
    await phone.stop()


def db(gw: Gateway) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{gw.tmp / 'var' / 'contactgw.db'}?mode=ro", uri=True)


def callback_events(gw: Gateway) -> list[str]:
    with db(gw) as conn:
        rows = conn.execute("SELECT type FROM outbox WHERE type LIKE '%callback.%' "
                            "ORDER BY position").fetchall()  # fmt: skip
    return [r[0].removeprefix("io.contactgw.") for r in rows]


async def callbacks(gw: Gateway, **params: Any) -> list[dict[str, Any]]:
    r = await gw.api.get("/api/v1/callbacks", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def waiting(gw: Gateway) -> int:
    (queue,) = [q for q in await gw.get("/queues") if q["name"] == "sales"]
    return int(queue["waiting"])


async def request_callback(gw: Gateway) -> Sipp:
    """A caller waits, presses 1 at the offer (1 s in) and 1 to confirm; the gateway says
    goodbye and hangs up (the caller waits for the BYE)."""
    pcaps = gw.tmp / "pcaps"
    pcaps.mkdir(exist_ok=True)
    tone, dtmf = pcaps / "tone.pcap", pcaps / "dtmf11.pcap"
    write_pcap(tone, tone_packets(440.0, 3.0))
    write_pcap(dtmf, dtmf_packets("11"))
    scenario = render_scenario(str(SCENARIO), gw.tmp, pcap=tone, caller=CALLER, dtmf=dtmf,
                               dtmf_after_ms=2500, hold_ms=15000)  # fmt: skip
    sipp = Sipp(scenario, sip_port=gw.trunk_port, media_port=block(gw.rtp_range, 4),
                target=("127.0.0.1", gw.edge_port), service=SALES, log_dir=gw.tmp,
                timeout_s=30)  # fmt: skip
    await sipp.start()
    assert await sipp.wait(30) == 0, sipp.errors() + gw.log()
    return sipp


async def callback_while_alice_is_paused(gw: Gateway) -> dict[str, Any]:
    await gw.wait_for("alice available", lambda: _equals(gw.agent_state("alice"), "available"))
    assert (await gw.api.post("/agents/alice/pause", json={"reason": "meeting"})).status_code == 200
    await request_callback(gw)
    (cb,) = await callbacks(gw)
    return cb


async def carrier_uas(gw: Gateway, *, reject: int | None = None) -> Sipp:
    """The carrier's side of the outbound call: reject with a code, or answer with 440 Hz
    and hang up 2.5 s later."""
    if reject is not None:
        scenario = render_scenario("edge_worker_reject.xml", gw.tmp, code=reject)
    else:
        scenario = render_scenario("uas_tone.xml", gw.tmp, tone_pcap=gw.pcap(440, 4.0),
                                   end=uas_bye(2500), answer_delay_ms=200)  # fmt: skip
    sipp = Sipp(scenario, sip_port=gw.uas_port, media_port=block(gw.rtp_range, 4),  # type: ignore[attr-defined]
                log_dir=gw.tmp, timeout_s=40)  # fmt: skip
    await sipp.start()
    return sipp


async def incoming(phone: AgentProcess, n: int, timeout: float = 15.0) -> dict[str, Any]:
    for _ in range(int(timeout / 0.05)):
        found = phone.find("incoming")
        if len(found) >= n:
            return found[n - 1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no incoming #{n}: {phone.events[-15:]}")


async def test_callback_keeps_its_place_retries_and_bridges_both_ways(
    gw: Gateway, alice: AgentProcess
) -> None:
    cb = await callback_while_alice_is_paused(gw)
    assert (cb["state"], cb["number"], cb["queue"], cb["attempts"]) == (
        "pending",
        CALLER,
        "sales",
        0,
    )

    async def disposition() -> str | None:
        with db(gw) as conn:
            row = conn.execute("SELECT disposition FROM calls WHERE id = ?",
                               (uuid.UUID(cb["call_id"]).hex,)).fetchone()  # fmt: skip
        return row[0] if row else None

    assert await gw.wait_for("the caller's record", disposition, timeout=5) == "callback"
    second = await gw.call(SALES, hold_ms=11000, caller=SECOND)  # behind the callback
    await gw.wait_for("two waiting", lambda: _equals(waiting(gw), 2), timeout=5)
    uas = await carrier_uas(gw, reject=480)
    assert (await gw.api.post("/agents/alice/unpause")).status_code == 200
    first = await incoming(alice, 1)
    assert CALLER.lstrip("+") in first["from"], first  # the callback before the second caller
    assert await uas.wait(20) == 0, uas.errors() + gw.log()  # the outbound INVITE: 480
    after = await gw.wait_for("the retry scheduled", lambda: _attempts(gw, 1), timeout=10)
    assert after["last_result"] == "no-answer 480" and after["not_before"] is not None
    uas = await carrier_uas(gw)  # the retry will be answered
    served = await incoming(alice, 2)
    assert SECOND.lstrip("+") in served["from"], served  # served while the retry waits
    assert await second.wait(25) == 0, second.errors()
    retry = await incoming(alice, 3, timeout=20)
    assert CALLER.lstrip("+") in retry["from"], retry
    assert await uas.wait(30) == 0, uas.errors() + gw.log()
    done = await gw.wait_for("completed", lambda: _state(gw, cb["id"], "completed"), timeout=15)
    assert done["attempts"] == 2 and done["agent"] == "alice"
    assert await callbacks(gw) == []  # nothing pending: never placed twice
    outbound = done["outbound_call_id"]

    async def closed() -> tuple[Any, ...] | None:
        with db(gw) as conn:
            row = conn.execute(
                "SELECT initiation, callback_of, disposition, agent, recording_stereo, caller "
                "FROM calls WHERE id = ? AND ended_at IS NOT NULL AND recording_stereo IS NOT NULL",
                (uuid.UUID(outbound).hex,),
            ).fetchone()
        return tuple(row) if row else None

    row = await gw.wait_for("the callback's call record", closed, timeout=15)
    assert row[:4] == ("callback", uuid.UUID(cb["call_id"]).hex, "answered", "alice")
    assert row[5] == CALLER
    path = Path(row[4])
    if not path.is_absolute():
        path = gw.tmp / "var" / path if (gw.tmp / "var" / path).exists() else gw.tmp / path
    stereo, rate = read_channels(str(path))
    customer, agent = (
        stereo[int(0.3 * rate) : int(2.0 * rate), 0],
        stereo[int(0.3 * rate) : int(2.0 * rate), 1],
    )
    assert abs(dominant_frequency(customer, rate) - 440) < 15, "the customer's tone"
    assert abs(dominant_frequency(agent, rate) - 1000) < 15, "alice's tone"
    assert callback_events(gw) == ["callback.requested", "callback.dialing", "callback.failed",
                                   "callback.dialing", "callback.completed"]  # fmt: skip


async def test_a_pending_callback_survives_a_restart_once_and_is_cancelled(
    gw: Gateway, alice: AgentProcess
) -> None:
    cb = await callback_while_alice_is_paused(gw)
    assert await gw.stop() == 0, gw.log()
    gw.api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.api_port}", timeout=5)
    await gw.start()  # the edge lost alice's registration: logged out until she renews it
    await gw.api.post("/agents/alice/pause", json={"reason": "meeting"})  # 409 if logged out
    assert [c["id"] for c in await callbacks(gw)] == [cb["id"]]
    assert await waiting(gw) == 1  # back at its place, exactly once
    r = await gw.api.post(f"/api/v1/callbacks/{cb['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    assert await waiting(gw) == 0 and await callbacks(gw) == []
    again = await gw.api.post(f"/api/v1/callbacks/{cb['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.text
    assert callback_events(gw)[-2:] == ["callback.requested", "callback.cancelled"]


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _attempts(gw: Gateway, n: int) -> dict[str, Any] | None:
    found = await callbacks(gw)
    return (
        found[0] if found and found[0]["attempts"] == n and found[0]["state"] == "pending" else None
    )


async def _state(gw: Gateway, callback_id: str, state: str) -> dict[str, Any] | None:
    r = await gw.api.get(f"/api/v1/callbacks/{callback_id}")
    return r.json() if r.status_code == 200 and r.json()["state"] == state else None  # type: ignore[no-any-return]
