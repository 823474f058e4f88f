"""The API app in process (httpx ASGITransport) over a real store, a fake control plane
and fake events, with one user per role. Every test runs on SQLite and on PostgreSQL
(tests/support/database.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from gateway.api.app import ControlPlaneApi, EventsApi, create_app
from gateway.api.views import (
    ActiveCall,
    AgentStatus,
    DayCount,
    Health,
    KpiTile,
    QueueView,
    Wallboard,
    WallboardAgent,
    WallboardQueue,
    WorkersHealth,
)
from gateway.auth import Authenticator, UserAdmin
from gateway.control.errors import Conflict, NotFound
from gateway.store import Database, migrate
from tests.support.database import backend_db_url, parametrize_backends, pg_head_url  # noqa: F401
from tests.support.postgres import pg_server  # noqa: F401  (fixtures)

AGENTS = ("alice", "bob")
KPIS = ("waiting", "longest_wait", "service_level", "service_level_30m", "asa", "aht",
        "abandon_rate")  # fmt: skip


def sample_wallboard(today: dict[str, DayCount] | None = None) -> Wallboard:
    """A board of one quiet queue (its SL today from `today`) and one agent."""
    day = (today or {}).get("sales")
    tiles = {k: KpiTile(0.0, "normal", None, None) for k in KPIS}
    queue = WallboardQueue(
        "sales", 0, 0.0, None, None, None,
        day.within_sl / day.answered if day and day.answered else None,
        day.answered if day else None, None, None, None, 0, 0, 0, 2, 2, 0, 0, 0, 0, tiles,
    )  # fmt: skip
    agent = WallboardAgent("alice", "alice", "available", None, None, None, ["sales"],
                           None, None, None, None, None)  # fmt: skip
    return Wallboard("2026-12-01T12:00:00.000+00:00", 3600.0, [queue], [agent])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc)  # the store behind the API: sqlite, postgresql


@dataclass
class FakeControl:
    """The control plane as the API sees it, in memory; `calls` records what ran."""

    recording: Path
    states: dict[str, str] = field(default_factory=lambda: dict.fromkeys(AGENTS, "available"))
    calls: list[tuple[str, str]] = field(default_factory=list)

    def health(self) -> Health:
        return Health("ok", True, True, WorkersHealth(1, 1, 0, 2))

    def metrics_exposition(self) -> tuple[bytes, str]:
        return b"# metrics\n", "text/plain"

    def _status(self, agent_id: str) -> AgentStatus:
        if agent_id not in self.states:
            raise NotFound(f"no agent {agent_id!r}")
        return AgentStatus(agent_id, agent_id, self.states[agent_id], None, ["sales"], True, None)

    def agents(self) -> list[AgentStatus]:
        return [self._status(a) for a in self.states]

    def agent(self, agent_id: str) -> AgentStatus:
        return self._status(agent_id)

    def _set(self, action: str, agent_id: str, state: str) -> AgentStatus:
        status = self._status(agent_id)
        self.calls.append((action, agent_id))
        self.states[agent_id] = state
        return replace(status, state=state)

    def login_agent(self, agent_id: str) -> AgentStatus:
        return self._set("login", agent_id, "available")

    def logout_agent(self, agent_id: str) -> AgentStatus:
        return self._set("logout", agent_id, "logged_out")

    def pause_agent(self, agent_id: str, reason: str) -> AgentStatus:
        return self._set("pause", agent_id, "paused")

    def unpause_agent(self, agent_id: str) -> AgentStatus:
        return self._set("unpause", agent_id, "available")

    def ready_agent(self, agent_id: str) -> AgentStatus:
        if self.states.get(agent_id) != "wrapup":
            self._status(agent_id)
            raise Conflict(f"{agent_id} is not in wrap-up")
        return self._set("ready", agent_id, "available")

    def queues(self) -> list[QueueView]:
        return [QueueView("sales", 0, 0.0, 2, 2, 0, 0, 0, None, None, None)]

    def active_calls(self) -> list[ActiveCall]:
        return [
            ActiveCall("c1", "+15550100100", "+1555123", "sales", "talking", "alice", "w1", "t")
        ]

    def wallboard(self, today: dict[str, DayCount] | None = None) -> Wallboard:
        return sample_wallboard(today)

    async def call_records(self, limit: int) -> list[dict[str, Any]]:
        return [{"id": "c1", "agent": "alice"}]

    async def recording_file(self, call_id: str, role: str | None) -> Path:
        if call_id != "c1":
            raise NotFound(f"no recording for {call_id!r}")
        return self.recording


class FakeEvents:
    def __init__(self, schema: Path) -> None:
        self.schema = schema

    async def page(
        self, after: str | None, type: str | None, subject: str | None, limit: int
    ) -> dict[str, Any]:
        return {"events": [], "next": None}

    def schema_file(self, name: str) -> Path | None:
        return self.schema if name == "call.v1.json" else None


@dataclass
class Api:
    client: httpx.AsyncClient
    control: FakeControl
    db: Database
    auth: Authenticator
    admin: UserAdmin
    tokens: dict[str, str]  # user name -> token

    async def as_(self, user: str | None, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return await self.client.request(method, url, headers=headers, **kw)


def app_for(control: FakeControl, auth: Authenticator, tmp_path: Path) -> httpx.AsyncClient:
    schema = tmp_path / "call.v1.json"
    schema.write_text('{"type": "object"}')
    app = create_app(
        cast(ControlPlaneApi, control), events=cast(EventsApi, FakeEvents(schema)), auth=auth
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


@pytest.fixture
async def db(backend_db_url: str) -> AsyncIterator[Database]:  # noqa: F811
    database = Database.open(backend_db_url)
    await migrate(database.engine)
    yield database
    await database.close()


@pytest.fixture
def control(tmp_path: Path) -> FakeControl:
    wav = tmp_path / "stereo.wav"
    wav.write_bytes(b"RIFF0000WAVE")
    return FakeControl(wav)


@pytest.fixture
async def open_api(db: Database, control: FakeControl, tmp_path: Path) -> AsyncIterator[Api]:
    """No users yet, no admin token: the open quick-start API."""
    auth = Authenticator(db)
    admin = UserAdmin(db, actor="cli:test")
    async with app_for(control, auth, tmp_path) as client:
        yield Api(client, control, db, auth, admin, {})
    await auth.settled()


@pytest.fixture
async def api(open_api: Api) -> Api:
    """One user per role; `agent` acts as alice."""
    for name, role, agent in [
        ("root", "admin", None),
        ("sup", "supervisor", None),
        ("qa", "qa", None),
        ("ana", "agent", "alice"),
    ]:
        open_api.tokens[name] = (await open_api.admin.add(name, role, agent)).token
    open_api.auth.forget()  # auth turned on in this process: no need to wait for the cache
    return open_api
