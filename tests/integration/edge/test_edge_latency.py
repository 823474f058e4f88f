"""How long the edge holds an INVITE from the trunk before a worker gets it.

Both ends are plain UDP sockets in this process, so the two timestamps share one clock:
t0 just before the trunk's sendto, t1 just after the worker's recv. The same exchange
between two sockets directly gives the loopback baseline. Bounded: 40 INVITEs.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
import uuid

import pytest

from gateway.edge import TrunkSource, WorkerDestination
from tests.integration.edge.conftest import EdgeFactory
from tests.support.edge_env import sip_port

pytestmark = pytest.mark.integration

N = 40


def udp(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(2.0)
    return sock


def invite(edge_port: int, trunk_port: int, n: int) -> tuple[bytes, str]:
    call_id = f"{uuid.uuid4().hex}@latency"
    branch = f"z9hG4bK{uuid.uuid4().hex[:16]}"
    msg = (
        f"INVITE sip:4930{n:06d}@127.0.0.1:{edge_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{trunk_port};branch={branch}\r\n"
        f"From: <sip:caller@127.0.0.1:{trunk_port}>;tag=t{n}\r\n"
        f"To: <sip:4930{n:06d}@127.0.0.1:{edge_port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:caller@127.0.0.1:{trunk_port}>\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    return msg.encode(), branch


def reply_404(request: bytes) -> bytes:
    head = request.decode().split("\r\n\r\n", 1)[0].split("\r\n")
    keep = [h for h in head[1:] if h.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")]
    to = next(h for h in head[1:] if h.lower().startswith("to:"))
    return (
        "SIP/2.0 404 Not Found\r\n" + "\r\n".join(keep) + f"\r\n{to};tag=w\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def ack_for(response: bytes, edge_port: int, trunk_port: int, branch: str) -> bytes:
    head = response.decode().split("\r\n\r\n", 1)[0].split("\r\n")
    pick = {h.split(":", 1)[0].lower(): h for h in head[1:]}
    return (
        f"ACK sip:x@127.0.0.1:{edge_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{trunk_port};branch={branch}\r\n"
        f"{pick['from']}\r\n{pick['to']}\r\n{pick['call-id']}\r\nCSeq: 1 ACK\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def measure(edge_port: int, trunk_port: int, worker_port: int) -> tuple[list[float], list[float]]:
    via_edge: list[float] = []
    direct: list[float] = []
    with udp(trunk_port) as trunk, udp(worker_port) as worker:
        for n in range(N):
            data, branch = invite(edge_port, trunk_port, n)
            t0 = time.perf_counter()
            trunk.sendto(data, ("127.0.0.1", edge_port))
            got, src = worker.recvfrom(65535)
            t1 = time.perf_counter()
            assert got.startswith(b"INVITE "), got[:80]
            via_edge.append(t1 - t0)
            worker.sendto(reply_404(got), src)
            while True:  # 100 Trying from the edge, then our 404
                response = trunk.recv(65535)
                if response.startswith(b"SIP/2.0 404"):
                    break
            trunk.sendto(ack_for(response, edge_port, trunk_port, branch), ("127.0.0.1", edge_port))
            hop_ack = worker.recv(65535)  # the edge ACKs the 404 hop by hop
            assert hop_ack.startswith(b"ACK "), hop_ack[:80]
            # baseline: the same datagram straight from socket to socket
            t0 = time.perf_counter()
            trunk.sendto(data, ("127.0.0.1", worker_port))
            worker.recvfrom(65535)
            direct.append(time.perf_counter() - t0)
    return via_edge, direct


async def test_invite_latency_added_by_the_edge(edge_factory: EdgeFactory) -> None:
    trunk_port, worker_port = sip_port(), sip_port()
    edge = await edge_factory(
        workers=(WorkerDestination("w1", "127.0.0.1", worker_port, 0),),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
        ping_interval_s=60,  # the raw worker socket does not answer probes
    )
    via_edge, direct = await asyncio.to_thread(
        measure, edge.settings.listen_port, trunk_port, worker_port
    )
    added = statistics.median(via_edge) - statistics.median(direct)
    p95 = sorted(via_edge)[int(N * 0.95) - 1] - statistics.median(direct)
    print(f"edge adds {added * 1000:.3f} ms per INVITE (median of {N}; p95 {p95 * 1000:.3f} ms)")
    assert added < 0.020
