"""schemathesis against the routing operations of the app's OpenAPI document, over a
real SQLite store with a seeded routing version: admin (writes) and qa (reads, 403 on
writes), positive and negative. No 5xx; every response conforms to its schema (status
documented, body valid, content type).

Excluded as in tests/unit/api/: `positive_data_acceptance` (a schema-valid body is
often a correct 422 here: the body is "the resource as in the YAML", checked by the
YAML's models, not by the OpenAPI schema)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gateway.api.app import ControlPlaneApi, EventsApi, create_app
from gateway.auth import Authenticator, UserAdmin
from gateway.control.routing_admin import RoutingAdmin
from gateway.settings.routing import RoutingSettings
from gateway.store import Database, migrate
from gateway.store.routing_repo import RoutingRepository
from tests.integration.api_auth.conftest import FakeControl, FakeEvents
from tests.integration.api_routing.conftest import SEED, FakeMembership

ROLES = [("root", "admin", None), ("sup", "supervisor", None), ("qa", "qa", None),
         ("ag", "agent", "alice")]  # fmt: skip
TOKENS: dict[str, str] = {}
MINE = ("/api/v1/config", "/api/v1/agents/{agent_id}/queues/")


@pytest.fixture(scope="module")
def app_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp: Path = tmp_path_factory.mktemp("routing-schemathesis")
    url = f"sqlite+aiosqlite:///{tmp / 'gw.db'}"

    async def prepare() -> None:  # on its own loop: the app's connections open on the client's
        db = Database.open(url)
        await migrate(db.engine)
        await RoutingRepository(db).apply_routing_config(
            RoutingSettings.model_validate(SEED), source="file"
        )
        admin = UserAdmin(db, actor="cli:test")
        for name, role, agent in ROLES:
            TOKENS[name] = (await admin.add(name, role, agent)).token
        await db.close()

    asyncio.run(prepare())
    db = Database.open(url)
    (tmp / "call.v1.json").write_text("{}")
    (tmp / "stereo.wav").write_bytes(b"RIFF0000WAVE")
    app = create_app(
        cast(ControlPlaneApi, FakeControl(tmp / "stereo.wav")),
        events=cast(EventsApi, FakeEvents(tmp / "call.v1.json")),
        auth=Authenticator(db),
    )
    membership = FakeMembership({"alice": ("sales",), "bob": ("support",)})
    app.state.routing_admin = RoutingAdmin(RoutingRepository(db), membership)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


BOUNDED = settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


# Positive data as every role (each role's answers must conform: 403s, its own rows);
# invalid data as the admin (every route validates) and the agent (the routes that
# narrow to its own rows): supervisor and qa reach the same validation as the admin.
RUNS = [(GenerationMode.POSITIVE, name) for name, _, _ in ROLES] + [
    (GenerationMode.NEGATIVE, "root"),
    (GenerationMode.NEGATIVE, "ag"),
]


@pytest.mark.parametrize(("mode", "user"), RUNS)
def test_every_routing_operation_conforms(app_schema: Any, user: str, mode: GenerationMode) -> None:
    failures, headers = [], {"Authorization": f"Bearer {TOKENS[user]}"}
    operations = [r.ok() for r in app_schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(MINE)]
    assert len(operations) == 29
    for operation in operations:

        @BOUNDED
        @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
        def conforms(case: Case) -> None:
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            conforms()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, FailureGroup) as exc:  # noqa: BLE001  (collect all, fail once)
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
