"""The route -> permission table covers every route of the app, and the grants say
what each role may do (a literal matrix here, not derived from the table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from gateway.api.app import ControlPlaneApi, EventsApi, create_app
from gateway.auth.http import authorize
from gateway.auth.permissions import (
    GRANTS,
    ROUTES,
    Permission,
    Role,
    refusal,
    route_permission,
    rows_agent,
)


class NoEvents:
    async def page(self, *a: Any) -> dict[str, Any]:
        raise AssertionError

    def schema_file(self, name: str) -> Path | None:
        return None


def app_routes() -> set[tuple[str, str]]:
    app = create_app(cast(ControlPlaneApi, object()), events=cast(EventsApi, NoEvents()))
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        assert isinstance(route, Route), route
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def test_every_route_of_the_app_has_a_permission_and_the_table_no_stale_entry() -> None:
    routes = app_routes()
    assert routes - ROUTES.keys() == set(), "routes with no permission in ROUTES"
    assert ROUTES.keys() - routes == set(), "ROUTES entries for routes that do not exist"


def test_every_api_route_runs_the_authorize_dependency() -> None:
    app = create_app(cast(ControlPlaneApi, object()), events=cast(EventsApi, NoEvents()))
    api_routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert api_routes
    for route in api_routes:
        assert any(d.call is authorize for d in route.dependant.dependencies), route.path


def test_head_is_checked_as_get_and_an_unknown_route_has_no_permission() -> None:
    assert route_permission("HEAD", "/agents") is Permission.AGENTS_READ
    assert route_permission("DELETE", "/agents") is None


ANY_AGENT = {"agents.read", "agents.act"}
V1_READS = {"history.read", "stats.queues", "stats.agents", "routing.read"}
READS = {"queues.read", "calls.read", "cdr.read", "recordings.read", "events.read"} | V1_READS
QA_READS = {"qa.forms.read", "qa.evaluations.read", "qa.calibration"}
EXPECTED: dict[Role, set[str]] = {
    Role.ADMIN: {p.value for p in Permission} - {"public"},
    Role.SUPERVISOR: ANY_AGENT | READS | QA_READS,
    Role.QA: {"calls.read", "cdr.read", "recordings.read", "events.read", "qa.evaluate"}
    | V1_READS
    | QA_READS,
    # plus agents.* on its own agent, and its own rows of history, recordings, agent stats,
    # QA evaluations (read, acknowledge)
    Role.AGENT: {"queues.read", "stats.queues"},
}


# the wallboard: supervisor and qa too, not agents (why: gateway/auth/permissions.py)
EXPECTED[Role.SUPERVISOR] |= {"wallboard.read"}
EXPECTED[Role.QA] |= {"wallboard.read"}
# voicemail: supervisors read and handle every box, QA reads; an agent: its queues' boxes
EXPECTED[Role.SUPERVISOR] |= {"voicemail.read", "voicemail.act"}
EXPECTED[Role.QA] |= {"voicemail.read"}
# transfers: supervisors any live call; an agent its own (ROWS), QA none
EXPECTED[Role.SUPERVISOR] |= {"calls.transfer"}
# queued callbacks: supervisors list, cancel, reschedule (docs/callback.md)
EXPECTED[Role.SUPERVISOR] |= {"callbacks.read", "callbacks.act"}
# in-call control: supervisors hold / pause any live call and monitor it; an agent its own
EXPECTED[Role.SUPERVISOR] |= {"calls.control", "calls.monitor"}


@pytest.mark.parametrize("role", list(Role))
def test_what_each_role_may_do_on_another_agent(role: Role) -> None:
    allowed = {
        p.value
        for p in Permission
        if p is not Permission.PUBLIC and refusal(role, "alice", p, "bob") is None
    }
    assert allowed == EXPECTED[role]


def test_an_agent_acts_on_its_own_agent_only_and_never_on_the_list() -> None:
    for permission in (Permission.AGENTS_READ, Permission.AGENTS_ACT):
        assert refusal(Role.AGENT, "alice", permission, "alice") is None
        assert "own agent" in str(refusal(Role.AGENT, "alice", permission, "bob"))
        assert refusal(Role.AGENT, "alice", permission, None) is not None  # GET /agents
    # recordings, history, agent stats: allowed, and the route serves alice's rows only
    for permission in (
        Permission.RECORDINGS_READ,
        Permission.HISTORY_READ,
        Permission.STATS_AGENTS,
        Permission.QA_EVALUATIONS_READ,
        Permission.QA_ACKNOWLEDGE,
        Permission.VOICEMAIL_READ,
        Permission.VOICEMAIL_ACT,
    ):
        assert refusal(Role.AGENT, "alice", permission, None) is None
        assert rows_agent(Role.AGENT, "alice", permission) == "alice"
        assert rows_agent(Role.QA, None, permission) is None


def test_nobody_but_admin_reads_the_audit_log_secrets_or_changes_routing() -> None:
    admin_only = {Permission.AUDIT_READ, Permission.SECRETS_READ, Permission.ROUTING_WRITE,
                  Permission.QA_FORMS_WRITE}  # fmt: skip
    for role in Role:
        granted = admin_only & GRANTS[role].keys()
        assert granted == (admin_only if role is Role.ADMIN else set()), role


def test_a_refusal_names_the_missing_permission() -> None:
    assert refusal(Role.QA, None, Permission.AGENTS_ACT, "bob") == (
        "role qa lacks permission agents.act"
    )
