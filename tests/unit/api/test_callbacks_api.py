"""The callbacks API in process on both backends: the list in service order with its
filters (state default pending+dialing, queue, from/to) and errors naming the field, one
callback, cancel and reschedule handed to the call side (a stand-in desk here) and
audited, 404 / 409 / 422 with reasons, and who may (admin, supervisor; not QA or agents)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gateway.store.callbacks import CallbackStore, CallbackTask, cancel, dialing, reschedule
from gateway.store.models import AuditLog
from tests.unit.api.conftest import Api
from tests.unit.api.rows import at


class Desk:
    def __init__(self, tasks: dict[str, CallbackTask]) -> None:
        self.tasks = tasks
        self.calls: list[tuple[str, str, Any]] = []

    def cancel(self, callback_id: str, by: str) -> CallbackTask:
        self.calls.append(("cancel", callback_id, by))
        return cancel(self.tasks[callback_id], by, datetime.now(UTC))

    def reschedule(self, callback_id: str, when: datetime, by: str) -> CallbackTask:
        self.calls.append(("reschedule", callback_id, when))
        return reschedule(self.tasks[callback_id], when, by, datetime.now(UTC))


class Driver:
    def __init__(self, desk: Desk) -> None:
        self.board = type("Board", (), {"callbacks": desk})()
        self.waited_for_writes = 0

    def act(self, action: Any) -> Any:
        return action()

    async def callback_changes_written(self) -> None:
        self.waited_for_writes += 1


def task(arrived: datetime, queue: str = "sales") -> CallbackTask:
    return CallbackTask(uuid.uuid4(), uuid.uuid4(), queue, "+15551230000", "+15550100100", 0,
                        arrived, arrived + timedelta(seconds=60))  # fmt: skip


@pytest.fixture
async def cb(api: Api) -> tuple[Api, list[CallbackTask], Desk]:
    store = CallbackStore(api.db)
    early, late, other = task(at(9)), task(at(10)), task(at(9, 30), queue="support")
    for t in (late, early, other):
        await store.add(t, [], t.requested_at)
    now = at(11)
    await store.move(other.id, lambda t: dialing(t, "bob", uuid.uuid4(), now), lambda t: [], now)
    desk = Desk({str(t.id): t for t in (early, late, other)})
    api.app.state.callbacks = Driver(desk)
    return api, [early, late, other], desk


async def test_list_in_service_order_with_filters(cb: tuple[Api, list[CallbackTask], Desk]) -> None:
    api, (early, late, other), _ = cb
    r = await api.get("sup", "/api/v1/callbacks")
    assert r.status_code == 200
    assert [x["id"] for x in r.json()] == [str(early.id), str(other.id), str(late.id)]
    assert r.json()[1]["state"] == "dialing" and r.json()[1]["agent"] == "bob"
    r = await api.get("root", "/api/v1/callbacks", params={"queue": "sales", "state": "pending"})
    assert [x["id"] for x in r.json()] == [str(early.id), str(late.id)]
    r = await api.get("sup", "/api/v1/callbacks", params={"state": "completed"})
    assert r.json() == []
    r = await api.get("sup", "/api/v1/callbacks", params={"from": at(9, 45).isoformat()})
    assert [x["id"] for x in r.json()] == [str(late.id)]
    r = await api.get("sup", "/api/v1/callbacks", params={"state": "bogus"})
    assert r.status_code == 422 and "state" in r.text
    r = await api.get("sup", f"/api/v1/callbacks/{early.id}")
    assert r.json()["number"] == "+15551230000" and r.json()["arrived_at"].startswith("2026")
    assert (await api.get("sup", "/api/v1/callbacks/nope")).status_code == 404
    assert (await api.get("sup", f"/api/v1/callbacks/{uuid.uuid4()}")).status_code == 404


async def test_cancel_and_reschedule_go_to_the_desk_and_are_audited(
    cb: tuple[Api, list[CallbackTask], Desk],
) -> None:
    api, (early, late, other), desk = cb
    r = await api.post("sup", f"/api/v1/callbacks/{early.id}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert desk.calls == [("cancel", str(early.id), "sup")]
    driver = api.app.state.callbacks
    assert driver.waited_for_writes == 1  # answered once the row is written
    when = datetime.now(UTC) + timedelta(hours=1)
    r = await api.post("sup", f"/api/v1/callbacks/{late.id}/reschedule",
                       json={"at": when.isoformat()})  # fmt: skip
    assert r.status_code == 200 and r.json()["not_before"].startswith(when.strftime("%Y-%m-%dT%H"))
    r = await api.post("sup", f"/api/v1/callbacks/{other.id}/cancel")
    assert r.status_code == 409 and "dialing" in r.text  # being dialled: refused
    r = await api.post("sup", f"/api/v1/callbacks/{late.id}/reschedule",
                       json={"at": "2020-01-01T00:00:00Z"})  # fmt: skip
    assert r.status_code == 422 and "past" in r.text
    r = await api.post("sup", f"/api/v1/callbacks/{late.id}/reschedule",
                       json={"at": "2099-01-01T00:00:00"})  # fmt: skip
    assert r.status_code == 422 and "offset" in r.text
    r = await api.post("sup", f"/api/v1/callbacks/{late.id}/reschedule", json={})
    assert r.status_code == 422 and "at" in r.text
    async with api.db.reading() as session:
        rows = (
            await session.scalars(select(AuditLog).where(AuditLog.action.like("callback.%")))
        ).all()
    assert {(a.action, a.outcome) for a in rows} >= {("callback.cancel", "ok"),
                                                     ("callback.reschedule", "ok"),
                                                     ("callback.cancel", "Conflict")}  # fmt: skip


async def test_without_the_call_side_a_change_is_a_409(
    cb: tuple[Api, list[CallbackTask], Desk],
) -> None:
    api, (early, *_), _ = cb
    api.app.state.callbacks = None
    r = await api.post("sup", f"/api/v1/callbacks/{early.id}/cancel")
    assert r.status_code == 409 and "call side" in r.text


@pytest.mark.parametrize("user", ["qa", "ana"])
async def test_qa_and_agents_may_not(cb: tuple[Api, list[CallbackTask], Desk], user: str) -> None:
    api, (early, *_), desk = cb
    assert (await api.get(user, "/api/v1/callbacks")).status_code == 403
    assert (await api.post(user, f"/api/v1/callbacks/{early.id}/cancel")).status_code == 403
    assert desk.calls == []
