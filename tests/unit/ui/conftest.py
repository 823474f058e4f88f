"""The app in process (httpx ASGITransport) over a migrated SQLite store, with one user
per role, for the web UI's tests; `async with ui.login(name) as client` gives a client holding the session
cookie the way a browser would (the bearer header is never sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from gateway.api.app import ControlPlaneApi, create_app
from gateway.api.v1.qa import QaState
from gateway.api.views import AgentStatus, DayCount, Health, Wallboard, WorkersHealth
from gateway.auth import Authenticator, UserAdmin
from gateway.auth.http import csrf_token
from gateway.control.errors import NotFound
from gateway.store import Database, migrate
from gateway.store.evaluations import EvaluationStore
from gateway.store.search import CallSearch
from gateway.store.stats import StatsStore
from tests.integration.api_auth.conftest import sample_wallboard

USERS = [
    ("root", "admin", None),
    ("sup", "supervisor", None),
    ("qa", "qa", None),
    ("ana", "agent", "alice"),
]


@dataclass
class UiControl:
    """The control plane as the UI's routes use it: recordings by call id."""

    recordings: dict[str, Path] = field(default_factory=dict)
    paused: list[str] = field(default_factory=list)

    def health(self) -> Health:
        return Health("ok", True, True, WorkersHealth(1, 1, 0, 2))

    def pause_agent(self, agent_id: str, reason: str) -> AgentStatus:
        self.paused.append(agent_id)
        return AgentStatus(agent_id, agent_id, "paused", reason, ["sales"], True, None)

    def wallboard(self, today: dict[str, DayCount] | None = None) -> Wallboard:
        return sample_wallboard(today)

    async def recording_file(self, call_id: str, role: str | None) -> Path:
        if call_id not in self.recordings:
            raise NotFound(f"no recording for {call_id!r}")
        return self.recordings[call_id]


@dataclass
class Ui:
    app: Any
    db: Database
    auth: Authenticator
    control: UiControl
    tokens: dict[str, str]

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://gw", **kw
        )

    @asynccontextmanager
    async def login(self, name: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client that logged in through POST /ui/login (it holds the cookie)."""
        async with self.client() as client:
            r = await client.post("/ui/login", data={"token": self.tokens[name], "next": "/ui/"})
            assert r.status_code == 303, r.text
            yield client

    def csrf(self, name: str) -> str:
        return csrf_token(self.tokens[name])


def make_app(db: Database | None, auth: Authenticator, control: UiControl) -> Any:
    app = create_app(
        cast(ControlPlaneApi, control),
        auth=auth,
        search=CallSearch(db) if db is not None else None,
        stats=StatsStore(db) if db is not None else None,
    )
    app.state.qa = QaState(EvaluationStore(db) if db is not None else None)
    return app


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}")
    await migrate(database.engine)
    yield database
    await database.close()


@pytest.fixture
async def ui(db: Database) -> AsyncIterator[Ui]:
    auth = Authenticator(db)
    admin = UserAdmin(db, actor="cli:test")
    tokens = {name: (await admin.add(name, role, agent)).token for name, role, agent in USERS}
    auth.forget()
    control = UiControl()
    yield Ui(make_app(db, auth, control), db, auth, control, tokens)
    await auth.settled()
