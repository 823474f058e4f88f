"""The standby lock's pure parts and its policy, with a fake connection (the real
PostgreSQL behaviour: tests/integration/standby/)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from gateway.control import standby
from gateway.control.preflight import PortsUnavailable
from gateway.control.standby import ControlLock, run_as_active
from gateway.settings import SettingsError
from gateway.settings.loader import parse_settings


def test_the_lock_key_is_a_stable_non_negative_int4() -> None:
    assert standby.lock_key("contactgw") == standby.lock_key("contactgw")
    assert standby.lock_key("contactgw") != standby.lock_key("site-b")
    assert all(0 <= standby.lock_key(k) < 2**31 for k in ("a", "contactgw", "x" * 200))
    assert standby.LOCK_CLASS < 2**31  # an int4, as pg_advisory_lock(int4, int4) takes


def test_only_postgresql_urls_get_a_lock() -> None:
    url = "postgresql+asyncpg://gw:s%40cret@db.example:5433/contactgw?ssl=require"
    assert (
        standby.asyncpg_dsn(url) == "postgresql://gw:s%40cret@db.example:5433/contactgw?ssl=require"
    )
    assert standby.asyncpg_dsn("sqlite+aiosqlite:////var/lib/contactgw/contactgw.db") is None
    assert standby.control_lock("sqlite+aiosqlite:////tmp/x.db", "contactgw", 60) is None
    lock = standby.control_lock(url, "contactgw", 60)
    assert lock is not None and lock.key == standby.lock_key("contactgw") and lock.grace == 60


def test_the_holder_is_named_and_described_for_the_standbys_log() -> None:
    name = standby.holder_name(4242, "gw-a")
    assert name == "contactgw pid=4242 host=gw-a"
    assert standby.describe_holder(name, 77) == "pid 4242, host gw-a"
    assert len(standby.holder_name(1, "h" * 100)) == standby.NAMEDATALEN
    assert standby.describe_holder("psql", 77) == "unknown: application_name 'psql', backend pid 77"
    assert standby.describe_holder(None, None).startswith("unknown")


def load_settings_data(text: str) -> Any:
    return parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})


def test_control_settings_are_validated_naming_the_key() -> None:
    s = load_settings_data("control: {standby_key: site-a, lock_grace: 0}")
    assert (s.control.standby_key, s.control.lock_grace) == ("site-a", 0)
    assert load_settings_data("{}").control.lock_grace == 60
    with pytest.raises(SettingsError, match="control.lock_grace"):
        load_settings_data("control: {lock_grace: -1}")
    with pytest.raises(SettingsError, match="control.standby_key"):
        load_settings_data("control: {standby_key: ''}")


class FakeConnection:
    """Answers the lock's queries: `try_results` for pg_try_advisory_lock, one by one."""

    def __init__(self, try_results: list[bool], probe_ok: bool = True) -> None:
        self.try_results = try_results
        self.probe_ok = probe_ok
        self.listeners: list[Any] = []
        self.terminated = False

    async def fetchval(self, sql: str, *args: Any) -> Any:
        if "pg_try_advisory_lock" in sql:
            return self.try_results.pop(0)
        if sql == "SELECT 1":
            if not self.probe_ok:
                raise ConnectionResetError("gone")
            return 1
        raise AssertionError(sql)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return {"application_name": "contactgw pid=9 host=gw-b", "pid": 5}

    def add_termination_listener(self, callback: Any) -> None:
        self.listeners.append(callback)

    def remove_termination_listener(self, callback: Any) -> None:
        if callback in self.listeners:  # asyncpg discards, too
            self.listeners.remove(callback)

    def terminate(self) -> None:
        self.terminated = True

    async def close(self, timeout: float) -> None:
        self.terminated = True


def fake_lock(connections: list[FakeConnection], grace: float) -> tuple[ControlLock, list[str]]:
    lost: list[str] = []

    async def connect() -> FakeConnection:
        if not connections:
            raise ConnectionRefusedError("down")
        return connections.pop(0)

    return ControlLock(connect, 1, lost.append, grace), lost


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standby, "PROBE_INTERVAL_S", 0.01)
    monkeypatch.setattr(standby, "RETRY_INTERVAL_S", 0.01)


async def until(condition: Any, timeout: float = 2.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_failed_probe_without_grace_is_lost_at_once() -> None:
    first = FakeConnection([True], probe_ok=False)
    lock, lost = fake_lock([first], grace=0)
    assert await lock.acquire() is False
    await until(lambda: lost)
    assert lost == ["the lock connection was lost"] and first.terminated
    await lock.release()


async def test_a_lock_another_took_meanwhile_is_lost_naming_the_holder() -> None:
    first = FakeConnection([True])
    lock, lost = fake_lock([first, FakeConnection([False])], grace=5)
    await lock.acquire()
    first.listeners[0](first)  # asyncpg: the server closed the session
    await until(lambda: lost)
    assert lost == ["another control plane took the lock (pid 9, host gw-b)"]
    await lock.release()


async def test_a_free_lock_is_retaken_and_watched_again() -> None:
    first, second = FakeConnection([True]), FakeConnection([True])
    lock, lost = fake_lock([first, second], grace=5)
    await lock.acquire()
    first.listeners[0](first)
    await until(lambda: second.listeners)  # retaken: the new session is watched
    assert not lost and first.terminated
    await lock.release()
    assert second.terminated


async def test_an_unreachable_database_is_given_up_after_the_grace() -> None:
    first = FakeConnection([True])
    lock, lost = fake_lock([first], grace=0.2)  # every reconnect is refused
    await lock.acquire()
    first.listeners[0](first)
    await until(lambda: lost)
    assert lost == ["the database stayed unreachable for 0 s"]
    await lock.release()


class StubLock:
    def __init__(self, waited: bool | None) -> None:
        self.waited = waited  # None: wait forever
        self.released = False

    async def acquire(self) -> bool:
        if self.waited is None:
            await asyncio.Event().wait()
        return bool(self.waited)

    async def release(self) -> None:
        self.released = True


async def test_after_a_takeover_a_start_refused_by_preflight_is_retried() -> None:
    lock, starts = StubLock(True), []

    async def run() -> None:
        starts.append(1)
        if len(starts) < 3:  # the dead active's children still hold the ports
            raise PortsUnavailable(["address in use: edge SIP 127.0.0.1:5060 (udp)"])

    assert await run_as_active(lock, run) is True  # type: ignore[arg-type]
    assert len(starts) == 3 and lock.released


async def test_without_a_takeover_taken_ports_fail_the_start_at_once() -> None:
    lock = StubLock(False)

    async def run() -> None:
        raise PortsUnavailable(["address in use: API 127.0.0.1:8080 (tcp)"])

    with pytest.raises(PortsUnavailable):
        await run_as_active(lock, run)  # type: ignore[arg-type]
    assert lock.released


async def test_sigterm_stops_a_waiting_standby_without_running() -> None:
    lock, ran = StubLock(None), []

    async def run() -> None:
        ran.append(1)

    asyncio.get_running_loop().call_later(0.1, os.kill, os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(run_as_active(lock, run), 5) is False  # type: ignore[arg-type]
    assert not ran and lock.released
