"""A worker takes SIP requests only from the edge (issue 14; docs/worker.md, "Who may send
to a worker"). Everything runs on 127.0.0.1, so the edge is told apart by address *and*
port: Kamailio forwards from its one listening socket, anything else is foreign.

1. A bare pool told to allow only one source: an INVITE from elsewhere gets 403 and the
   control plane sees no leg event, only the count (``ForeignRequests``).
2. A real `contactgw run` (Kamailio edge, a pjsua2 worker, a pjsua2 agent): a well-formed
   INVITE for a routed DID sent straight to the worker from another port of 127.0.0.1 gets
   403; no call, no record, no offer, the worker is the same process; the counter says 1;
   and the next carrier call through the edge is answered by the agent.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.ipc import protocol as p
from gateway.supervisor.config import PoolEvent
from tests.integration.worker.conftest import expect_refusal
from tests.support import sip_fuzz
from tests.support.gateway_env import Gateway, start_phone
from tests.support.ports import block

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

DID = "+15550100100"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": DID, "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}
CALL_EVENTS = (p.IncomingCall, p.LegStateChanged, p.CallRejected, p.RtpQuality)


async def test_a_pool_worker_refuses_a_foreign_invite_with_no_leg_event(
    make_harness: Callable[..., Any],
) -> None:
    h = await make_harness(1, sip_allow=("127.0.0.1:1",))  # nobody here sends from port 1
    port = h.pool.workers()[0].sip_port
    await expect_refusal(h.tmp, port, 403)
    await expect_refusal(h.tmp, port, 403)

    def foreign(ev: PoolEvent) -> bool:
        return isinstance(ev.event, p.ForeignRequests)

    def counted() -> int:
        return sum(ev.event.count for ev in h.find(foreign))  # type: ignore[union-attr]

    for _ in range(50):  # reported at most once a second
        if counted() >= 2:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.1)  # and nothing more comes
    assert counted() == 2, h.history
    assert [ev for ev in h.history if isinstance(ev.event, CALL_EVENTS)] == []
    assert h.pool.capacity().legs == 0 and h.pool.workers()[0].state == "up"


def worker_log(gw: Gateway, worker_id: str) -> str:
    """What the worker wrote to its log (``<run_dir>/logs/<id>.log``)."""
    logs = gw.tmp.rglob(f"logs/{worker_id}.log")
    return "".join(path.read_text(errors="replace") for path in logs)


def worker_pid(sip_port: int) -> int:
    """The pid of the worker process listening on ``sip_port`` (by its command line)."""
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gateway.sip.worker" in args and str(sip_port).encode() in args:
            return int(entry.name)
    raise AssertionError(f"no worker on port {sip_port}")


def ack_for(response: bytes, uri: str) -> bytes:
    """The ACK of a non-2xx final response (RFC 3261 17.1.1.3): its Via, From, To, Call-ID."""
    head = response.decode(errors="replace").split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    keep = [line for line in head if line.split(":", 1)[0].lower() in ("via", "from", "to",
                                                                           "call-id")]  # fmt: skip
    cseq = next(line for line in head if line.lower().startswith("cseq:")).split()[1]
    lines = [f"ACK {uri} SIP/2.0", *keep, f"CSeq: {cseq} ACK", "Max-Forwards: 70",
             "Content-Length: 0"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_invite(worker_port: int, local_port: int, call_id: str) -> list[int]:
    """A well-formed INVITE for the routed DID from 127.0.0.1:local_port; the status
    codes it got, final last (ACKed)."""
    target = sip_fuzz.Target("127.0.0.1", worker_port, "127.0.0.1", local_port, user=DID)
    m = sip_fuzz.SEEDS["INVITE"](target, call_id, random.Random(7))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", local_port))
        sock.settimeout(5)
        sock.sendto(m.render(), ("127.0.0.1", worker_port))
        codes: list[int] = []
        while not codes or codes[-1] < 200:
            reply = sock.recv(70_000)
            codes.append(int(reply.split(b" ", 2)[1]))
        sock.sendto(ack_for(reply, m.start.split()[1]), ("127.0.0.1", worker_port))
    return codes


async def test_behind_the_edge_a_direct_invite_is_refused_and_the_next_call_works(
    tmp_path: Path,
) -> None:
    gw = Gateway(tmp_path, ROUTING, workers=1)
    await gw.start()
    phone = None
    try:
        phone = await start_phone(gw, "alice")

        async def available() -> bool:
            return await gw.agent_state("alice") == "available"

        await gw.wait_for("alice available", available, timeout=10)
        pid = worker_pid(gw.worker_port)

        codes = await asyncio.to_thread(
            send_invite, gw.worker_port, block(gw.sip_range, 1, align=1), "direct@foreign.test"
        )
        assert codes[-1] == 403, codes

        async def counted() -> float:
            return await gw.metric("contactgw_worker_foreign_requests_total", worker="w1")

        assert await gw.wait_for("the foreign request counted", counted, timeout=5) == 1.0
        await asyncio.sleep(1.0)  # an accepted call would be offered to alice by now
        assert await gw.get("/calls") == []
        assert await gw.get("/cdr?limit=5") == []
        assert await gw.agent_state("alice") == "available"
        assert phone.find("incoming") == [], "the agent was offered the foreign call"
        assert worker_pid(gw.worker_port) == pid, "the worker died or was restarted"
        assert (await gw.wait_health("ok", timeout=5))["workers"]["up"] == 1
        assert worker_log(gw, "w1").count("from sources other than the edge") == 1

        sipp = await gw.call(DID, hold_ms=2000)
        assert await sipp.wait(40) == 0, f"{sipp.errors()}\n{gw.log()}"
        (row,) = await gw.cdr(1)
        assert (row["disposition"], row["agent"]) == ("answered", "alice"), row
        assert await gw.metric("contactgw_worker_foreign_requests_total", worker="w1") == 1.0
    finally:
        if phone is not None:
            await phone.stop()
        rc = await gw.stop()
    assert rc == 0, gw.log()
