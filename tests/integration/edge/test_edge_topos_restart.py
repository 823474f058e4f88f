"""What an edge restart does to calls that are up, now that the edge strips topology.

topos keeps each dialog's Via/Record-Route/Contact records in the edge's memory; the
peers address in-dialog requests to the edge's own `atpsh-`/`btpsh-` Contact. After a
crash and restart those records are gone: the test pins down what a BYE of such a call
then gets (docs/edge.md, "Failure behaviour").
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid

import pytest

from gateway.edge import TrunkSource, WorkerDestination
from tests.integration.edge.conftest import EdgeFactory
from tests.integration.edge.test_edge_latency import udp
from tests.integration.edge.test_edge_topos import headers, large_invite
from tests.support.edge_env import sip_port
from tests.support.polling import wait_for

pytestmark = pytest.mark.integration


def reply(request: bytes, status: str, to_tag: str, contact: str) -> bytes:
    head = request.decode().split("\r\n\r\n", 1)[0].split("\r\n")
    keep = [h for h in head[1:] if h.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")]
    to = next(h for h in head[1:] if h.lower().startswith("to:"))
    return (
        f"SIP/2.0 {status}\r\n" + "\r\n".join(keep) + f"\r\n{to};tag={to_tag}\r\n"
        f"Contact: <{contact}>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def in_dialog(method: str, ok: bytes, trunk_port: int, cseq: int) -> bytes:
    """ACK or BYE from the trunk, to the 200's Contact (the edge's, under topos)."""
    contact = headers(ok, "Contact")[0].split("<", 1)[1].split(">", 1)[0]
    pick = {h.split(":", 1)[0].lower(): h for h in headers(ok, "From") + headers(ok, "To")}
    call_id = headers(ok, "Call-ID")[0]
    return (
        f"{method} {contact} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{trunk_port};branch=z9hG4bK{uuid.uuid4().hex[:16]}\r\n"
        f"{pick['from']}\r\n{pick['to']}\r\n{call_id}\r\nCSeq: {cseq} {method}\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def first_final(sock: socket.socket) -> bytes:
    while True:
        data = sock.recv(65535)
        if data.startswith(b"SIP/2.0 ") and not data.startswith(b"SIP/2.0 1"):
            return data


async def test_a_bye_after_an_edge_restart_gets_a_final_answer(edge_factory: EdgeFactory) -> None:
    trunk_port, worker_port = sip_port(), sip_port()
    edge = await edge_factory(
        workers=(WorkerDestination("w1", "127.0.0.1", worker_port, 0),),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
        ping_interval_s=60,
    )
    port = edge.settings.listen_port
    with udp(trunk_port) as trunk, udp(worker_port) as worker:
        invite, _ = large_invite(port, trunk_port, 1, 3000)
        trunk.sendto(invite, ("127.0.0.1", port))
        got, src = worker.recvfrom(65535)
        worker.sendto(reply(got, "200 OK", "w1tag", f"sip:w1@127.0.0.1:{worker_port}"), src)
        ok = first_final(trunk)
        assert ok.startswith(b"SIP/2.0 200"), ok[:80]
        trunk.sendto(in_dialog("ACK", ok, trunk_port, 1), ("127.0.0.1", port))
        assert worker.recv(65535).startswith(b"ACK ")

        old_pid = edge.process.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        assert await wait_for(
            lambda: edge.process.ready.is_set() and edge.process.pid not in (None, old_pid),
            timeout=10.0,
        )
        await asyncio.sleep(0.5)
        trunk.sendto(in_dialog("BYE", ok, trunk_port, 2), ("127.0.0.1", port))
        answer = await asyncio.to_thread(first_final, trunk)
        status = answer.split(b"\r\n", 1)[0].decode()
        print(f"BYE after restart: {status}")
        # the record died with the old process: the edge answers, the worker never hears it
        assert answer.startswith(b"SIP/2.0 404"), answer[:80]
        worker.settimeout(0.5)
        with pytest.raises(TimeoutError):
            worker.recv(65535)
