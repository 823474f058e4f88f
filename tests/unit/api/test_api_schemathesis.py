"""schemathesis against the app's own OpenAPI document: every operation, with a token
of each role (admin, supervisor, qa, agent), over the seeded SQLite store. No 5xx; every response
conforms to the schema (status code documented, body valid, content type, headers).

Excluded: `positive_data_acceptance` (a schema-valid request must not be a 4xx other
than 401/403/404/409): our 422s for a schema-valid but meaningless request (a cursor we
did not issue, `from` not before `to`, a range over 366 days) are correct answers.

Bounded and reproducible: 20 examples per operation (10 in negative mode, as admin and
agent), derandomized,
no deadline: about 20 s per role.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gateway.api.app import ControlPlaneApi, EventsApi, create_app
from gateway.api.v1.desktop import DesktopState
from gateway.api.v1.qa import QaState
from gateway.auth import Authenticator, UserAdmin
from gateway.store import CdrStore, Database, migrate
from gateway.store.evaluations import EvaluationStore
from gateway.store.search import CallSearch
from gateway.store.stats import StatsStore
from gateway.store.wrapup import WrapupStore
from tests.integration.api_auth.conftest import FakeEvents
from tests.unit.api.conftest import Control, seed

TOKENS: dict[str, str] = {}
# one user per role; the agent user is bound to the seeded agent
ROLES = [("root", "admin", None), ("sup", "supervisor", None), ("qa", "qa", None),
         ("ag", "agent", "alice")]  # fmt: skip
# the routing operations need a routing store and the ACD's membership: they have their
# own run, tests/unit/api_routing/test_routing_schemathesis.py; every other one is here
ROUTING = ("/api/v1/config", "/api/v1/agents/{agent_id}/queues/")
# an endless text/event-stream (a schema check would wait for its end for ever):
# tests/unit/api/test_api_wallboard.py reads it through the ASGI interface
STREAMS = ("/api/v1/wallboard/stream", "/api/v1/desktop/stream")


@pytest.fixture(scope="module")
def app_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite+aiosqlite:///{tmp / 'gw.db'}"

    async def prepare() -> None:  # on its own loop: the app's connections open on the client's
        db = Database.open(url)
        await migrate(db.engine)
        await seed(db, tmp)
        admin = UserAdmin(db, actor="cli:test")
        for name, role, agent in ROLES:
            TOKENS[name] = (await admin.add(name, role, agent)).token
        await db.close()

    asyncio.run(prepare())
    db = Database.open(url)
    schema_file = tmp / "call.v1.json"
    schema_file.write_text('{"type": "object"}')
    app = create_app(
        cast(ControlPlaneApi, Control(tmp / "alice-stereo.wav", CdrStore(db))),
        events=cast(EventsApi, FakeEvents(schema_file)),
        auth=Authenticator(db),
        search=CallSearch(db),
        stats=StatsStore(db),
    )
    app.state.qa = QaState(EvaluationStore(db))  # the QA routes (no form yet: their 404s)
    app.state.desktop = DesktopState(store=WrapupStore(db))  # no live side: records only
    return schemathesis.openapi.from_asgi("/openapi.json", app)


EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


def bounded(mode: GenerationMode) -> settings:
    return settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't minimise
    )


def run_every_operation(schema: Any, user: str, mode: GenerationMode) -> list[str]:
    """Each operation's failures (schemathesis's own message), none if it conforms."""
    failures, headers = [], {"Authorization": f"Bearer {TOKENS[user]}"}
    every = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in every if not op.path.startswith(ROUTING) and op.path not in STREAMS]
    assert len(operations) >= 30
    for operation in operations:

        @bounded(mode)
        @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
        def conforms(case: Any) -> None:
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            conforms()
        except Unsatisfiable:  # negative mode: nothing in the operation can be made invalid
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, FailureGroup) as exc:  # noqa: BLE001  (collect all, fail once)
            failures.append(f"{operation.label}: {exc}")
    return failures


# Positive data as every role (each role's answers must conform: 403s, its own rows);
# invalid data as the admin (every route validates) and the agent (the routes that
# narrow to its own rows): supervisor and qa reach the same validation as the admin.
RUNS = [(GenerationMode.POSITIVE, name) for name, _, _ in ROLES] + [
    (GenerationMode.NEGATIVE, "root"),
    (GenerationMode.NEGATIVE, "ag"),
]


@pytest.mark.parametrize(("mode", "user"), RUNS)
def test_every_operation_conforms(app_schema: Any, user: str, mode: GenerationMode) -> None:
    failures = run_every_operation(app_schema, user, mode)
    assert not failures, "\n\n".join(failures)
