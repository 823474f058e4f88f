"""Topology stripping at the edge (issue 14): what a worker receives from a large INVITE.

Plain UDP sockets play the trunk and the worker (as in test_edge_latency.py), so the test
sees the exact datagrams: an 8 KB INVITE from an SBC chain (Identity, dozens of Via and
Record-Route headers) reaches the worker with one Via and no Record-Route (under pjsip's
4000-byte packet limit), and the worker's short 404 reaches the trunk with every Via
restored. Also the per-INVITE latency the edge adds, small and large (docs/edge.md).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import pytest

from gateway.edge import TrunkSource, WorkerDestination
from tests.integration.edge.conftest import EdgeFactory
from tests.integration.edge.test_edge_latency import ack_for, reply_404, udp
from tests.support.edge_env import sip_port
from tests.support.sipp import sbc_padding

pytestmark = pytest.mark.integration

N = 30
PJSIP_MAX_PKT_LEN = 4000  # compiled into our pjsua2 wheel


def large_invite(edge_port: int, trunk_port: int, n: int, padding: int) -> tuple[bytes, str]:
    call_id = f"{uuid.uuid4().hex}@topos"
    branch = f"z9hG4bK{uuid.uuid4().hex[:16]}"
    extra = sbc_padding(padding).replace("\n", "\r\n") + "\r\n" if padding else ""
    sdp = (
        "v=0\r\no=trunk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    msg = (
        f"INVITE sip:4930{n:06d}@127.0.0.1:{edge_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{trunk_port};branch={branch}\r\n"
        f"{extra}"
        f"From: <sip:caller@127.0.0.1:{trunk_port}>;tag=t{n}\r\n"
        f"To: <sip:4930{n:06d}@127.0.0.1:{edge_port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:caller@127.0.0.1:{trunk_port}>\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"
    )
    return msg.encode(), branch


def headers(msg: bytes, name: str) -> list[str]:
    head = msg.decode().split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    return [h for h in head if h.split(":", 1)[0].strip().lower() == name.lower()]


def via_values(msg: bytes) -> list[str]:
    """Every Via value in order, whether in one header each or comma-joined (topos)."""
    return [v.strip() for h in headers(msg, "Via") for v in h.split(":", 1)[1].split(",")]


def exchange(
    edge_port: int, trunk_port: int, worker_port: int, padding: int
) -> tuple[list[float], bytes, bytes, bytes]:
    """N INVITEs answered 404 by the worker socket: (edge hold times, the last INVITE as
    sent, as the worker got it, the 404 as the trunk got it)."""
    held: list[float] = []
    sent = got = final = b""
    with udp(trunk_port) as trunk, udp(worker_port) as worker:
        for n in range(N):
            sent, branch = large_invite(edge_port, trunk_port, n, padding)
            t0 = time.perf_counter()
            trunk.sendto(sent, ("127.0.0.1", edge_port))
            got, src = worker.recvfrom(65535)
            held.append(time.perf_counter() - t0)
            assert got.startswith(b"INVITE "), got[:80]
            worker.sendto(reply_404(got), src)
            while True:  # 100 Trying from the edge, then the 404
                final = trunk.recv(65535)
                if final.startswith(b"SIP/2.0 404"):
                    break
            trunk.sendto(ack_for(final, edge_port, trunk_port, branch), ("127.0.0.1", edge_port))
            assert worker.recv(65535).startswith(b"ACK ")
    return held, sent, got, final


@pytest.mark.parametrize("padding", [0, 7600])
async def test_the_worker_gets_a_short_invite_and_the_trunk_its_vias_back(
    edge_factory: EdgeFactory, padding: int
) -> None:
    trunk_port, worker_port = sip_port(), sip_port()
    edge = await edge_factory(
        workers=(WorkerDestination("w1", "127.0.0.1", worker_port, 0),),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
        ping_interval_s=60,  # the raw worker socket does not answer probes
    )
    held, sent, got, final = await asyncio.to_thread(
        exchange, edge.settings.listen_port, trunk_port, worker_port, padding
    )
    p95 = sorted(held)[int(N * 0.95) - 1]
    print(
        f"INVITE {len(sent)} B -> worker gets {len(got)} B; edge hold median "
        f"{statistics.median(held) * 1000:.3f} ms, p95 {p95 * 1000:.3f} ms (N={N})"
    )
    if padding:
        assert len(sent) > 8000
    assert len(got) < PJSIP_MAX_PKT_LEN - 600  # room for pjsip's own response headers
    (via,) = headers(got, "Via")  # the edge's only
    assert f":{edge.settings.listen_port}" in via
    assert headers(got, "Record-Route") == []
    assert "tpsh-" in headers(got, "Contact")[0]  # the edge's Contact, not the caller's
    assert headers(got, "Identity") == headers(sent, "Identity")  # untouched
    # the trunk gets the Via set it sent, in order
    assert via_values(final) == via_values(sent)
    assert statistics.median(held) < 0.020
