"""10,000+ mutated SIP messages at the edge and at a worker change nothing (issue 14).

A real `contactgw run` (Kamailio edge, two pjsua2 workers, sipp carrier, a pjsua2 agent).
tests/support/sip_fuzz.py builds the messages from RFC 3261 seeds; its sender checks after
every 100 messages that the target still answers an OPTIONS (and so paces itself to the
target's speed). Then: every process of the gateway is the one that was there before, /health
is ok, no call record was written, the log holds no raw control or non-UTF-8 byte and no
traceback, and a carrier call is answered by the agent with audio both ways.

Pike: the fuzz comes from 127.0.0.1 like the agent's phone, and the edge's default limit
(30 requests / 2 s) would stop it at the door -- after parsing and `sanity_check` but before
the routing logic (CANCEL, in-dialog, REGISTER digest, unknown-source 403) that the fuzz is
meant to reach -- and ban the phone's re-REGISTERs. So this gateway raises `pike_density`;
pacing under the limit would take 11 minutes per 10,000; pike itself is tested in
tests/integration/edge/test_edge_security.py.

Ports: SIP 30000-30999 and RTP 56000-57999 are this suite's (no other suite uses them).
`CONTACTGW_FUZZ_SEED` / `CONTACTGW_FUZZ_COUNT` reproduce a run or make it longer.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support import sip_fuzz
from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import read_channels, tone_power
from tests.support.gateway_env import Gateway
from tests.support.ports import block

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SIP_RANGE, RTP_RANGE = (30000, 30999), (56000, 57999)
SEED, COUNT = sip_fuzz.seed(), sip_fuzz.count()
DID = "+15550100100"
TARGET = sip_fuzz.Target("127.0.0.1", 5060, "127.0.0.1", 5070)  # a case's kind needs no port
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": DID, "queue": "sales"}],
    "default_route": {"announcement": "not_in_service"},
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


def descendants(root: int) -> dict[int, str]:
    """pid -> command line of `root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out: dict[int, str] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            out[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        todo += children.get(pid, [])
    return out


def log_problems(raw: bytes) -> list[str]:
    """Lines of the gateway's log that hold a raw control or non-UTF-8 byte, a traceback,
    or an ERROR: a malformed message is the sender's fault, not an error of the gateway."""
    bad = []
    for n, line in enumerate(raw.split(b"\n"), 1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(f"{n}: not UTF-8: {line[:200]!r}")
            continue
        level = text.split(" ", 3)[2] if text.count(" ") >= 3 else ""
        raw_control = not all(ch.isprintable() or ch == "\t" for ch in text)
        if raw_control or level in ("ERROR", "CRITICAL") or "Traceback" in text:
            bad.append(f"{n}: {text[:200]!r}")
    return bad


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(
        tmp_path_factory.mktemp("fuzz"),
        ROUTING,
        workers=2,
        overrides={"edge": {"pike_density": 100000}},
        sip_range=SIP_RANGE,
        rtp_range=RTP_RANGE,
    )
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def alice(gw: Gateway) -> AsyncIterator[AgentProcess]:
    # start_phone's arguments plus a recording of what the phone hears (the caller's tone)
    phone = await AgentProcess.start([
        "--user", "alice", "--password", "alice-pw", "--domain", "127.0.0.1",
        "--registrar", f"sip:127.0.0.1:{gw.edge_port}",
        "--sip-port", str(block(SIP_RANGE, 1, align=1)), "--rtp-port", str(block(RTP_RANGE, 8)),
        "--tone", "1000", "--answer-after", "0.3", "--expires", "60",
        "--record", str(gw.tmp / "alice-{n}.wav"),
    ])  # fmt: skip
    await phone.wait_event("registration", registered=True)

    async def available() -> bool:
        return await gw.agent_state("alice") == "available"

    await gw.wait_for("alice available", available, timeout=10)
    yield phone
    await phone.stop()


async def fuzz(gw: Gateway, port: int, offset: int) -> sip_fuzz.Stats:
    target = sip_fuzz.Target("127.0.0.1", port, "127.0.0.1", block(SIP_RANGE, 1, align=1))
    print(f"\nfuzz {target.host}:{port}: {SIP_FUZZ_HELP}")
    stats = await asyncio.to_thread(
        sip_fuzz.send,
        target,
        sip_fuzz.cases(SEED + offset, target, COUNT),
        max_seconds=max(240, COUNT / 200),
    )
    print(f"  {stats.sent} sent in {stats.seconds:.1f} s ({stats.sent / stats.seconds:.0f}/s), "
          f"{stats.probes} probes (slowest {stats.probe_max_ms:.0f} ms), "
          f"replies {dict(stats.responses.most_common())}")  # fmt: skip
    assert stats.sent == COUNT, stats
    return stats


SIP_FUZZ_HELP = (
    f"{sip_fuzz.SEED_ENV}={SEED} {sip_fuzz.COUNT_ENV}={COUNT} (edge: SEED, worker: SEED + 1)"
)


async def test_fuzz_at_the_edge_and_a_worker_changes_nothing(
    gw: Gateway, alice: AgentProcess
) -> None:
    assert gw.proc is not None
    before = descendants(gw.proc.pid)
    kamailio = [p for p, cmd in before.items() if "kamailio" in cmd]
    workers = [p for p, cmd in before.items() if "gateway.sip.worker" in cmd]
    assert kamailio and len(workers) == 2, before

    await fuzz(gw, gw.edge_port, 0)
    # From a source that is neither a worker nor the trunk, nothing becomes a call.
    assert await gw.get("/cdr?limit=5") == [], "a call record for the edge's fuzz"

    await fuzz(gw, gw.worker_port, 1)  # w1

    async def calls_over() -> bool:  # the announcements of such calls end by themselves
        return await gw.get("/calls") == []

    await gw.wait_for("the fuzz's calls over", calls_over, timeout=20)
    # A worker takes INVITEs from whoever reaches its port (docs/reliability.md): a mutant
    # pjsip still parses as a whole INVITE (headers reordered or duplicated, a hostile but
    # quoted display name) is a call to an unknown number by SIP's rules, and must get just
    # that: announcement, 404, a record saying so. Anything else is a false record.
    for row in await gw.get("/cdr?limit=200"):
        case = re.fullmatch(rf"fuzz-{SEED + 1}-(\d+)@fuzz\.invalid", row["sip_call_id"])
        if case:  # (a mutated Call-ID names no case)
            assert sip_fuzz.case(SEED + 1, int(case[1]), TARGET).seed_name == "INVITE", row
        assert (row["disposition"], row["caller_sip_code"], row["did"]) == (
            "unknown_did", 404, "+15559990000"), row  # fmt: skip
        assert (row["agent"], row["offers"], row["queue"]) == (None, [], None), row

    after = descendants(gw.proc.pid)
    gone = {pid: cmd for pid, cmd in before.items() if after.get(pid) != cmd}
    assert not gone, f"processes died or changed: {gone}\n{gw.log()}"
    health = await gw.wait_health("ok", timeout=10)
    assert health["workers"]["up"] == 2 and health["edge_up"], health
    assert await gw.agent_state("alice") == "available"
    problems = log_problems(gw.log_path.read_bytes())
    assert not problems, "\n".join(problems[:20])


async def test_an_invite_larger_than_a_workers_buffer_is_refused_not_cut(gw: Gateway) -> None:
    """pjsip reads a datagram into 4000 bytes and parsed what fit: a 4.6 KB INVITE straight
    to a worker became a call (183, announcement, 404, a record) made of its first 4000
    bytes. Found by this fuzz; the worker now answers 513 and nothing is recorded."""
    target = sip_fuzz.Target(
        "127.0.0.1", gw.worker_port + 1, "127.0.0.1", block(SIP_RANGE, 1, align=1)
    )
    m = sip_fuzz.SEEDS["INVITE"](target, "cut-off@fuzz.invalid", random.Random(1))
    m.headers.append(("X-Pad", "x" * 3990))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((target.local_host, target.local_port))
        sock.settimeout(5)
        sock.sendto(m.render(), (target.host, target.port))
        codes = []
        while not codes or codes[-1] < 200:
            reply = sock.recv(70_000)
            codes.append(int(reply.split(b" ", 2)[1]))
    assert codes[-1] == 513, codes
    await asyncio.sleep(1.0)  # a call would have its record by now
    rows = await gw.get("/cdr?limit=200")
    assert "cut-off@fuzz.invalid" not in [r["sip_call_id"] for r in rows], rows


async def test_the_next_call_is_answered_with_audio_both_ways(
    gw: Gateway, alice: AgentProcess
) -> None:
    sipp = await gw.call(DID, hold_ms=4000)
    rc = await sipp.wait(40)
    assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
    (row,) = await gw.cdr(1)
    assert (row["disposition"], row["agent"], row["hangup_by"]) == ("answered", "alice", "caller")

    async def recorded() -> Any:
        return (await gw.get("/cdr?limit=1"))[0]["recording_stereo"]

    audio, rate = read_channels(str(await gw.wait_for("stereo recording", recorded)))
    left, right = audio[:, 0], audio[:, 1]
    assert tone_power(left, rate, 440) > 20 * tone_power(left, rate, 1000), "caller -> gateway"
    assert tone_power(right, rate, 1000) > 20 * tone_power(right, rate, 440), "agent -> gateway"
    assert len(left) / rate > 2.0
    # and the agent's phone heard the caller
    heard = await alice.wait_event("recording", timeout=10)
    mono, rate = read_channels(heard["path"])
    assert tone_power(mono[:, 0], rate, 440) > 20 * tone_power(mono[:, 0], rate, 1000)
