"""The API app in process (httpx ASGITransport) over a real store with real tokens, one
user per role, the routing service on `app.state.routing_admin` and a first routing
version (v1) applied as the YAML would. Every test that uses ``api`` runs on SQLite and
on PostgreSQL (tests/support/database.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from acd.model import AgentConfig
from gateway.api.app import ControlPlaneApi, EventsApi, create_app
from gateway.auth import Authenticator, UserAdmin
from gateway.control.errors import NotFound
from gateway.control.routing_admin import RoutingAdmin
from gateway.settings.routing import RoutingSettings
from gateway.store import Database, migrate
from gateway.store.routing_repo import RoutingRepository
from tests.integration.api_auth.conftest import FakeControl, FakeEvents
from tests.support.database import backend_db_url, parametrize_backends, pg_head_url  # noqa: F401
from tests.support.postgres import pg_server  # noqa: F401  (fixtures)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc)  # the store behind the API: sqlite, postgresql


SEED: dict[str, Any] = {
    "region": "US",
    "schedules": {"office": {"hours": {"mon-fri": ["08:00-18:00"]}}},
    "holidays": ["12-25"],
    "queues": {
        "sales": {"strategy": "longest-idle", "overflow": {"queue": "support"}},
        "support": {"ring_timeout": 20},
        "spare": {},
    },
    "dids": [{"number": "+15550100100", "queue": "sales"}],
    "agents": {
        "alice": {"password": "alice-secret-pw", "queues": ["sales"]},
        "bob": {"password": "bob-secret-pw", "queues": ["support"]},
    },
}
USERS = [("root", "admin", None), ("sup", "supervisor", None), ("qa", "qa", None),
         ("ana", "agent", "alice")]  # fmt: skip


@dataclass
class FakeMembership:
    """The running ACD's queue membership, in memory (`set_agent` records each config)."""

    queues: dict[str, tuple[str, ...]]
    fed: list[AgentConfig] = field(default_factory=list)

    def agent_queues(self, agent_id: str) -> tuple[str, ...]:
        if agent_id not in self.queues:
            raise NotFound(f"no agent {agent_id!r} in the running gateway")
        return self.queues[agent_id]

    def set_agent(self, config: AgentConfig) -> tuple[str, ...]:
        self.fed.append(config)
        self.queues[config.agent_id] = config.queues
        return config.queues


@dataclass
class Api:
    client: httpx.AsyncClient
    db: Database
    repo: RoutingRepository
    tokens: dict[str, str]
    membership: FakeMembership

    async def as_(self, user: str, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kw.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kw)

    async def etag(self, url: str = "/api/v1/config/queues") -> str:
        response = await self.as_("root", "GET", url)
        assert response.status_code == 200, response.text
        return response.headers["ETag"]

    async def write(
        self, method: str, url: str, json: Any = None, *, user: str = "root", fresh: bool = True
    ) -> httpx.Response:
        """A write with If-Match from a fresh read (``fresh``), as a careful client does."""
        headers = {"If-Match": await self.etag()} if fresh else {}
        return await self.as_(user, method, url, json=json, headers=headers)

    async def routing(self) -> RoutingSettings:
        loaded = await self.repo.load_routing_config()
        assert loaded is not None
        return loaded[1]


@pytest.fixture
async def api(tmp_path: Path, backend_db_url: str) -> AsyncIterator[Api]:  # noqa: F811
    db = Database.open(backend_db_url)
    await migrate(db.engine)
    repo = RoutingRepository(db)
    await repo.apply_routing_config(RoutingSettings.model_validate(SEED), source="file")
    auth = Authenticator(db)
    admin = UserAdmin(db, actor="cli:test")
    tokens = {name: (await admin.add(name, role, agent)).token for name, role, agent in USERS}
    auth.forget()
    wav = tmp_path / "stereo.wav"
    wav.write_bytes(b"RIFF0000WAVE")
    schema = tmp_path / "call.v1.json"
    schema.write_text("{}")
    app = create_app(
        cast(ControlPlaneApi, FakeControl(wav)),
        events=cast(EventsApi, FakeEvents(schema)),
        auth=auth,
    )
    membership = FakeMembership({"alice": ("sales",), "bob": ("support",)})
    app.state.routing_admin = RoutingAdmin(repo, membership)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield Api(client, db, repo, tokens, membership)
    await auth.settled()
    await db.close()
