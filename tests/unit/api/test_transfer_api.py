"""The transfer routes over HTTP: validation naming the field, the error table, who may
transfer (an agent user: its own call only), the audit. The decisions themselves are
tested on the switchboard (tests/unit/control/test_transfer.py)."""

from __future__ import annotations

from typing import Any

from gateway.control.errors import Conflict
from gateway.control.transfer_model import Request
from gateway.control.transfer_service import TransferView
from tests.unit.api.conftest import Api


class FakeTransfers:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []
        self.fail: Exception | None = None

    def _view(self, call_id: str, req: Request | None, state: str) -> TransferView:
        target = req.target if req else None
        return TransferView(
            "t1", call_id, req.flow.value if req else "attended",
            target.kind.value if target else "agent", target.value if target else "bob",
            "alice", "api", state, req.priority_bump if req else 0, None,
        )  # fmt: skip

    def start(self, call_id: str, req: Request) -> TransferView:
        self.calls.append(("start", call_id, req))
        if self.fail is not None:
            raise self.fail
        return self._view(call_id, req, "ringing")

    def complete(self, transfer_id: str, by_agent: str | None) -> TransferView:
        self.calls.append(("complete", transfer_id, by_agent))
        return self._view("c1", None, "completed")

    def cancel(self, transfer_id: str, by_agent: str | None) -> TransferView:
        self.calls.append(("cancel", transfer_id, by_agent))
        return self._view("c1", None, "cancelled")

    def get(self, transfer_id: str, by_agent: str | None) -> TransferView:
        return self._view("c1", None, "consulting")


def fake(api: Api) -> FakeTransfers:
    service = FakeTransfers()
    api.app.state.transfers = service
    return service


async def test_an_agent_transfers_its_own_call_and_it_is_audited(api: Api) -> None:
    service = fake(api)
    body = {"flow": "blind", "target": {"queue": "support"}, "priority_bump": 3}
    r = await api.post("ana", "/api/v1/calls/c1/transfers", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "ringing" and r.json()["target"] == "support"
    (_, call_id, req) = service.calls[0]
    assert (call_id, req.by_agent, req.priority_bump) == ("c1", "alice", 3)
    assert (req.target.kind.value, req.flow.value) == ("queue", "blind")
    r = await api.post("ana", "/api/v1/transfers/t1/complete")
    assert r.status_code == 200 and r.json()["state"] == "completed"
    assert service.calls[-1] == ("complete", "t1", "alice")
    r = await api.post("sup", "/api/v1/transfers/t1/cancel")
    assert r.status_code == 200 and service.calls[-1] == ("cancel", "t1", None)
    audit = (await api.get("root", "/api/v1/audit")).json()["items"]
    actions = {(a["action"], a["outcome"]) for a in audit}
    assert {("call.transfer", "ok"), ("transfer.complete", "ok"),
            ("transfer.cancel", "ok")} <= actions  # fmt: skip


async def test_bad_bodies_are_422s_naming_the_field(api: Api) -> None:
    service = fake(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"flow": "blind", "target": {"agent": "bob", "queue": "sales"}}, "exactly one"),
        ({"flow": "blind", "target": {}}, "exactly one"),
        ({"flow": "sideways", "target": {"agent": "bob"}}, "flow"),
        ({"flow": "blind", "target": {"number": "12ab"}}, "target.number"),
        ({"flow": "attended", "target": {"queue": "sales"}}, "target.queue"),
        ({"flow": "blind", "target": {"agent": "bob"}, "priority_bump": 500}, "priority_bump"),
    ]
    for body, field in cases:
        r = await api.post("root", "/api/v1/calls/c1/transfers", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text, (body, r.text)
    assert service.calls == []


async def test_a_refusal_is_409_with_its_reason_and_qa_may_not_transfer(api: Api) -> None:
    service = fake(api)
    service.fail = Conflict("no free leg on worker w1 (4 of 4 in use): ...")
    r = await api.post("sup", "/api/v1/calls/c1/transfers",
                       json={"flow": "blind", "target": {"agent": "bob"}})  # fmt: skip
    assert r.status_code == 409 and r.json()["error"] == "Conflict"
    assert "no free leg on worker w1" in r.json()["detail"]
    r = await api.post("qa", "/api/v1/calls/c1/transfers",
                       json={"flow": "blind", "target": {"agent": "bob"}})  # fmt: skip
    assert r.status_code == 403 and r.json()["missing_permission"] == "calls.transfer"


async def test_without_the_call_side_there_is_no_live_call(api: Api) -> None:
    r = await api.post("root", "/api/v1/calls/c1/transfers",
                       json={"flow": "blind", "target": {"agent": "bob"}})  # fmt: skip
    assert r.status_code == 404 and "no live calls" in r.json()["detail"]
