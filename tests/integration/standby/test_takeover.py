"""A standby `contactgw run` on PostgreSQL (gateway/control/standby.py), as on one host:
two processes with the same config and database. B waits on the lock while A is active
(alive, no port bound, one log line naming A); A is SIGKILLed while a carrier call (sipp)
talks to an agent (pjsua2 phone); B becomes active within a bound, adopting the workers
and the edge: the call goes on and ends with its whole record, and a new call is
answered by the agent; then B's lock session is terminated while someone else waits
for the lock: B stops at once with exit status 3 (never two actives).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.control.standby import EXIT_LOCK_LOST, holder_name

# `gw`: the PostgreSQL gateway test's gateway (one worker, one queue, alice, DID)
from tests.integration.postgres.test_gateway_on_postgres import DID, gw  # noqa: F401
from tests.integration.standby.conftest import connection, lock_backend, wait_for_lock
from tests.support.gateway_env import REPO, Gateway, start_phone
from tests.support.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

TAKEOVER_BOUND_S = 30.0
TALK_MS = 8000  # the call talking across the takeover


async def start_standby(a: Gateway) -> Gateway:
    """A second `contactgw run` on A's config file, as a Gateway that shares A's ports,
    registrar and config (copy), with its own process, log and API client."""
    b = copy.copy(a)
    b.log_path = a.tmp / "standby.log"
    b.api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{a.api_port}", timeout=5)
    with b.log_path.open("ab") as log:
        b.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "run", "--config", str(a.config_path),
            stdout=log, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
            cwd=str(REPO),
        )  # fmt: skip
    return b


def holder(gateway: Gateway) -> str:
    assert gateway.proc is not None
    return holder_name(gateway.proc.pid, socket.gethostname())


def bound_sockets(pid: int) -> set[int]:
    """Inodes of the process's listening TCP and bound UDP sockets (/proc, no psutil)."""
    mine = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with_target = os.readlink(fd) if fd.is_symlink() else ""
        if found := re.fullmatch(r"socket:\[(\d+)\]", with_target):
            mine.add(int(found[1]))
    bound = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if table.startswith("udp") or fields[3] == "0A":  # 0A: LISTEN
                bound.add(int(fields[9]))
    return mine & bound


async def test_a_standby_waits_takes_over_answers_calls_and_stops_when_its_lock_is_lost(
    gw: Gateway,  # noqa: F811 - the imported fixture
    pg: asyncpg.Connection,
    pg_url: str,
) -> None:
    a = gw
    assert a.proc is not None
    phone = await start_phone(a, "alice", tone=1000, answer_after=0.3)
    b = await start_standby(a)
    assert b.proc is not None
    try:
        # B waits: alive, one log line naming A, no port bound, A holds the lock
        waiting = f"standby: waiting for the active control plane (pid {a.proc.pid}, host "
        assert await wait_for(lambda: waiting in b.log(), 20), b.log()
        assert b.proc.returncode is None and await lock_backend(pg, holder(a)) is not None
        assert bound_sockets(b.proc.pid) == set(), b.log()
        assert b.log().count("standby: waiting") == 1

        # a call is talking when A dies without a word; B takes over within the bound
        await a.wait_for("alice available", lambda: available(a), timeout=20)
        talking = await a.call(DID, hold_ms=TALK_MS)
        await a.wait_for("alice talking", lambda: connected(a), timeout=20)
        killed = time.monotonic()
        a.proc.send_signal(signal.SIGKILL)
        await a.proc.wait()
        await b.wait_for("B running", lambda: running(b), timeout=TAKEOVER_BOUND_S)
        took = time.monotonic() - killed
        print(f"standby running {took:.1f} s after the active's SIGKILL")
        print("\n".join(line for line in b.log().splitlines() if "standby" in line))
        assert "standby: the active control plane is gone: taking over" in b.log()
        assert await lock_backend(pg, holder(b)) is not None

        # the talking call goes on under B and ends normally, with its whole record
        assert await talking.wait(30) == 0, f"{talking.errors()}\n{b.log()}"
        (row,) = await b.cdr(1)
        assert (row["agent"], row["disposition"]) == ("alice", "answered"), row
        assert row["talk_seconds"] >= TALK_MS / 1000 - 1, row

        # B serves new calls: alice (registered at the adopted edge) answers one
        await b.wait_for("alice available", lambda: available(b), timeout=20)
        sipp = await b.call(DID, hold_ms=1500)
        assert await sipp.wait(30) == 0, f"{sipp.errors()}\n{b.log()}"
        newest, first = await b.cdr(2)
        assert (newest["agent"], newest["disposition"]) == ("alice", "answered"), newest
        assert first["id"] == row["id"]

        # B's lock session is terminated while another session waits: B stops at once
        contender = asyncio.ensure_future(wait_for_lock(pg))
        async with connection(pg_url) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend($1)", await lock_backend(admin, holder(b))
            )
        await asyncio.wait_for(contender, 10)
        rc = await asyncio.wait_for(b.proc.wait(), 15)
        assert rc == EXIT_LOCK_LOST, b.log()
        assert "control-plane lock lost (another control plane took the lock" in b.log()
    finally:
        await phone.stop()
        if b.proc.returncode is None:
            b.proc.kill()
            await b.proc.wait()
        await b.api.aclose()


async def available(gateway: Gateway) -> bool:
    return await gateway.agent_state("alice") == "available"


async def connected(gateway: Gateway) -> bool:
    return any(c["state"] == "connected" for c in await gateway.get("/calls"))


async def running(gateway: Gateway) -> bool:
    """Serving: edge, database and worker up (not "ok": an adopted worker does not
    report the trunk's registration again, so /health stays "degraded" until it does)."""
    with contextlib.suppress(httpx.HTTPError):
        h = (await gateway.api.get("/health")).json()  # 503 while "degraded"
        return bool(h["edge_up"] and h["database_ok"] and h["workers"]["up"] == 1)
    return False
