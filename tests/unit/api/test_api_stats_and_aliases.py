"""GET /api/v1/stats/* per role and validation; the /api/v1 aliases of the live views
are the same handlers as the unversioned paths."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from tests.unit.api.conftest import Api

RANGE = {"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T11:00:00Z"}


async def test_queue_stats_for_every_role(api: Api) -> None:
    for user in ("root", "sup", "qa", "ana"):
        response = await api.get(user, "/api/v1/stats/queues", params=RANGE)
        assert response.status_code == 200, (user, response.text)
        (item,) = response.json()["items"]
        assert (item["queue"], item["start"], item["end"]) == (
            "sales", "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z",
        )  # fmt: skip
        assert (item["received"], item["answered"], item["abandoned"]) == (3, 2, 1)
        assert (item["service_level"], item["asa_seconds"]) == (0.5, 20.0)
        assert item["aht_seconds"] == 65.0  # alice 60 + 10 wrap-up, bob 60 + 0
    assert (await api.get(None, "/api/v1/stats/queues", params=RANGE)).status_code == 401


async def test_agent_stats_and_an_agent_sees_itself_only(api: Api) -> None:
    params = {**RANGE, "interval": "day"}
    every = (await api.get("qa", "/api/v1/stats/agents", params=params)).json()["items"]
    assert [(i["agent"], i["logged_in_seconds"]) for i in every] == [
        ("alice", 7200.0), ("bob", 7200.0),
    ]  # fmt: skip
    assert (every[0]["talk_seconds"], every[0]["wrapup_seconds"]) == (60.0, 10.0)
    assert every[1]["pause_by_reason"] == {"lunch": 5400.0}
    own = (await api.get("ana", "/api/v1/stats/agents", params=params)).json()["items"]
    assert [i["agent"] for i in own] == ["alice"] and own[0]["calls_answered"] == 1
    other = await api.get("ana", "/api/v1/stats/agents", params={**params, "agent": "bob"})
    assert other.json()["items"] == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"to": RANGE["to"]}, "from"),
        ({**RANGE, "interval": "week"}, "'hour' or 'day'"),
        ({"from": RANGE["to"], "to": RANGE["from"]}, "before"),
        ({"from": "2020-01-01T00:00Z", "to": "2026-01-01T00:00Z"}, "366 days"),
        ({**RANGE, "from": "soon"}, "ISO 8601 date-time"),
    ],
)
async def test_stats_validation(api: Api, params: dict[str, str], reason: str) -> None:
    for route in ("queues", "agents"):
        response = await api.get("root", f"/api/v1/stats/{route}", params=params)
        assert response.status_code == 422, response.text
        assert reason in response.text


def test_each_v1_alias_is_the_same_handler_as_the_unversioned_route(api: Api) -> None:
    routes = {(m, r.path): r.endpoint for r in api.app.routes if isinstance(r, APIRoute)
              for m in r.methods or ()}  # fmt: skip
    # /api/v1/calls is the call search; the live calls stay at /calls only
    aliases = [(m, p) for m, p in routes
               if p.startswith("/api/v1/") and (m, p[7:]) in routes and p != "/api/v1/calls"]  # fmt: skip
    assert {p for _, p in aliases} >= {
        "/api/v1/agents", "/api/v1/agents/{agent_id}", "/api/v1/agents/{agent_id}/pause",
        "/api/v1/agents/{agent_id}/ready", "/api/v1/queues", "/api/v1/calls/{call_id}/recording",
    }  # fmt: skip
    for method, path in aliases:
        assert routes[(method, path)] is routes[(method, path[7:])], path


async def test_the_aliases_per_role(api: Api) -> None:
    assert (await api.get("sup", "/api/v1/agents")).status_code == 200
    assert (await api.get("qa", "/api/v1/agents")).status_code == 403
    assert (await api.get("ana", "/api/v1/agents/alice")).status_code == 200
    assert (await api.get("ana", "/api/v1/agents/bob")).status_code == 403
    assert (await api.get("ana", "/api/v1/queues")).status_code == 200
    assert (await api.get("qa", "/api/v1/queues")).status_code == 403
    pause = {"json": {"reason": "lunch"}}
    assert (await api.post("ana", "/api/v1/agents/alice/pause", **pause)).status_code == 200
    assert (await api.post("ana", "/api/v1/agents/bob/pause", **pause)).status_code == 403
    assert (await api.post("qa", "/api/v1/agents/alice/unpause")).status_code == 403
    assert (await api.post("sup", "/api/v1/agents/bob/login")).status_code == 200
    assert (await api.post("sup", "/api/v1/agents/bob/ready")).status_code == 409
