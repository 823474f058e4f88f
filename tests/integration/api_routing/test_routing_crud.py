"""CRUD of every routing resource through /api/v1/config: each write a new version
(source api, author the token's user), validated as the YAML is, reasons naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api_routing.conftest import Api

Q = "/api/v1/config/queues"
D = "/api/v1/config/dids"
A = "/api/v1/config/agents"
S = "/api/v1/config/schedules"
H = "/api/v1/config/holidays"
G = "/api/v1/config/globals"


async def test_lists_and_gets_carry_the_version_as_etag(api: Api) -> None:
    for url, key, first in [
        (Q, "name", "sales"),
        (D, "number", "+15550100100"),
        (A, "id", "alice"),
        (S, "name", "office"),
        (H, "date", "12-25"),
    ]:
        listed = await api.as_("root", "GET", url)
        assert listed.status_code == 200
        assert listed.headers["ETag"] == '"v1"'
        assert first in [item[key] for item in listed.json()]
        one = await api.as_("root", "GET", f"{url}/{first}")
        assert one.status_code == 200, one.text
        assert one.headers["ETag"] == '"v1"'
        assert one.json()[key] == first
    globals_ = await api.as_("root", "GET", G)
    assert globals_.json()["region"] == "US"
    assert globals_.headers["ETag"] == '"v1"'


@pytest.mark.parametrize("url", [f"{Q}/nope", f"{D}/+15550109999", f"{A}/carol",
                                 f"{S}/nope", f"{H}/01-01"])  # fmt: skip
async def test_an_unknown_resource_is_404(api: Api, url: str) -> None:
    response = await api.as_("root", "GET", url)
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


async def test_queue_create_replace_delete_each_make_a_version_by_the_user(api: Api) -> None:
    created = await api.write("POST", Q, {"name": "vip", "strategy": "ring-all"})
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"v2"'
    assert created.headers["Location"] == f"{Q}/vip"
    assert created.json()["strategy"] == "ring-all"
    replaced = await api.write("PUT", f"{Q}/vip", {"ring_timeout": 30, "wrapup": 0})
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["ETag"] == '"v3"'
    assert replaced.json()["ring_timeout"] == 30
    assert replaced.json()["strategy"] == "longest-idle"  # a replace, not a patch
    deleted = await api.write("DELETE", f"{Q}/vip")
    assert deleted.status_code == 204
    assert deleted.headers["ETag"] == '"v4"'
    assert (await api.as_("root", "GET", f"{Q}/vip")).status_code == 404
    versions = await api.repo.versions()
    assert [(v.version, v.source, v.author) for v in versions[:3]] == [
        (4, "api", "root"),
        (3, "api", "root"),
        (2, "api", "root"),
    ]
    assert versions[0].changes[0]["path"].startswith("queues.vip")


async def test_the_same_content_again_makes_no_version(api: Api) -> None:
    body = (await api.as_("root", "GET", f"{Q}/support")).json()
    response = await api.write("PUT", f"{Q}/support", body)
    assert response.status_code == 200
    assert response.headers["ETag"] == '"v1"'


async def test_did_numbers_are_stored_in_e164_and_unique(api: Api) -> None:
    created = await api.write("POST", D, {"number": "(555) 010-0200", "queue": "support"})
    assert created.status_code == 201, created.text
    assert created.json()["number"] == "+15550100200"
    assert created.headers["Location"] == f"{D}/+15550100200"
    assert (await api.routing()).dids[-1].number == "+15550100200"
    again = await api.write("POST", D, {"number": "555-010-0100", "queue": "support"})
    assert again.status_code == 409
    assert again.json()["detail"] == "DID +15550100100 exists already (dids[0], to queue 'sales')"
    moved = await api.write("PUT", f"{D}/5550100200", {"queue": "sales", "priority": 5})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"number": "+15550100200", "queue": "sales", "priority": 5,
                            "skills": [], "tags": []}  # fmt: skip
    gone = await api.write("DELETE", f"{D}/+15550100200")
    assert gone.status_code == 204
    assert [d.number for d in (await api.routing()).dids] == ["+15550100100"]


async def test_agents_passwords_are_write_only(api: Api) -> None:
    created = await api.write(
        "POST", A, {"id": "carol", "password": "carol-pw-123", "queues": ["spare"]}
    )
    assert created.status_code == 201, created.text
    assert created.json()["password_set"] is True
    assert "password" not in created.json()
    replaced = await api.write("PUT", f"{A}/carol", {"queues": ["sales", "spare"], "rank": 2})
    assert replaced.status_code == 200, replaced.text
    carol = (await api.routing()).agents["carol"]
    assert carol.password.get_secret_value() == "carol-pw-123"  # kept without a password
    assert carol.queues == ("sales", "spare")
    changed = await api.write("PUT", f"{A}/carol", {"password": "new-pw-456"})
    assert changed.status_code == 200
    assert (await api.routing()).agents["carol"].password.get_secret_value() == "new-pw-456"
    for user in ("root", "sup", "qa"):
        for url in (A, f"{A}/carol", f"{A}/alice"):
            text = (await api.as_(user, "GET", url)).text
            assert "pw" not in text and 'password"' not in text, (user, url, text)
    assert (await api.write("DELETE", f"{A}/carol")).status_code == 204
    assert "carol" not in (await api.routing()).agents


async def test_schedules_and_holidays(api: Api) -> None:
    created = await api.write("POST", S, {"name": "late", "hours": {"sat": ["10:00-14:00"]}})
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "late", "timezone": None,
                              "hours": {"sat": ["10:00-14:00"]}, "holidays": []}  # fmt: skip
    used = await api.write("PUT", f"{Q}/spare", {"schedule": "late"})
    assert used.status_code == 200, used.text
    refused = await api.write("DELETE", f"{S}/late")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "schedule 'late' is used by queue spare: change those first"
    holiday = await api.write("POST", H, {"date": "2026-12-31", "name": "NYE"})
    assert holiday.status_code == 201, holiday.text
    assert holiday.headers["Location"] == f"{H}/2026-12-31"
    twice = await api.write("POST", H, {"date": "2026-12-31"})
    assert twice.status_code == 409
    assert (await api.write("PUT", f"{H}/2026-12-31", {"name": "Silvester"})).status_code == 200
    assert [h.name for h in (await api.routing()).holidays] == ["", "Silvester"]
    assert (await api.write("DELETE", f"{H}/12-25")).status_code == 204
    assert [str(h.date) for h in (await api.routing()).holidays] == ["2026-12-31"]


async def test_globals_replace_and_the_default_route_references_a_queue(api: Api) -> None:
    body = {"region": "US", "timezone": "Europe/Berlin", "default_route": {"queue": "spare"}}
    replaced = await api.write("PUT", G, body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {**body, "strict_numbers": False, "closed_action": None}
    refused = await api.write("DELETE", f"{Q}/spare")
    assert refused.status_code == 409
    assert "default_route" in refused.json()["detail"]
    bad = await api.write("PUT", G, {"timezone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "timezone: unknown IANA time zone 'Mars/Olympus'"


INVALID: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", Q, {"name": "vip", "ring_timeout": -1},
     "queues.vip.ring_timeout: Input should be greater than 0"),
    ("POST", Q, {"name": "vip", "strategy": "fastest"},
     ("queues.vip.strategy: unknown strategy 'fastest' (valid: longest-idle, round-robin, "
     "fewest-calls, least-talk-time, linear, random, ring-all)")),
    ("POST", Q, {"name": "vip", "colour": "red"},
     "queues.vip.colour: Extra inputs are not permitted"),
    ("POST", Q, {"name": "vip", "overflow": {"queue": "nowhere"}},
     "queues.vip.overflow.queue: unknown queue 'nowhere' (known: sales, spare, support, vip)"),
    ("POST", Q, {"name": "bad name"}, ("queues.bad name.[key]: String should match pattern "
     "'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'")),
    ("POST", Q, {"ring_timeout": 3}, "queues.name: required"),
    ("POST", Q, {"name": "vip", "schedule": "weekends"},
     "queues.vip.schedule: unknown schedule 'weekends'"),
    ("POST", Q, {"name": "sales"}, "queue 'sales' exists already: replace it with PUT"),
    ("PUT", f"{Q}/sales", {"name": "other"}, "queues.name: 'other' differs from the path ('sales')"),
    ("POST", D, {"number": "12", "queue": "sales"},
     "dids.number: '12' is not an E.164 number (not a possible number)"),
    ("POST", D, {"number": "sales-line", "queue": "sales"},
     "dids.number: 'sales-line' is not an E.164 number (not a telephone number)"),
    ("POST", D, {"number": "+15550100300", "queue": "nowhere"},
     "dids.+15550100300.queue: unknown queue 'nowhere' (known: sales, spare, support)"),
    ("POST", D, {"number": "+15550100300", "queue": "sales", "priority": "high"},
     ("dids.+15550100300.priority: Input should be a valid integer, unable to parse string as "
     "an integer")),
    ("POST", A, {"id": "carol", "queues": ["sales"]}, "agents.carol.password: required"),
    ("POST", A, {"id": "carol", "password": "x", "queues": ["sales", "sales"]},
     "agents.carol.queues: Value error, a queue is listed twice"),
    ("POST", A, {"id": "carol", "password": "x", "queues": ["gone"]},
     "agents.carol.queues.0: unknown queue 'gone' (known: sales, spare, support)"),
    ("POST", A, {"id": "carol", "password": "x", "skills": {"de": 101}},
     "agents.carol.skills.de: Input should be less than or equal to 100"),
    ("POST", S, {"name": "x", "hours": {"funday": ["08:00-18:00"]}},
     "schedules.x.hours.funday: expected a weekday (mon..sun) or a range like mon-fri"),
    ("POST", H, {"date": "2026-13-01"}, ("holidays.2026-13-01.date.date: Input should be a "
     "valid date or datetime, month value is outside expected range of 1-12")),
    ("PUT", G, {"colour": "red"}, ("colour: unknown key (known: region, timezone, "
     "strict_numbers, closed_action, default_route)")),
    ("PUT", G, {"region": "XX"}, "region: unknown region 'XX' (ISO 3166 code)"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url", "body", "reason"), INVALID,
                         ids=[f"{c[0]} {c[1]} {c[3][:40]}" for c in INVALID])  # fmt: skip
async def test_every_invalid_write_names_the_key_and_writes_nothing(
    api: Api, method: str, url: str, body: dict[str, Any], reason: str
) -> None:
    response = await api.write(method, url, body)
    expected = 409 if "exists already" in reason else 422
    assert response.status_code == expected, response.text
    assert response.json()["detail"].startswith(reason), response.json()["detail"]
    assert await api.repo.current_version() == 1


@pytest.mark.parametrize(("queue", "reason"), [
    ("sales", "queue 'sales' is referenced by did +15550100100, agent alice: change those first"),
    ("support", ("queue 'support' is referenced by queue sales overflow, agent bob: change "
     "those first")),
])  # fmt: skip
async def test_a_referenced_queue_cannot_be_deleted_the_reason_names_who(
    api: Api, queue: str, reason: str
) -> None:
    response = await api.write("DELETE", f"{Q}/{queue}")
    assert response.status_code == 409
    assert response.json() == {"detail": reason, "error": "Conflict"}
    assert await api.repo.current_version() == 1


async def test_a_closed_action_reference_is_named_too(api: Api) -> None:
    closed = await api.write("PUT", f"{Q}/support", {"schedule": "office",
                                                     "closed_action": {"queue": "spare"}})  # fmt: skip
    assert closed.status_code == 200, closed.text
    response = await api.write("DELETE", f"{Q}/spare")
    assert response.status_code == 409
    assert "queue support closed_action" in response.json()["detail"]


async def test_writes_are_audited_with_the_version(api: Api) -> None:
    await api.write("POST", Q, {"name": "vip"})
    await api.write("POST", Q, {"name": "vip"})
    audit = (await api.as_("root", "GET", "/api/v1/audit", params={"action": "routing.queues.create"})).json()  # fmt: skip
    rows = [(r["user"], r["outcome"], r["details"]) for r in audit["items"]]
    assert rows == [("root", "ok", {"version": 2}), ("root", "Conflict", {})]
