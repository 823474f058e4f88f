"""Per role, what every route allows and refuses; 401 vs 403; revocation within a
second; the audit rows the API writes."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from gateway.auth.permissions import ROUTES, Permission
from gateway.store.users import AuditStore
from tests.integration.api_auth.conftest import Api

PAUSE = {"json": {"reason": "lunch"}}
# (method, route template, url, request kwargs) -> users allowed (the rest get 403).
# The agent user `ana` is bound to alice.
ALL = {"root", "sup", "qa", "ana"}
CASES: list[tuple[str, str, str, dict[str, Any], set[str]]] = [
    ("GET", "/agents", "/agents", {}, {"root", "sup"}),
    ("GET", "/agents/{agent_id}", "/agents/alice", {}, {"root", "sup", "ana"}),
    ("GET", "/agents/{agent_id}", "/agents/bob", {}, {"root", "sup"}),
    *[
        (
            "POST",
            f"/agents/{{agent_id}}/{a}",
            f"/agents/{who}/{a}",
            PAUSE if a == "pause" else {},
            {"root", "sup", "ana"} if who == "alice" else {"root", "sup"},
        )
        for a in ("login", "logout", "pause", "unpause")
        for who in ("alice", "bob")
    ],
    ("GET", "/queues", "/queues", {}, {"root", "sup", "ana"}),
    ("GET", "/calls", "/calls", {}, {"root", "sup", "qa"}),
    ("GET", "/cdr", "/cdr", {}, {"root", "sup", "qa"}),
    ("GET", "/calls/{call_id}/recording", "/calls/c1/recording", {}, {"root", "sup", "qa"}),
    ("GET", "/events", "/events", {}, {"root", "sup", "qa"}),
    ("GET", "/api/v1/audit", "/api/v1/audit", {}, {"root"}),
]
# an agent user may fetch its own calls' recordings: c1 is not alice's
NOT_HERS = {("/calls/c1/recording", "ana"): 404}
# the API v1 read side and aliases (they need the call store): per role in tests/unit/api/
V1_ELSEWHERE = {k for k in ROUTES if k[1].startswith("/api/v1/") and k[1] != "/api/v1/audit"}
# the web UI's pages: per role in tests/unit/ui/ (and the QA and wallboard pages' own)
V1_ELSEWHERE |= {k for k in ROUTES if k[1].startswith("/ui/")}
# ready answers 409 (not in wrap-up) once allowed: checked on its own below
READY = ("POST", "/agents/{agent_id}/ready")
PUBLIC = ["/health", "/metrics", "/events/schemas/call.v1.json", "/openapi.json", "/docs"]


def test_the_cases_cover_every_route_that_needs_a_token(api: Api) -> None:
    app = api.client._transport.app  # type: ignore[attr-defined]
    routes = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    protected = {k for k in routes if ROUTES[k] is not Permission.PUBLIC} - V1_ELSEWHERE
    assert protected == {(m, t) for m, t, *_ in CASES} | {READY}


@pytest.mark.parametrize(("method", "template", "url", "kw", "allowed"), CASES,
                         ids=[f"{c[0]} {c[2]}" for c in CASES])  # fmt: skip
async def test_each_role_on_each_route(
    api: Api, method: str, template: str, url: str, kw: dict[str, Any], allowed: set[str]
) -> None:
    for user in sorted(ALL):
        response = await api.as_(user, method, url, **kw)
        expected = NOT_HERS.get((url, user), 200 if user in allowed else 403)
        assert response.status_code == expected, (user, response.text)
        if expected == 403:
            body = response.json()
            assert body["error"] == "Forbidden"
            assert body["missing_permission"] == ROUTES[(method, template)].value
    response = await api.as_(None, method, url, **kw)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_ready_is_allowed_as_the_others_and_its_409_is_audited(api: Api) -> None:
    for user, url, code in [
        ("ana", "/agents/alice/ready", 409),
        ("ana", "/agents/bob/ready", 403),
        ("qa", "/agents/alice/ready", 403),
        ("sup", "/agents/bob/ready", 409),
    ]:
        assert (await api.as_(user, "POST", url)).status_code == code, (user, url)
    rows = await AuditStore(api.db).page(action="agent.ready")
    assert [(r.user, r.target, r.outcome) for r in rows] == [
        ("ana", "alice", "Conflict"),
        ("sup", "bob", "Conflict"),
    ]


async def test_public_routes_need_no_token_with_auth_on(api: Api) -> None:
    for url in PUBLIC:
        assert (await api.as_(None, "GET", url)).status_code == 200, url


async def test_an_agent_cannot_pause_another_agent(api: Api) -> None:
    refused = await api.as_("ana", "POST", "/agents/bob/pause", **PAUSE)
    assert refused.status_code == 403
    assert "own agent (alice)" in refused.json()["detail"]
    assert api.control.states["bob"] == "available"
    assert (await api.as_("ana", "POST", "/agents/alice/pause", **PAUSE)).json()["state"] == (
        "paused"
    )
    assert api.control.calls == [("pause", "alice")]


async def test_qa_downloads_a_recording_but_cannot_pause_an_agent(api: Api) -> None:
    wav = await api.as_("qa", "GET", "/calls/c1/recording")
    assert wav.status_code == 200 and wav.content == b"RIFF0000WAVE"
    assert (await api.as_("qa", "POST", "/agents/alice/pause", **PAUSE)).status_code == 403
    assert api.control.calls == []


async def test_unknown_and_malformed_tokens_are_401(api: Api) -> None:
    for header in ("Bearer nope", "Bearer " + api.tokens["qa"][:-2] + "xx", "Basic abc"):
        response = await api.client.get("/calls", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_revoked_token_is_refused_within_a_second(api: Api) -> None:
    """Revoked through the store as the CLI does (no in-process cache invalidation)."""
    (user,) = [u for u in await api.admin.list() if u.name == "sup"]
    assert (await api.as_("sup", "GET", "/calls")).status_code == 200  # cached now
    await api.admin.revoke(user.tokens[0].id)
    revoked_at = time.monotonic()
    while (await api.as_("sup", "GET", "/calls")).status_code == 200:
        assert time.monotonic() - revoked_at < 1.0, "still accepted after 1 s"
        await asyncio.sleep(0.02)
    assert (await api.as_("sup", "GET", "/calls")).status_code == 401


async def test_open_api_until_the_first_user_then_closed_within_a_second(
    open_api: Api,
) -> None:
    for method, _template, url, kw, _allowed in CASES:
        response = await open_api.as_(None, method, url, **kw)
        assert response.status_code == 200, (url, response.text)
    await open_api.admin.add("root", "admin")
    added = time.monotonic()
    while (await open_api.as_(None, "GET", "/calls")).status_code == 200:
        assert time.monotonic() - added < 1.0
        await asyncio.sleep(0.02)
    assert (await open_api.as_(None, "GET", "/calls")).status_code == 401


async def test_changes_downloads_and_refusals_are_audited(api: Api) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    await api.as_("ana", "POST", "/agents/alice/pause", **PAUSE)
    await api.as_("ana", "POST", "/agents/bob/pause", **PAUSE)
    await api.as_("qa", "GET", "/calls/c1/recording", params={"role": "stereo"})
    await api.as_("sup", "GET", "/calls/nope/recording")
    await api.as_("sup", "GET", "/calls")  # reads are not audited
    page = await api.as_("root", "GET", "/api/v1/audit", params={"since": start.isoformat()})
    items = [i for i in page.json()["items"] if not i["user"].startswith("cli:")]
    assert [(i["user"], i["role"], i["action"], i["target"], i["outcome"]) for i in items] == [
        ("ana", "agent", "agent.pause", "alice", "ok"),
        ("ana", "agent", "access.denied", "POST /agents/bob/pause", "denied"),
        ("qa", "qa", "recording.download", "c1", "ok"),
        ("sup", "supervisor", "recording.download", "nope", "NotFound"),
    ]
    assert items[0]["details"] == {"reason": "lunch"}
    assert items[1]["details"] == {"missing": "agents.act"}
    assert items[2]["details"] == {"role": "stereo", "file": "stereo.wav"}


async def test_the_audit_log_pages_and_filters(api: Api) -> None:
    for agent in ("alice", "bob", "alice"):
        await api.as_("sup", "POST", f"/agents/{agent}/unpause")
    query = {"user": "sup", "action": "agent.unpause", "limit": 2}
    first = (await api.as_("root", "GET", "/api/v1/audit", params=query)).json()
    assert [i["target"] for i in first["items"]] == ["alice", "bob"]
    rest = (
        await api.as_("root", "GET", "/api/v1/audit", params={**query, "after": first["next"]})
    ).json()
    assert [i["target"] for i in rest["items"]] == ["alice"] and rest["next"] is None
    cli = (await api.as_("root", "GET", "/api/v1/audit", params={"action": "user.add"})).json()
    assert {i["target"] for i in cli["items"]} == {"root", "sup", "qa", "ana"}


async def test_the_admin_token_still_works_next_to_users(api: Api, tmp_path: Any) -> None:
    from gateway.auth import Authenticator
    from tests.integration.api_auth.conftest import app_for

    auth = Authenticator(api.db, "t0k")
    async with app_for(api.control, auth, tmp_path) as client:
        ok = await client.get("/api/v1/audit", headers={"Authorization": "Bearer t0k"})
        assert ok.status_code == 200
        qa = await client.get("/agents", headers={"Authorization": f"Bearer {api.tokens['qa']}"})
        assert qa.status_code == 403
        assert (await client.get("/agents")).status_code == 401
