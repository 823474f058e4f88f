"""Who may do what: the roles' grants, and the one table of route -> permission.

Every API route is a key of `ROUTES`; the API's dependency (gateway.auth.http) looks
the matched route up there, so a route missing from the table is refused (fail
closed) and tests/unit/auth/test_permissions.py fails. A grant has a scope: `ANY`
(every agent), `OWN` (the `agent_id` the user is bound to) or `ROWS`. An `OWN` grant
covers a route only if the route names that agent in its path (`{agent_id}`): an agent
user reads `GET /agents/{its id}`, not the list of all agents. A `ROWS` grant covers a
route that names no other agent in its path, and the route itself serves only the
rows of the user's agent (`rows_agent` tells it which): an agent user searches its own
calls, streams its own recordings, reads its own statistics.

    role        grants
    admin       everything
    supervisor  agents (read, act) on any agent, queues, calls, call records,
                call history, recordings, statistics, events, routing definitions;
                not routing changes, secrets or the audit log
    qa          calls, call records, call history, recordings, statistics, events,
                routing definitions (read only); QA forms (read), evaluate, calibration
    agent       its own agent (read, act, its routing definition), queues, queue
                statistics; the rows of its own agent in call history, recordings and
                agent statistics; its own submitted QA evaluations (read, acknowledge)

QA forms are written by admins only; supervisors read evaluations and calibrations.
The wallboard (`wallboard.read`): admin, supervisor and qa; not agents, because its
agent table shows every colleague's state and pause reason, which an agent user may
not read through /api/v1/agents either (its queues' figures are in /api/v1/queues).
Voicemail (`voicemail.read`, `voicemail.act`): admin and supervisor every box, QA reads
every box, an agent the boxes of the queues it belongs to (ROWS: those are its queue's
callers, whom it may call back; a named box outside its queues is not its business).
Transfers (`calls.transfer`): admins and supervisors any live call, an agent user the
call it is connected to and its own transfers (ROWS). In-call control (`calls.control`:
hold, resume, PCI pause): the same; monitoring (`calls.monitor`): admins and supervisors. The agent desktop (`desktop.read`, `calls.wrapup`): an agent user its own desktop and
the wrap-up of the calls it answered (ROWS); admins any agent's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    QA = "qa"
    AGENT = "agent"


class Permission(StrEnum):
    PUBLIC = "public"  # no token needed: probes, metrics, schemas, the OpenAPI document
    AGENTS_READ = "agents.read"
    AGENTS_ACT = "agents.act"  # login, logout, pause, unpause, ready
    QUEUES_READ = "queues.read"
    CALLS_READ = "calls.read"
    CDR_READ = "cdr.read"
    RECORDINGS_READ = "recordings.read"
    EVENTS_READ = "events.read"
    AUDIT_READ = "audit.read"
    HISTORY_READ = "history.read"  # call search and call records (API v1)
    STATS_QUEUES = "stats.queues"  # per-interval queue statistics
    STATS_AGENTS = "stats.agents"  # per-interval agent statistics
    ROUTING_READ = "routing.read"  # routing definitions, secrets never shown
    ROUTING_WRITE = "routing.write"  # routing definitions: create, replace, delete
    SECRETS_READ = "secrets.read"  # no route yet: admin only (passwords are write-only)
    # QA (gateway/api/v1/qa.py, docs/qa.md)
    QA_FORMS_READ = "qa.forms.read"  # evaluation forms and their versions
    QA_FORMS_WRITE = "qa.forms.write"  # create, change (a new version), retire: admin only
    QA_EVALUATE = "qa.evaluate"  # drafts, submit, remarks (add, delete own)
    QA_EVALUATIONS_READ = "qa.evaluations.read"  # an agent: its own submitted ones (ROWS)
    QA_ACKNOWLEDGE = "qa.acknowledge"  # an agent acknowledges or disputes its own
    QA_CALIBRATION = "qa.calibration"  # several reviewers' evaluations of a call compared
    # Wallboard (gateway/api/v1/wallboard.py, docs/wallboard.md)
    WALLBOARD_READ = "wallboard.read"  # queues' KPIs and levels, every agent's state, live
    # Voicemail boxes (gateway/api/v1/voicemail.py, docs/voicemail.md)
    VOICEMAIL_READ = "voicemail.read"  # the messages, their playback (which marks listened)
    VOICEMAIL_ACT = "voicemail.act"  # mark handled, reopen
    # Queued callbacks (gateway/api/v1/callbacks.py, docs/callback.md)
    CALLBACKS_READ = "callbacks.read"  # pending and past callbacks
    CALLBACKS_ACT = "callbacks.act"  # cancel, reschedule
    # Transfers (gateway/api/v1/transfers.py, docs/transfer.md)
    CALLS_TRANSFER = "calls.transfer"  # transfer a live call; complete or cancel it
    CALLS_CONTROL = "calls.control"  # hold, resume, PCI pause of a live call (docs/in-call.md)
    CALLS_MONITOR = "calls.monitor"  # listen, whisper, barge: supervisors and admins
    # Agent desktop (gateway/api/v1/desktop.py, docs/desktop.md)
    DESKTOP_READ = "desktop.read"  # its state, queues and the call's screen-pop, live
    WRAPUP_WRITE = "calls.wrapup"  # wrap-up code and notes of a call it answered


class Scope(StrEnum):
    ANY = "any"
    OWN = "own"
    ROWS = "rows"


_READ_ALL = {
    Permission.QUEUES_READ,
    Permission.CALLS_READ,
    Permission.CDR_READ,
    Permission.RECORDINGS_READ,
    Permission.EVENTS_READ,
    Permission.HISTORY_READ,
    Permission.STATS_QUEUES,
    Permission.STATS_AGENTS,
}

GRANTS: Final[dict[Role, dict[Permission, Scope]]] = {
    Role.ADMIN: {p: Scope.ANY for p in Permission},
    Role.SUPERVISOR: {
        Permission.AGENTS_READ: Scope.ANY,
        Permission.AGENTS_ACT: Scope.ANY,
        **{p: Scope.ANY for p in _READ_ALL},
        Permission.ROUTING_READ: Scope.ANY,
        Permission.WALLBOARD_READ: Scope.ANY,
        # QA: reads the evaluations, does not evaluate
        Permission.QA_FORMS_READ: Scope.ANY,
        Permission.QA_EVALUATIONS_READ: Scope.ANY,
        Permission.QA_CALIBRATION: Scope.ANY,
        Permission.VOICEMAIL_READ: Scope.ANY,
        Permission.VOICEMAIL_ACT: Scope.ANY,
        Permission.CALLS_TRANSFER: Scope.ANY,  # any live call
        Permission.CALLS_CONTROL: Scope.ANY,
        Permission.CALLS_MONITOR: Scope.ANY,
        Permission.CALLBACKS_READ: Scope.ANY,
        Permission.CALLBACKS_ACT: Scope.ANY,
    },
    Role.QA: {
        Permission.ROUTING_READ: Scope.ANY,
        Permission.CALLS_READ: Scope.ANY,
        Permission.CDR_READ: Scope.ANY,
        Permission.RECORDINGS_READ: Scope.ANY,
        Permission.EVENTS_READ: Scope.ANY,
        Permission.HISTORY_READ: Scope.ANY,
        Permission.STATS_QUEUES: Scope.ANY,
        Permission.STATS_AGENTS: Scope.ANY,
        Permission.WALLBOARD_READ: Scope.ANY,
        # QA
        Permission.QA_FORMS_READ: Scope.ANY,
        Permission.QA_EVALUATE: Scope.ANY,
        Permission.QA_EVALUATIONS_READ: Scope.ANY,
        Permission.QA_CALIBRATION: Scope.ANY,
        Permission.VOICEMAIL_READ: Scope.ANY,  # reads and plays; does not handle
    },
    Role.AGENT: {
        Permission.AGENTS_READ: Scope.OWN,
        Permission.AGENTS_ACT: Scope.OWN,
        Permission.ROUTING_READ: Scope.OWN,  # its own agent's definition
        Permission.QUEUES_READ: Scope.ANY,
        Permission.STATS_QUEUES: Scope.ANY,
        Permission.HISTORY_READ: Scope.ROWS,
        Permission.RECORDINGS_READ: Scope.ROWS,
        Permission.STATS_AGENTS: Scope.ROWS,
        # QA: its own submitted evaluations and its calls' remarks, never drafts
        Permission.QA_EVALUATIONS_READ: Scope.ROWS,
        Permission.QA_ACKNOWLEDGE: Scope.ROWS,
        # voicemail: the boxes named after the queues it belongs to (its callers' messages)
        Permission.VOICEMAIL_READ: Scope.ROWS,
        Permission.VOICEMAIL_ACT: Scope.ROWS,
        # transfers: the call it is connected to, and its own transfers (ROWS)
        Permission.CALLS_TRANSFER: Scope.ROWS,
        Permission.CALLS_CONTROL: Scope.ROWS,  # the call it is connected to
        # the desktop: its own state and calls (a ROWS grant: the route serves its rows)
        Permission.DESKTOP_READ: Scope.ROWS,
        Permission.WRAPUP_WRITE: Scope.ROWS,
    },
}

# (method, path template) -> permission. HEAD is checked as GET.
ROUTES: Final[dict[tuple[str, str], Permission]] = {
    ("GET", "/health"): Permission.PUBLIC,
    ("GET", "/metrics"): Permission.PUBLIC,
    ("GET", "/openapi.json"): Permission.PUBLIC,
    ("GET", "/docs"): Permission.PUBLIC,
    ("GET", "/docs/oauth2-redirect"): Permission.PUBLIC,
    ("GET", "/redoc"): Permission.PUBLIC,
    ("GET", "/events/schemas/{name}"): Permission.PUBLIC,
    ("GET", "/agents"): Permission.AGENTS_READ,
    ("GET", "/agents/{agent_id}"): Permission.AGENTS_READ,
    ("POST", "/agents/{agent_id}/login"): Permission.AGENTS_ACT,
    ("POST", "/agents/{agent_id}/logout"): Permission.AGENTS_ACT,
    ("POST", "/agents/{agent_id}/pause"): Permission.AGENTS_ACT,
    ("POST", "/agents/{agent_id}/unpause"): Permission.AGENTS_ACT,
    ("POST", "/agents/{agent_id}/ready"): Permission.AGENTS_ACT,
    ("GET", "/queues"): Permission.QUEUES_READ,
    ("GET", "/calls"): Permission.CALLS_READ,
    ("GET", "/cdr"): Permission.CDR_READ,
    ("GET", "/calls/{call_id}/recording"): Permission.RECORDINGS_READ,
    ("GET", "/events"): Permission.EVENTS_READ,
    ("GET", "/api/v1/audit"): Permission.AUDIT_READ,
    # API v1: the live views under their versioned paths (same handlers as above)
    ("GET", "/api/v1/agents"): Permission.AGENTS_READ,
    ("GET", "/api/v1/agents/{agent_id}"): Permission.AGENTS_READ,
    ("POST", "/api/v1/agents/{agent_id}/login"): Permission.AGENTS_ACT,
    ("POST", "/api/v1/agents/{agent_id}/logout"): Permission.AGENTS_ACT,
    ("POST", "/api/v1/agents/{agent_id}/pause"): Permission.AGENTS_ACT,
    ("POST", "/api/v1/agents/{agent_id}/unpause"): Permission.AGENTS_ACT,
    ("POST", "/api/v1/agents/{agent_id}/ready"): Permission.AGENTS_ACT,
    ("GET", "/api/v1/queues"): Permission.QUEUES_READ,
    # API v1: history, recordings, statistics (an agent user: its own rows)
    ("GET", "/api/v1/calls"): Permission.HISTORY_READ,
    ("GET", "/api/v1/calls/{call_id}"): Permission.HISTORY_READ,
    ("GET", "/api/v1/calls/{call_id}/recording"): Permission.RECORDINGS_READ,
    ("GET", "/api/v1/recordings"): Permission.RECORDINGS_READ,
    ("GET", "/api/v1/stats/queues"): Permission.STATS_QUEUES,
    ("GET", "/api/v1/stats/agents"): Permission.STATS_AGENTS,
    ("POST", "/api/v1/agents/{agent_id}/queues/{queue}/login"): Permission.AGENTS_ACT,
    ("POST", "/api/v1/agents/{agent_id}/queues/{queue}/logout"): Permission.AGENTS_ACT,
    # API v1: routing definitions (gateway/api/v1/routing.py); writes: admin only
    ("GET", "/api/v1/config/globals"): Permission.ROUTING_READ,
    ("PUT", "/api/v1/config/globals"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/queues"): Permission.ROUTING_READ,
    ("POST", "/api/v1/config/queues"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/queues/{name}"): Permission.ROUTING_READ,
    ("PUT", "/api/v1/config/queues/{name}"): Permission.ROUTING_WRITE,
    ("DELETE", "/api/v1/config/queues/{name}"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/dids"): Permission.ROUTING_READ,
    ("POST", "/api/v1/config/dids"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/dids/{number}"): Permission.ROUTING_READ,
    ("PUT", "/api/v1/config/dids/{number}"): Permission.ROUTING_WRITE,
    ("DELETE", "/api/v1/config/dids/{number}"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/agents"): Permission.ROUTING_READ,
    ("POST", "/api/v1/config/agents"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/agents/{agent_id}"): Permission.ROUTING_READ,
    ("PUT", "/api/v1/config/agents/{agent_id}"): Permission.ROUTING_WRITE,
    ("DELETE", "/api/v1/config/agents/{agent_id}"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/schedules"): Permission.ROUTING_READ,
    ("POST", "/api/v1/config/schedules"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/schedules/{name}"): Permission.ROUTING_READ,
    ("PUT", "/api/v1/config/schedules/{name}"): Permission.ROUTING_WRITE,
    ("DELETE", "/api/v1/config/schedules/{name}"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/holidays"): Permission.ROUTING_READ,
    ("POST", "/api/v1/config/holidays"): Permission.ROUTING_WRITE,
    ("GET", "/api/v1/config/holidays/{date}"): Permission.ROUTING_READ,
    ("PUT", "/api/v1/config/holidays/{date}"): Permission.ROUTING_WRITE,
    ("DELETE", "/api/v1/config/holidays/{date}"): Permission.ROUTING_WRITE,
    # QA (gateway/api/v1/qa.py): forms, evaluations, remarks, calibration
    ("GET", "/api/v1/qa/forms"): Permission.QA_FORMS_READ,
    ("POST", "/api/v1/qa/forms"): Permission.QA_FORMS_WRITE,
    ("GET", "/api/v1/qa/forms/{name}"): Permission.QA_FORMS_READ,
    ("PUT", "/api/v1/qa/forms/{name}"): Permission.QA_FORMS_WRITE,
    ("DELETE", "/api/v1/qa/forms/{name}"): Permission.QA_FORMS_WRITE,
    ("GET", "/api/v1/qa/forms/{name}/versions"): Permission.QA_FORMS_READ,
    ("GET", "/api/v1/qa/forms/{name}/versions/{version}"): Permission.QA_FORMS_READ,
    ("GET", "/api/v1/qa/evaluations"): Permission.QA_EVALUATIONS_READ,
    ("POST", "/api/v1/qa/evaluations"): Permission.QA_EVALUATE,
    ("GET", "/api/v1/qa/evaluations/{evaluation_id}"): Permission.QA_EVALUATIONS_READ,
    ("PUT", "/api/v1/qa/evaluations/{evaluation_id}"): Permission.QA_EVALUATE,
    ("POST", "/api/v1/qa/evaluations/{evaluation_id}/submit"): Permission.QA_EVALUATE,
    ("POST", "/api/v1/qa/evaluations/{evaluation_id}/acknowledgement"): Permission.QA_ACKNOWLEDGE,
    ("GET", "/api/v1/calls/{call_id}/remarks"): Permission.QA_EVALUATIONS_READ,
    ("POST", "/api/v1/calls/{call_id}/remarks"): Permission.QA_EVALUATE,
    ("DELETE", "/api/v1/calls/{call_id}/remarks/{remark_id}"): Permission.QA_EVALUATE,
    ("GET", "/api/v1/calls/{call_id}/calibration"): Permission.QA_CALIBRATION,
    # Wallboard: the JSON snapshot, its Server-Sent Events stream and the page
    ("GET", "/api/v1/wallboard"): Permission.WALLBOARD_READ,
    ("GET", "/api/v1/wallboard/stream"): Permission.WALLBOARD_READ,
    ("GET", "/ui/wallboard"): Permission.WALLBOARD_READ,
    # Web UI (gateway/ui/): pages take the permission of the API data they show; the
    # start page redirects to the first page the role may open (every role has history)
    ("GET", "/ui/"): Permission.HISTORY_READ,
    ("GET", "/ui/login"): Permission.PUBLIC,
    ("POST", "/ui/login"): Permission.PUBLIC,  # checks the token itself
    ("POST", "/ui/logout"): Permission.PUBLIC,  # clears the cookie (CSRF-checked)
    ("GET", "/ui/static/{name:path}"): Permission.PUBLIC,
    # QA pages (gateway/ui/qa.py, qa_forms.py)
    ("GET", "/ui/calls/{call_id}/evaluate"): Permission.QA_EVALUATE,
    ("GET", "/ui/calls/{call_id}/calibration"): Permission.QA_CALIBRATION,
    ("GET", "/ui/evaluations"): Permission.QA_EVALUATIONS_READ,
    ("GET", "/ui/qa/forms"): Permission.QA_FORMS_READ,
    ("GET", "/ui/qa/forms/new"): Permission.QA_FORMS_WRITE,
    ("GET", "/ui/qa/forms/{name}/edit"): Permission.QA_FORMS_WRITE,
    ("GET", "/ui/qa/forms/{name}/versions/{version}"): Permission.QA_FORMS_READ,
    ("GET", "/ui/calls"): Permission.HISTORY_READ,  # an agent: its own calls
    ("GET", "/ui/calls/{call_id}"): Permission.RECORDINGS_READ,  # the player
    ("GET", "/ui/calls/{call_id}/waveform"): Permission.RECORDINGS_READ,
    # Voicemail boxes (gateway/api/v1/voicemail.py, gateway/ui/voicemail.py)
    ("GET", "/api/v1/voicemail"): Permission.VOICEMAIL_READ,
    ("GET", "/api/v1/voicemail/{call_id}"): Permission.VOICEMAIL_READ,
    ("GET", "/api/v1/voicemail/{call_id}/audio"): Permission.VOICEMAIL_READ,
    ("POST", "/api/v1/voicemail/{call_id}/handled"): Permission.VOICEMAIL_ACT,
    ("POST", "/api/v1/voicemail/{call_id}/reopen"): Permission.VOICEMAIL_ACT,
    ("GET", "/ui/voicemail"): Permission.VOICEMAIL_READ,
    # Queued callbacks (gateway/api/v1/callbacks.py): supervisors and admins
    ("GET", "/api/v1/callbacks"): Permission.CALLBACKS_READ,
    ("GET", "/api/v1/callbacks/{callback_id}"): Permission.CALLBACKS_READ,
    ("POST", "/api/v1/callbacks/{callback_id}/cancel"): Permission.CALLBACKS_ACT,
    ("POST", "/api/v1/callbacks/{callback_id}/reschedule"): Permission.CALLBACKS_ACT,
    ("GET", "/ui/reports"): Permission.STATS_QUEUES,  # + its agent table: stats.agents
    # Agent desktop (gateway/api/v1/desktop.py, gateway/ui/agent.py)
    ("GET", "/api/v1/desktop"): Permission.DESKTOP_READ,
    ("GET", "/api/v1/desktop/stream"): Permission.DESKTOP_READ,
    ("GET", "/api/v1/desktop/calls/{call_id}"): Permission.DESKTOP_READ,
    ("POST", "/api/v1/calls/{call_id}/wrapup"): Permission.WRAPUP_WRITE,
    ("GET", "/ui/agent"): Permission.DESKTOP_READ,
    ("GET", "/ui/agent/calls/{call_id}"): Permission.DESKTOP_READ,  # the Call-Info link
    # Transfers (gateway/api/v1/transfers.py)
    ("POST", "/api/v1/calls/{call_id}/transfers"): Permission.CALLS_TRANSFER,
    # API v1: in-call control (gateway/api/v1/incall.py, docs/in-call.md)
    ("GET", "/api/v1/calls/{call_id}/in-call"): Permission.CALLS_CONTROL,
    ("POST", "/api/v1/calls/{call_id}/hold"): Permission.CALLS_CONTROL,
    ("POST", "/api/v1/calls/{call_id}/resume"): Permission.CALLS_CONTROL,
    ("POST", "/api/v1/calls/{call_id}/recording/pause"): Permission.CALLS_CONTROL,
    ("POST", "/api/v1/calls/{call_id}/recording/resume"): Permission.CALLS_CONTROL,
    ("POST", "/api/v1/calls/{call_id}/monitor"): Permission.CALLS_MONITOR,
    ("PATCH", "/api/v1/calls/{call_id}/monitor"): Permission.CALLS_MONITOR,
    ("DELETE", "/api/v1/calls/{call_id}/monitor"): Permission.CALLS_MONITOR,
    ("GET", "/api/v1/transfers/{transfer_id}"): Permission.CALLS_TRANSFER,
    ("POST", "/api/v1/transfers/{transfer_id}/complete"): Permission.CALLS_TRANSFER,
    ("POST", "/api/v1/transfers/{transfer_id}/cancel"): Permission.CALLS_TRANSFER,
    ("GET", "/ui/reports.csv"): Permission.STATS_QUEUES,
    ("GET", "/ui/reports/agents.csv"): Permission.STATS_AGENTS,  # an agent: its own rows
}


def route_permission(method: str, path: str) -> Permission | None:
    """The permission of a route (its path template), None if it is not in the table."""
    return ROUTES.get(("GET" if method == "HEAD" else method, path))


def refusal(
    role: Role, bound_agent: str | None, permission: Permission, target_agent: str | None
) -> str | None:
    """Why `role` may not use `permission` on `target_agent` (None: it may)."""
    if permission is Permission.PUBLIC:
        return None
    scope = GRANTS[role].get(permission)
    if scope is None:
        return f"role {role} lacks permission {permission}"
    if scope is Scope.OWN and (target_agent is None or target_agent != bound_agent):
        return f"role {role} has permission {permission} on its own agent ({bound_agent}) only"
    if scope is Scope.ROWS and target_agent is not None and target_agent != bound_agent:
        return f"role {role} has permission {permission} on its own agent ({bound_agent}) only"
    return None


def rows_agent(role: Role, bound_agent: str | None, permission: Permission) -> str | None:
    """The agent whose rows alone a route may serve this user (None: every row).

    Only a `ROWS` grant restricts; an agent user bound to no agent gets "" (no row)."""
    if GRANTS[role].get(permission) is Scope.ROWS:
        return bound_agent or ""
    return None
