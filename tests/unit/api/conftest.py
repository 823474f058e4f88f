"""The API app in process (httpx ASGITransport) over a real store (call records, users,
audit), a fake control plane for the live views, and a token per role. Every test that
uses ``api`` runs on SQLite and on PostgreSQL (tests/support/database.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from gateway.api.app import ControlPlaneApi, EventsApi, create_app
from gateway.auth import Authenticator, UserAdmin
from gateway.control.errors import NotFound
from gateway.store import CdrStore, Database, migrate
from gateway.store.search import CallSearch, recording_paths
from gateway.store.stats import StatsStore
from tests.integration.api_auth.conftest import FakeControl, FakeEvents
from tests.support.database import backend_db_url, parametrize_backends, pg_head_url  # noqa: F401
from tests.support.postgres import pg_server  # noqa: F401  (fixtures)
from tests.unit.api.rows import add_call, add_queue, add_states, at

WAV = bytes(range(256)) * 4  # 1024 known bytes


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc)  # the store behind the API: sqlite, postgresql


class Control(FakeControl):
    """Recordings resolved from the real call records, as the real facade does."""

    def __init__(self, recording: Path, cdr: CdrStore) -> None:
        super().__init__(recording)
        self.cdr = cdr

    async def recording_file(self, call_id: str, role: str | None) -> Path:
        try:
            row = await self.cdr.get_call(uuid.UUID(call_id))
        except ValueError:
            row = None
        if row is None:
            raise NotFound(f"no call {call_id!r}")
        files = recording_paths(row)
        for name in [role] if role else ["stereo", "voicemail", "caller"]:
            if name in files:
                return Path(files[name])
        raise NotFound(f"call {call_id} has no recording")


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    db: Database
    tokens: dict[str, str]
    calls: dict[str, str]  # name -> call id

    async def get(self, user: str | None, url: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        headers.update(kw.pop("headers", {}))
        return await self.client.get(url, headers=headers, **kw)

    async def post(self, user: str | None, url: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return await self.client.post(url, headers=headers, **kw)


async def seed(db: Database, tmp_path: Path) -> dict[str, str]:
    """Two answered calls with recordings (alice's, bob's), an abandoned one, state logs."""
    cdr = CdrStore(db)
    await add_queue(db, "sales", sl_threshold=20.0, short_abandon=5.0)
    files = {}
    for who in ("alice", "bob"):
        path = tmp_path / f"{who}-stereo.wav"
        path.write_bytes(WAV)
        files[who] = {"stereo": str(path), "agent": str(path)}
    ids = {
        "alice": await add_call(cdr, at(10), answered=10, ended=70, agent="alice",
                                recordings=files["alice"]),
        "bob": await add_call(cdr, at(10, 5), answered=30, ended=90, agent="bob",
                              recordings=files["bob"], offers=(("alice", "no_answer"),)),
        "abandoned": await add_call(cdr, at(10, 10), disposition="abandoned", ended=12),
    }  # fmt: skip
    await add_states(cdr, "alice", [(at(9), "available", None), (at(10, 0, 10), "on-call", None),
                                    (at(10, 1, 10), "wrap-up", None),
                                    (at(10, 1, 20), "available", None)])  # fmt: skip
    await add_states(cdr, "bob", [(at(9), "available", None), (at(9, 30), "paused", "lunch")])
    return {k: str(v) for k, v in ids.items()}


@pytest.fixture
async def api(tmp_path: Path, backend_db_url: str) -> AsyncIterator[Api]:  # noqa: F811
    db = Database.open(backend_db_url)
    await migrate(db.engine)
    calls = await seed(db, tmp_path)
    auth = Authenticator(db)
    admin = UserAdmin(db, actor="cli:test")
    tokens = {}
    for name, role, agent in [
        ("root", "admin", None),
        ("sup", "supervisor", None),
        ("qa", "qa", None),
        ("ana", "agent", "alice"),
    ]:
        tokens[name] = (await admin.add(name, role, agent)).token
    auth.forget()
    schema = tmp_path / "call.v1.json"
    schema.write_text('{"type": "object"}')
    app = create_app(
        cast(ControlPlaneApi, Control(tmp_path / "alice-stereo.wav", CdrStore(db))),
        events=cast(EventsApi, FakeEvents(schema)),
        auth=auth,
        search=CallSearch(db),
        stats=StatsStore(db),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield Api(app, client, db, tokens, calls)
    await auth.settled()
    await db.close()
