"""One active control plane per PostgreSQL database; the others wait as standbys.

Theory of operation
-------------------
With a PostgreSQL ``database.url``, `contactgw run` first takes a session-level advisory
lock (``pg_advisory_lock(LOCK_CLASS, lock_key(control.standby_key))``) on a connection of
its own that it holds for its whole life, before preflight, migrations or spawning. A
second `contactgw run` on the same database finds the lock taken, logs once who holds it
(the holder's ``application_name`` names its pid and host), and blocks in
``pg_advisory_lock``: it binds no port and serves nothing. When the active process dies
its connection closes, PostgreSQL releases the lock, and the standby starts normally
(adopting the workers and the edge the dead one left, where they survived it).

The two-int4 form of the lock is used: its key space never meets the bigint
``pg_advisory_xact_lock`` of the single writer (gateway/store/engine.py).

The lock session sets server-side TCP keepalives, so a host that vanishes without closing
its connection (power loss) loses the lock about 11 s later, not after the kernel's
default two hours. The active probes its connection every PROBE_INTERVAL_S.

A lost lock connection while active: with ``control.lock_grace`` 0 the process stops
serving at once (exit EXIT_LOCK_LOST; systemd restarts it, as a standby if another took
over). Otherwise it keeps serving while it reconnects and retakes the lock without
waiting (``pg_try_advisory_lock``): another holder means it stops at once; a database
still unreachable after ``lock_grace`` seconds means it stops too. So a PostgreSQL
restart or a short outage is ridden through, like the write-behind does for the writes,
and a terminated session with a standby waiting never leaves two actives.

SQLite has no such lock: a standby needs PostgreSQL (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # no stubs; used through Any
from sqlalchemy.engine import make_url

from gateway.control.preflight import PortsUnavailable

log = logging.getLogger("gateway.standby")
T = TypeVar("T")

LOCK_CLASS = 0x63677362  # "cgsb": the first key of pg_advisory_lock(int4, int4)
EXIT_LOCK_LOST = 3  # `contactgw run`'s exit status when it lost the lock while active
PROBE_INTERVAL_S = 2.0
PROBE_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
RETRY_INTERVAL_S = 0.5
# the server drops a silent peer's session (and lock) after idle + interval * count seconds
KEEPALIVES = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2",
              "tcp_keepalives_count": "3"}  # fmt: skip
NAMEDATALEN = 63  # PostgreSQL truncates application_name beyond this

CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
Connect = Callable[[], Awaitable[Any]]  # a new asyncpg.Connection (Any: a fake in tests)


def lock_key(name: str) -> int:
    """The second int4 key: a stable non-negative hash of ``name``."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def asyncpg_dsn(url: str) -> str | None:
    """The asyncpg DSN of a ``postgresql+asyncpg://`` URL; None for any other database."""
    parsed = make_url(url)
    if parsed.drivername != "postgresql+asyncpg":
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def holder_name(pid: int, host: str) -> str:
    """The lock session's application_name: who is active, for the standbys' log."""
    return f"contactgw pid={pid} host={host}"[:NAMEDATALEN]


def describe_holder(application_name: str | None, backend_pid: int | None) -> str:
    """``pid 123, host gw-a`` from a holder's application_name (what a standby logs)."""
    found = re.fullmatch(r"contactgw pid=(\d+) host=(\S*)", application_name or "")
    if found:
        return f"pid {found[1]}, host {found[2]}"
    return f"unknown: application_name {application_name!r}, backend pid {backend_pid}"


def connector(dsn: str, *, name: str) -> Connect:
    """Opens the lock's own connection: no statement or lock timeout (the standby blocks
    in pg_advisory_lock for as long as the active lives), keepalives, our name."""
    settings = {"application_name": name, "statement_timeout": "0", "lock_timeout": "0",
                "idle_in_transaction_session_timeout": "0", **KEEPALIVES}  # fmt: skip

    async def connect() -> Any:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S, server_settings=settings)

    return connect


TRY_SQL = "SELECT pg_try_advisory_lock($1, $2)"
HOLDER_SQL = """
SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2
  AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())
"""


