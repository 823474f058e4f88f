"""The pure edits behind the routing API, driven directly: next content or a domain
error naming the key; and the repository's read-modify-write refusing a stale base."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.control import routing_edit as edit
from gateway.control.errors import Conflict, InvalidRequest, NotFound
from gateway.control.routing_admin import RoutingAdmin
from gateway.control.routing_edit import StaleVersion
from gateway.settings.routing import RoutingSettings
from gateway.store import Database, migrate
from gateway.store.routing_repo import RoutingRepository


def routing() -> RoutingSettings:
    return RoutingSettings.model_validate(
        {
            "region": "DE",
            "queues": {"sales": {}, "vip": {"closed_action": {"queue": "sales"},
                                            "schedule": "office"}},
            "schedules": {"office": {"hours": {"mon-fri": ["08:00-18:00"]}}},
            "default_route": {"queue": "vip"},
            "dids": [{"number": "030 1234567", "queue": "sales"}],  # national, as in a file
            "agents": {"ann": {"password": "pw-ann", "queues": ["vip"]}},
        }
    )  # fmt: skip


def test_a_did_written_nationally_in_the_file_is_found_and_compared_in_e164() -> None:
    r = routing()
    assert edit.did_numbers(r) == ["+49301234567"]
    with pytest.raises(Conflict, match=r"DID \+49301234567 exists already \(dids\[0\]"):
        edit.put_did(r, None, {"number": "+49 30 1234567", "queue": "vip"}, create=True)
    moved = edit.put_did(r, "030-1234567", {"queue": "vip"}, create=False)
    assert [(d.number, d.queue) for d in moved.dids] == [("+49301234567", "vip")]
    with pytest.raises(InvalidRequest, match="dids.number: expected a string, got 301234567"):
        edit.put_did(r, None, {"number": 301234567, "queue": "vip"}, create=True)


def test_who_references_a_queue() -> None:
    r = routing()
    assert edit.queue_references(r, "sales") == ["did 030 1234567", "queue vip closed_action"]
    assert edit.queue_references(r, "vip") == ["default_route", "agent ann"]
    with pytest.raises(Conflict, match="referenced by default_route, agent ann"):
        edit.delete_queue(r, "vip")
    with pytest.raises(Conflict, match="schedule 'office' is used by queue vip"):
        edit.delete_schedule(r, "office")


def test_an_agent_replace_keeps_its_password_and_unknown_names_are_404() -> None:
    r = edit.put_agent(routing(), "ann", {"queues": ["sales"], "rank": 3}, create=False)
    assert r.agents["ann"].password.get_secret_value() == "pw-ann"
    assert (r.agents["ann"].queues, r.agents["ann"].rank) == (("sales",), 3)
    with pytest.raises(NotFound, match=r"no agent 'bo' \(known: ann\)"):
        edit.put_agent(r, "bo", {}, create=False)
    with pytest.raises(NotFound, match="no holiday 12-25"):
        edit.delete_holiday(r, "12-25")


def test_globals_left_out_take_their_defaults() -> None:
    r = edit.put_globals(routing(), {"region": "DE", "closed_action": {"hangup": True}})
    assert edit.globals_of(r) == {
        "region": "DE",
        "timezone": "UTC",
        "strict_numbers": False,
        "closed_action": {"hangup": True},
        "default_route": None,
    }
    with pytest.raises(InvalidRequest, match="closed-action cycle sales -> vip -> sales"):
        edit.put_globals(routing(), {"region": "DE", "closed_action": {"queue": "vip"}})  # fmt: skip


async def test_a_change_based_on_a_stale_version_writes_nothing(tmp_path: Path) -> None:
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}")
    await migrate(db.engine)
    try:
        repo = RoutingRepository(db)
        admin = RoutingAdmin(repo)
        assert await admin.read() == (0, RoutingSettings())
        first, r = await admin.write(lambda r: routing(), expected=0, author="root")
        assert first == 1 and r == routing()
        with pytest.raises(StaleVersion) as stale:
            await admin.write(lambda r: edit.delete_did(r, "+49301234567"), expected=0,
                              author="root")  # fmt: skip
        assert (stale.value.sent, stale.value.current) == (0, 1)
        with pytest.raises(Conflict):  # refused by the edit: nothing written either
            await admin.write(lambda r: edit.delete_queue(r, "sales"), expected=1, author="x")
        assert await repo.current_version() == 1
        version, _ = await admin.write(lambda r: edit.delete_did(r, "030 1234567"),
                                       expected=None, author="root")  # fmt: skip
        assert version == 2
        assert (await repo.version(2)).author == "root"
    finally:
        await db.close()
