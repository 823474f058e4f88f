"""The desktop API in process over the seeded store (sqlite and postgresql): the wrap-up
of a recorded call (the live side is a fake that knows the queue's codes), who may set
it, what a bad one answers and that it changes nothing, and the screen-pop's history."""

from __future__ import annotations

from typing import cast

from gateway.api.v1.desktop import DesktopState
from gateway.control.desktop import DesktopControl, LiveCall
from gateway.control.wrapups import WrapupNote
from gateway.store.wrapup import WrapupStore
from tests.unit.api.conftest import Api


class FakeDesk:
    """The live side with no call up: only the routing's codes and queues."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def codes(self, queue: str | None) -> tuple[str, ...] | None:
        return ("sale", "no-sale") if queue == "sales" else None

    def configured_queues(self, agent: str) -> tuple[str, ...]:
        return ("sales", "support")

    def current(self, agent: str) -> LiveCall | None:
        return None

    def open_call(self, call_id: str) -> tuple[str | None, str | None] | None:
        return None

    def submit(self, call_id: str, note: WrapupNote, *, ready: bool) -> bool:
        self.submitted.append(call_id)
        return False


def desk(api: Api) -> FakeDesk:
    fake = FakeDesk()
    control = cast(DesktopControl, fake)
    api.app.state.desktop = DesktopState(control, WrapupStore(api.db), history_days=100_000)
    return fake


async def test_an_agent_wraps_up_its_own_call_and_bad_input_changes_nothing(api: Api) -> None:
    fake = desk(api)
    alice, bob = api.calls["alice"], api.calls["bob"]
    ok = await api.post("ana", f"/api/v1/calls/{alice}/wrapup",
                        json={"code": "sale", "notes": "wants a quote"})  # fmt: skip
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (body["code"], body["notes"], body["by"]) == ("sale", "wants a quote", "alice")
    assert body["in_call_completed"] is False  # a recorded call: its event went out before
    assert fake.submitted == []  # not an open call: nothing handed to the live side

    unknown = await api.post("ana", f"/api/v1/calls/{alice}/wrapup", json={"code": "nope"})
    assert unknown.status_code == 422
    assert "code" in unknown.json()["detail"] and "'nope'" in unknown.json()["detail"]
    assert "sale, no-sale" in unknown.json()["detail"]
    long = await api.post("ana", f"/api/v1/calls/{alice}/wrapup", json={"notes": "x" * 2001})
    assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["body", "notes"]
    others = await api.post("ana", f"/api/v1/calls/{bob}/wrapup", json={"code": "sale"})
    assert others.status_code == 404  # bob's call: as if there were none
    assert (await api.post("qa", f"/api/v1/calls/{alice}/wrapup", json={})).status_code == 403

    detail = (await api.get("ana", f"/api/v1/calls/{alice}")).json()
    assert (detail["wrapup_code"], detail["wrapup_notes"]) == ("sale", "wants a quote")
    assert (await api.get("root", f"/api/v1/calls/{bob}")).json()["wrapup_code"] is None
    audit = (await api.get("root", "/api/v1/audit", params={"action": "call.wrapup"})).json()
    outcomes = [(i["target"], i["outcome"]) for i in audit["items"]]
    assert outcomes == [(alice, "ok"), (alice, "InvalidRequest"), (bob, "NotFound")]


async def test_the_pop_shows_the_callers_history_with_links_the_policy_allows(api: Api) -> None:
    desk(api)
    alice, bob = api.calls["alice"], api.calls["bob"]
    await api.post("root", f"/api/v1/calls/{bob}/wrapup", json={"code": "no-sale", "notes": "n"})
    pop = (await api.get("ana", f"/api/v1/desktop/calls/{alice}")).json()
    assert (pop["state"], pop["queue"], pop["caller"]) == ("ended", "sales", "+15551230000")
    assert pop["wrapup_codes"] == ["sale", "no-sale"]
    history = {h["call_id"]: h for h in pop["history"]}
    assert set(history) == {bob, api.calls["abandoned"]}  # the same caller, this call left out
    assert (history[bob]["wrapup_code"], history[bob]["wrapup_notes"]) == ("no-sale", "n")
    assert history[bob]["agent"] == "bob"
    assert history[bob]["recording_url"] is None  # bob's recording: not alice's to hear
    assert (await api.get("ana", f"/api/v1/desktop/calls/{bob}")).status_code == 404
    mine = (await api.get("root", f"/api/v1/desktop/calls/{bob}")).json()["history"]
    assert [h["recording_url"] for h in mine if h["call_id"] == alice] == [f"/ui/calls/{alice}"]

    view = (await api.get("ana", "/api/v1/desktop")).json()
    assert view["agent"]["id"] == "alice" and view["call"] is None
    assert view["queues"] == [{"name": "sales", "logged_in": True},
                              {"name": "support", "logged_in": False}]  # fmt: skip
    assert (await api.get("root", "/api/v1/desktop")).status_code == 422  # whose? (agent=)
    assert (await api.get("root", "/api/v1/desktop?agent=bob")).json()["agent"]["id"] == "bob"
    assert (await api.get("sup", "/api/v1/desktop?agent=bob")).status_code == 403
