"""Large carrier INVITEs (issue 14, problem 2), through the whole gateway.

A carrier's INVITE behind a chain of SBCs (dozens of Via and Record-Route headers, a
STIR/SHAKEN Identity header) is several KB. pjsip's packet buffer is compiled into our
pjsua2 wheel at 4000 bytes: without topology stripping at the edge a worker accepted a
~3.9 KB INVITE but could not send a single response (they copy the Via/Record-Route set),
so the carrier got only the edge's 100 while the call record said the call went on.

`contactgw run` (real Kamailio edge, real pjsua2 workers, a pjsua2 softphone as the agent)
with sipp as the carrier:
- 3.9 KB and 8 KB INVITEs get their final response: 404 after the announcement for an
  unknown DID, 200 from the agent for a routed DID, and the call record matches;
- an INVITE over `max_message_bytes` (9216: what topos can store, measured in
  docs/edge.md), 9.4 KB or 20 KB, is refused `513 Message Too Large` by the edge itself:
  no worker sees it, no call record.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.agent_ua_client import AgentProcess
from tests.support.gateway_env import Gateway, start_phone
from tests.support.ports import block
from tests.support.sipp import Sipp, render_scenario, sbc_padding

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

# the edge suite's port ranges (tests/support/edge_env.py), not the e2e ones
SIP_RANGE, RTP_RANGE = (23000, 24999), (45000, 47999)
ROUTED, UNKNOWN = "+15550100100", "+15559990000"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": ROUTED, "queue": "sales"}],
    "default_route": {"announcement": "not_in_service"},
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}
BASE_INVITE = 560  # bytes of trunk_call*.xml's INVITE without padding, roughly


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(
        tmp_path_factory.mktemp("large"),
        ROUTING,
        workers=2,
        sip_range=SIP_RANGE,
        rtp_range=RTP_RANGE,
    )
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def alice(gw: Gateway) -> AsyncIterator[AgentProcess]:
    phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
    try:
        await gw.wait_for("alice available", lambda: _available(gw), timeout=10)
        yield phone
    finally:
        await phone.stop()


async def _available(gw: Gateway) -> bool:
    return await gw.agent_state("alice") == "available"


def large_caller(
    gw: Gateway,
    did: str,
    size: int,
    *,
    code: int | None = None,
    target: int | None = None,
    identity_bytes: int = 720,
) -> Sipp:
    """sipp as the carrier: one call whose INVITE is about `size` bytes, to the edge (or
    straight to port `target`)."""
    padding = sbc_padding(size - BASE_INVITE, identity_bytes=identity_bytes)
    if code is None:
        scenario = render_scenario(
            "trunk_call_large.xml",
            gw.tmp,
            pcap=gw.pcap(440),
            hold_ms=2000,
            caller="+15551230000",
            padding=padding,
        )
    else:
        scenario = render_scenario(
            "trunk_call_large_rejected.xml",
            gw.tmp,
            code=code,
            caller="+15551230000",
            padding=padding,
        )
    trace = gw.tmp / f"{scenario.stem}-messages.log"
    return Sipp(
        scenario,
        sip_port=gw.trunk_port,
        media_port=block(RTP_RANGE, 4),
        target=("127.0.0.1", target or gw.edge_port),
        service=did,
        timeout_s=30,
        log_dir=gw.tmp,
        extra=["-trace_msg", "-message_file", str(trace)],
    )


def sent_invite_size(sipp: Sipp) -> int:
    trace = Path(sipp.args[sipp.args.index("-message_file") + 1])
    text = trace.read_text(errors="replace")
    match = re.search(r"message sent \((\d+) bytes\):\s+INVITE ", text)
    assert match, text[-2000:]
    return int(match.group(1))


def received(sipp: Sipp, status: int) -> bool:
    trace = Path(sipp.args[sipp.args.index("-message_file") + 1])
    return f"SIP/2.0 {status} " in trace.read_text(errors="replace")


async def run(gw: Gateway, sipp: Sipp) -> int:
    await sipp.start()
    rc = await sipp.wait(45)
    assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
    return sent_invite_size(sipp)


async def latest_cdr_id(gw: Gateway) -> Any:
    rows = await gw.get("/cdr?limit=1")
    return rows[0].get("id") if rows else None


@pytest.mark.parametrize("size", [3700, 3900, 8000, 9100])
async def test_large_invite_for_unknown_did_gets_its_404(gw: Gateway, size: int) -> None:
    sipp = large_caller(gw, UNKNOWN, size, code=404)
    sent = await run(gw, sipp)
    assert size - 150 <= sent <= size + 250, sent
    (row,) = await gw.cdr(1)
    assert row["disposition"] == "unknown_did", row
    assert row["caller_sip_code"] == 404


@pytest.mark.parametrize("size", [3700, 3900, 8000])
async def test_large_invite_for_a_routed_did_is_answered_by_the_agent(
    gw: Gateway, alice: AgentProcess, size: int
) -> None:
    sipp = large_caller(gw, ROUTED, size)
    sent = await run(gw, sipp)
    assert size - 150 <= sent <= size + 250, sent
    assert received(sipp, 200)
    (row,) = await gw.cdr(1)
    assert row["disposition"] == "answered", row
    assert row["agent"] == "alice" and row["hangup_by"] == "caller", row
    await gw.wait_for("alice available again", lambda: _available(gw), timeout=10)


@pytest.mark.parametrize("size", [9400, 20000])
async def test_an_invite_over_the_limit_is_refused_513_by_the_edge(gw: Gateway, size: int) -> None:
    before = await latest_cdr_id(gw)
    sipp = large_caller(gw, ROUTED, size, code=513)
    sent = await run(gw, sipp)
    assert sent > 9216  # max_message_bytes
    assert not received(sipp, 100) and not received(sipp, 183)
    assert await latest_cdr_id(gw) == before  # no worker saw it: no call


async def test_a_worker_refuses_an_invite_it_could_not_answer(
    gw: Gateway, alice: AgentProcess
) -> None:
    """Behind the edge a worker never gets such an INVITE (topos); sent straight to it, a
    3.85 KB INVITE of Via/Record-Route headers fits pjsip's 4000-byte buffer but its 200
    would not: pjsip fails to send it (PJSIP_EMSGTOOLONG) without telling pjsua2, which
    reports the call CONNECTING. Before the worker checked, the agent was bridged and the
    call recorded `answered` while the carrier heard nothing; now the worker refuses it
    513 and no call (no offer to the agent, no call record) comes of it."""
    before = await latest_cdr_id(gw)
    sipp = large_caller(gw, ROUTED, 3850, code=513, target=gw.worker_port, identity_bytes=0)
    sent = await run(gw, sipp)
    assert 3700 < sent < 4000, sent
    assert await gw.agent_state("alice") == "available"
    assert await latest_cdr_id(gw) == before
    assert "refused INVITE" in gw.log() and ": 513" in gw.log()