@dataclass
class ControlLock:
    """The advisory lock of the active control plane, on its own connection.

    ``on_lost(reason)`` is called once when the lock is gone for good; in `contactgw run`
    it ends the process at once (see the module docstring)."""

    connect: Connect
    key: int
    on_lost: Callable[[str], None]
    grace: float = 0.0
    _conn: Any = None
    _broken: asyncio.Event | None = None
    _watch: asyncio.Task[None] | None = None
    _closing: bool = False

    async def acquire(self) -> bool:
        """Take the lock, waiting as a standby while another holds it; True if we waited.
        The first connection's failure is raised (the database is not there at all); a
        connection lost while waiting is reopened, and the wait goes on."""
        self._conn = await self.connect()
        if await self._conn.fetchval(TRY_SQL, LOCK_CLASS, self.key):
            self._hold()
            return False
        row = await self._conn.fetchrow(HOLDER_SQL, LOCK_CLASS, self.key)
        holder = describe_holder(row["application_name"], row["pid"]) if row else "gone already"
        log.info("standby: waiting for the active control plane (%s)", holder)
        while True:
            try:
                await self._conn.fetchval("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, self.key)
                break
            except CONNECT_ERRORS as exc:
                log.warning("standby: lost the database while waiting (%s); reconnecting", exc)
                await self._close()
                self._conn = await self._reconnect()
        log.info("standby: the active control plane is gone: taking over")
        self._hold()
        return True

    def _hold(self) -> None:
        self._broken = asyncio.Event()
        self._conn.add_termination_listener(self._terminated)
        self._watch = asyncio.get_running_loop().create_task(self._watch_lock())

    def _terminated(self, _conn: Any) -> None:
        if self._broken is not None:
            self._broken.set()

    async def _reconnect(self) -> Any:
        while True:
            with contextlib.suppress(*CONNECT_ERRORS):
                return await self.connect()
            await asyncio.sleep(RETRY_INTERVAL_S)

    async def _watch_lock(self) -> None:
        try:
            await self._watch_loop()
        except Exception as exc:  # a watch that died can vouch for nothing: give up
            log.exception("the control-plane lock watch failed")
            self.on_lost(f"the lock watch failed: {exc!r}")

    async def _watch_loop(self) -> None:
        assert self._broken is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._broken.wait(), PROBE_INTERVAL_S)
            if self._closing:
                return
            if self._broken.is_set() or not await self._probe():
                if not await self._retake():
                    return
                self._broken.clear()
                self._conn.add_termination_listener(self._terminated)

    async def _probe(self) -> bool:
        try:
            await asyncio.wait_for(self._conn.fetchval("SELECT 1"), PROBE_TIMEOUT_S)
        except CONNECT_ERRORS:
            return False
        return True

    async def _retake(self) -> bool:
        """After a lost lock connection: True if it is ours again; else on_lost was called."""
        await self._close()
        if self.grace <= 0:
            self.on_lost("the lock connection was lost")
            return False
        log.warning("lost the control-plane lock connection; retaking it (grace %.0f s)",
                    self.grace)  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        while loop.time() < deadline:
            try:
                self._conn = await self.connect()
                ours = await self._conn.fetchval(TRY_SQL, LOCK_CLASS, self.key)
                row = None if ours else await self._conn.fetchrow(HOLDER_SQL, LOCK_CLASS, self.key)
            except CONNECT_ERRORS:
                await self._close()
                await asyncio.sleep(RETRY_INTERVAL_S)
                continue
            if ours:
                log.warning("the control-plane lock is ours again")
                return True
            await self._close()
            holder = describe_holder(row["application_name"], row["pid"]) if row else "unknown"
            self.on_lost(f"another control plane took the lock ({holder})")
            return False
        self.on_lost(f"the database stayed unreachable for {self.grace:.0f} s")
        return False

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._terminated)
            conn.terminate()

    async def release(self) -> None:
        """Our clean stop: the standby may start now."""
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        conn, self._conn = self._conn, None
        if conn is not None:  # a polite close: the lock is free once this returns
            conn.remove_termination_listener(self._terminated)
            try:
                await conn.close(timeout=CONNECT_TIMEOUT_S)
            except CONNECT_ERRORS:
                conn.terminate()


def exit_at_once(reason: str) -> None:
    """The lock is lost: stop serving now, as a crash would (the workers and the edge keep
    their calls for the next active); no drain, which would end them."""
    log.critical("control-plane lock lost (%s): exiting at once (status %d)", reason,
                 EXIT_LOCK_LOST)  # fmt: skip
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(EXIT_LOCK_LOST)


def control_lock(url: str, standby_key: str, grace: float) -> ControlLock | None:
    """The lock for this database, or None (SQLite: no standby)."""
    dsn = asyncpg_dsn(url)
    if dsn is None:
        return None
    name = holder_name(os.getpid(), socket.gethostname())
    return ControlLock(connector(dsn, name=name), lock_key(standby_key), exit_at_once, grace)


TAKEOVER_PORT_WAIT_S = 20.0  # the previous active's children may still be exiting


async def run_as_active(lock: ControlLock | None, run: Callable[[], Awaitable[None]]) -> bool:
    """Run the control plane (``run``) while holding the lock, after waiting for it as a
    standby; False if SIGTERM/SIGINT stopped us while still a standby. Right after a
    takeover the ports the dead active's children held may still be closing: a start
    refused by preflight is retried for TAKEOVER_PORT_WAIT_S (it touched nothing)."""
    if lock is None:
        await run()
        return True
    took_over = await _unless_signalled(lock.acquire())
    if took_over is None:
        await lock.release()
        log.info("standby: stopped while waiting")
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (TAKEOVER_PORT_WAIT_S if took_over else 0.0)
    try:
        logged = False
        while True:
            try:
                await run()
                return True
            except PortsUnavailable as exc:
                if loop.time() >= deadline:
                    raise
                if not logged:
                    logged = True
                    log.info("standby: ports still held (%s); retrying for up to %.0f s",
                             exc.lines[0], TAKEOVER_PORT_WAIT_S)  # fmt: skip
                if await _unless_signalled(asyncio.sleep(RETRY_INTERVAL_S, True)) is None:
                    return True
    finally:
        await lock.release()


async def _unless_signalled(awaitable: Awaitable[T]) -> T | None:
    """``awaitable``'s result, or None if SIGTERM or SIGINT came first (it is cancelled)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(awaitable)
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled() and not _current_cancelling():
            return None
        raise
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def _current_cancelling() -> int:
    current = asyncio.current_task()
    return current.cancelling() if current is not None else 0
