"""GET /api/v1/calls, /api/v1/calls/{id}, /api/v1/recordings per role; validation."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import Api

READERS = ("root", "sup", "qa")


async def test_search_per_role_and_an_agent_sees_its_own_calls_only(api: Api) -> None:
    everyone = [api.calls[k] for k in ("abandoned", "bob", "alice")]
    for user in READERS:
        page = await api.get(user, "/api/v1/calls")
        assert page.status_code == 200, page.text
        assert [c["id"] for c in page.json()["items"]] == everyone
    own = (await api.get("ana", "/api/v1/calls")).json()
    assert [c["id"] for c in own["items"]] == [api.calls["alice"]]
    other = (await api.get("ana", "/api/v1/calls", params={"agent": "bob"})).json()
    assert other["items"] == []
    assert (await api.get(None, "/api/v1/calls")).status_code == 401


async def test_search_filters_sort_and_cursor(api: Api) -> None:
    page = (await api.get("qa", "/api/v1/calls", params={"sort": "wait", "limit": 2})).json()
    assert [c["id"] for c in page["items"]] == [api.calls["alice"], api.calls["abandoned"]]
    rest = await api.get(
        "qa", "/api/v1/calls", params={"sort": "wait", "limit": 2, "cursor": page["next_cursor"]}
    )
    assert [c["id"] for c in rest.json()["items"]] == [api.calls["bob"]]
    assert rest.json()["next_cursor"] is None
    item = page["items"][0]
    assert (item["agent"], item["wait_seconds"], item["talk_seconds"]) == ("alice", 10.0, 60.0)
    assert item["recordings"] == ["stereo", "agent"]
    params = {"disposition": "abandoned", "from": "2026-03-02T10:00:00", "to": "2026-03-02T11:00Z"}
    found = (await api.get("sup", "/api/v1/calls", params=params)).json()["items"]
    assert [c["id"] for c in found] == [api.calls["abandoned"]]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": "yesterday"}, "ISO 8601 date-time"),
        ({"to": "2026-13-01T00:00Z"}, "datetime"),
        ({"disposition": "hung-up"}, "'answered', 'abandoned', 'abandoned_ringing'"),
        ({"sort": "caller"}, "'arrived_at', '-arrived_at', 'wait'"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"cursor": "garbage"}, "invalid cursor"),
        ({"from": "2026-03-02T11:00Z", "to": "2026-03-02T10:00Z"}, "before"),
    ],
)
async def test_search_validation(api: Api, params: dict[str, str], reason: str) -> None:
    response = await api.get("root", "/api/v1/calls", params=params)
    assert response.status_code == 422
    assert reason in response.text


async def test_one_call_with_its_offers_per_role(api: Api) -> None:
    url = f"/api/v1/calls/{api.calls['bob']}"
    for user in READERS:
        body = (await api.get(user, url)).json()
        assert [(o["agent"], o["result"]) for o in body["offers"]] == [
            ("alice", "no_answer"),
            ("bob", "answered"),
        ]
        assert body["sip_call_id"].startswith("sip-") and "recording_stereo" not in body
    assert (await api.get("ana", url)).status_code == 404  # bob's call: not hers
    assert (await api.get("ana", f"/api/v1/calls/{api.calls['alice']}")).status_code == 200
    for missing in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = await api.get("root", f"/api/v1/calls/{missing}")
        assert response.status_code == 404 and response.json()["error"] == "NotFound"


async def test_recordings_list_per_role(api: Api) -> None:
    for user in READERS:
        items = (await api.get(user, "/api/v1/recordings")).json()["items"]
        assert [i["call_id"] for i in items] == [api.calls["bob"], api.calls["alice"]]
        assert items[1]["files"] == [
            {"role": "stereo", "size": 1024},
            {"role": "agent", "size": 1024},
        ]
        assert (items[1]["start"], items[1]["duration_seconds"]) == ("2026-03-02T10:00:10Z", 60.0)
    own = (await api.get("ana", "/api/v1/recordings")).json()["items"]
    assert [i["call_id"] for i in own] == [api.calls["alice"]]
    queue = await api.get("qa", "/api/v1/recordings", params={"queue": "support"})
    assert queue.json()["items"] == []
