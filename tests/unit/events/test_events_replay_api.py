"""`GET /events` and `/events/schemas/…` over the retained outbox (SQLite, in process)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx
import pytest

from gateway.api.app import ControlPlaneApi, create_app
from gateway.events.envelope import EventFormat
from gateway.events.replay import EventsReplay
from gateway.store import Database, OutboxMessage, OutboxStore, migrate

FORMAT = EventFormat("urn:contactgw:gw1", "http://gw/events/schemas")
TOKEN = "s3cret"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[OutboxStore]:
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}")
    await migrate(db.engine)
    yield OutboxStore(db)
    await db.close()


@pytest.fixture
async def api(store: OutboxStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "io.contactgw.call.answered.v1.json").write_text('{"type": "object"}')
    replay = EventsReplay(store, FORMAT, schema_dir=schemas)
    app = create_app(cast(ControlPlaneApi, object()), TOKEN, events=replay)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", headers=headers) as c:
        yield c


def event(n: int, subject: str = "call-1") -> OutboxMessage:
    return OutboxMessage(
        type="io.contactgw.call.queued",
        payload={"n": n},
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
        subject=subject,
    )


async def test_pages_of_cloudevents_until_next_is_null(
    api: httpx.AsyncClient, store: OutboxStore
) -> None:
    written = [event(n) for n in range(5)]
    await store.add(written)
    first = (await api.get("/events", params={"limit": 3})).json()
    assert [e["id"] for e in first["events"]] == [str(e.id) for e in written[:3]]
    assert first["events"][0]["source"] == "urn:contactgw:gw1"
    assert first["next"] == 3
    rest = (await api.get("/events", params={"after": first["next"]})).json()
    assert [e["data"]["n"] for e in rest["events"]] == [3, 4] and rest["next"] is None
    by_id = (await api.get("/events", params={"after": str(written[3].id)})).json()
    assert [e["data"]["n"] for e in by_id["events"]] == [4]


async def test_filters_by_type_and_subject(api: httpx.AsyncClient, store: OutboxStore) -> None:
    await store.add([event(0), event(1, subject="call-2")])
    body = (await api.get("/events", params={"subject": "call-2"})).json()
    assert [e["subject"] for e in body["events"]] == ["call-2"]
    body = (await api.get("/events", params={"type": "io.contactgw.call.ended"})).json()
    assert body == {"events": [], "next": None}


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"after": "yesterday"}, "neither an event id (uuid) nor a position"),
        ({"after": str(uuid.UUID(int=7))}, "is not retained"),
        ({"limit": "0"}, "greater than or equal to 1"),
        ({"limit": "1001"}, "less than or equal to 1000"),
    ],
)
async def test_a_bad_cursor_or_limit_is_422_with_the_reason(
    api: httpx.AsyncClient, params: dict[str, str], reason: str
) -> None:
    response = await api.get("/events", params=params)
    assert response.status_code == 422
    assert reason in json.dumps(response.json()["detail"])


async def test_events_need_the_bearer_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/events", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


async def test_schemas_are_served_and_nothing_else(api: httpx.AsyncClient) -> None:
    response = await api.get("/events/schemas/io.contactgw.call.answered.v1.json")
    assert response.status_code == 200 and response.json() == {"type": "object"}
    assert response.headers["content-type"].startswith("application/schema+json")
    assert (await api.get("/events/schemas/missing.json")).status_code == 404
    assert (await api.get("/events/schemas/..%2F..%2Fgw.db")).status_code == 404
