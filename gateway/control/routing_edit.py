"""One change to the routing configuration: the next `RoutingSettings` from the current
one plus one resource created, replaced or deleted (the API's routing CRUD).

Theory of operation
-------------------
Every function here is pure: it takes the current content and the request's data and
returns the next content, or raises a domain error (gateway/control/errors.py) with a
reason naming the key, the way the YAML loader does: ``queues.sales.ring_timeout:
Input should be greater than 0``. The resource is validated by the same pydantic model
as the YAML (`QueueSettings`, `DidRoute`, ...), then the whole next content as the
running gateway will judge it (`validated`: references, the routing table, the ACD's
queue and agent models), so a version the API writes is one `LiveConfig` can apply.

Rules beyond the models: DID numbers are stored in E.164, normalised as routing/ does
(the table's region, `strict_numbers`), and unique; a queue still referenced (a DID, an
overflow or closed action, the default route, an agent) or a schedule still used by a
queue cannot be deleted, and the error names who references it; agent passwords are
write-only (a replace without one keeps the current password).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.control import build
from gateway.control.errors import Conflict, InvalidRequest, NotFound
from gateway.settings.routing import (
    STRATEGIES,
    AgentSettings,
    DidRoute,
    Holiday,
    QueueSettings,
    RoutingSettings,
    Schedule,
)
from routing import build_routing_table
from routing.errors import RoutingError
from routing.numbers import NumberStatus, normalise

M = TypeVar("M", bound=BaseModel)
Body = Mapping[str, Any]
GLOBAL_KEYS = ("region", "timezone", "strict_numbers", "closed_action", "default_route")


class StaleVersion(Conflict):
    """The write was based on a version that is no longer the current one."""

    def __init__(self, sent: int, current: int) -> None:
        self.sent, self.current = sent, current
        super().__init__(
            f"routing changed since you read it (your If-Match is version {sent}, the "
            f"current version is {current}): read it again and redo your change"
        )


# ---------------------------------------------------------------------- validation
def reasons(exc: ValidationError, prefix: str) -> str:
    parts = []
    for error in exc.errors():
        path = ".".join(p for p in [prefix, *(str(p) for p in error["loc"])] if p)
        parts.append(f"{path}: {error['msg']}" if path else str(error["msg"]))
    return "; ".join(parts)


def model(cls: type[M], data: Any, prefix: str) -> M:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(reasons(exc, prefix)) from None


def validated(routing: RoutingSettings) -> RoutingSettings:
    """``routing`` if the running gateway can apply it, else InvalidRequest with why."""
    if problems := routing.reference_problems():
        raise InvalidRequest("; ".join(f"{'.'.join(map(str, p))}: {why}" for p, why in problems))
    try:
        build_routing_table(routing.routing_data())
        for name, queue in routing.queues.items():
            build.queue_config(name, queue)
        for user, agent in routing.agents.items():
            build.agent_config(user, agent)
    except (RoutingError, ValueError) as exc:  # RoutingConfigError, the ACD's ConfigError
        raise InvalidRequest(str(exc)) from None
    return routing


def _with(routing: RoutingSettings, **update: Any) -> RoutingSettings:
    data = {key: getattr(routing, key) for key in RoutingSettings.model_fields}
    return validated(model(RoutingSettings, data | update, ""))


def _named(body: Body, key: str, path_value: str | None, what: str) -> tuple[str, dict[str, Any]]:
    """The resource's name (from the path, or the body on create) and the rest of it."""
    data = dict(body)
    given = data.pop(key, None)
    if path_value is None:
        if given is None or given == "":
            raise InvalidRequest(f"{what}.{key}: required")
        if not isinstance(given, str):
            raise InvalidRequest(f"{what}.{key}: expected a string, got {given!r}")
        return given, data
    if given is not None and given != path_value:
        raise InvalidRequest(f"{what}.{key}: {given!r} differs from the path ({path_value!r})")
    return path_value, data


# ---------------------------------------------------------------------- queues
def queue_references(routing: RoutingSettings, name: str) -> list[str]:
    """Who sends calls to queue ``name`` or lists it (empty: it can go)."""
    refs = [f"did {d.number}" for d in routing.dids if d.queue == name]
    for other, q in routing.queues.items():
        for key in ("overflow", "closed_action"):
            action = getattr(q, key)
            if other != name and action is not None and action.queue == name:
                refs.append(f"queue {other} {key}")
    for key in ("closed_action", "default_route"):
        action = getattr(routing, key)
        if action is not None and action.queue == name:
            refs.append(key)
    refs.extend(f"agent {u}" for u, a in routing.agents.items() if name in a.queues)
    return refs


def put_queue(
    routing: RoutingSettings, name: str | None, body: Body, *, create: bool
) -> RoutingSettings:
    """Create (``name`` None: from the body) or replace a queue."""
    name, data = _named(body, "name", name, "queues")
    prefix = f"queues.{name}"
    strategy = data.get("strategy")
    if strategy is not None and strategy not in STRATEGIES:
        raise InvalidRequest(
            f"{prefix}.strategy: unknown strategy {strategy!r} (valid: {', '.join(STRATEGIES)})"
        )
    _exists(routing.queues, name, "queue", create=create)
    queue = model(QueueSettings, data, prefix)
    return _with(routing, queues={**routing.queues, name: queue})


def delete_queue(routing: RoutingSettings, name: str) -> RoutingSettings:
    _exists(routing.queues, name, "queue", create=False)
    if refs := queue_references(routing, name):
        raise Conflict(f"queue {name!r} is referenced by {', '.join(refs)}: change those first")
    return _with(routing, queues={k: v for k, v in routing.queues.items() if k != name})


def _exists(table: Mapping[str, Any], key: str, what: str, *, create: bool) -> None:
    if create and key in table:
        raise Conflict(f"{what} {key!r} exists already: replace it with PUT")
    if not create and key not in table:
        known = ", ".join(sorted(table)) or "none"
        raise NotFound(f"no {what} {key!r} (known: {known})")


# ---------------------------------------------------------------------- DIDs
def e164(routing: RoutingSettings, raw: str, where: str) -> str:
    parsed = normalise(raw, routing.region, strict=routing.strict_numbers)
    if parsed.status is not NumberStatus.OK or parsed.e164 is None:
        raise InvalidRequest(f"{where}: {raw!r} is not an E.164 number ({parsed.reason})")
    return parsed.e164


def did_numbers(routing: RoutingSettings) -> list[str]:
    """The DIDs' numbers in E.164 (a number from a file may be written otherwise)."""
    out = []
    for did in routing.dids:
        parsed = normalise(did.number, routing.region, strict=routing.strict_numbers)
        out.append(parsed.e164 or did.number)
    return out


def did_index(routing: RoutingSettings, number: str) -> int | None:
    """The index of the DID routing ``number`` (E.164), None if none does."""
    numbers = did_numbers(routing)
    return numbers.index(number) if number in numbers else None


def put_did(
    routing: RoutingSettings, number: str | None, body: Body, *, create: bool
) -> RoutingSettings:
    """Create (``number`` None: from the body) or replace the DID ``number``."""
    raw, data = _named(body, "number", None, "dids") if number is None else (number, dict(body))
    key = e164(routing, raw, "dids.number")
    given = data.pop("number", None)
    if given is not None and e164(routing, str(given), "dids.number") != key:
        raise InvalidRequest(f"dids.number: differs from the path ({key}): delete and create")
    did = model(DidRoute, {**data, "number": key}, f"dids.{key}")
    if did.queue not in routing.queues:
        known = ", ".join(sorted(routing.queues)) or "none"
        raise InvalidRequest(f"dids.{key}.queue: unknown queue {did.queue!r} (known: {known})")
    index = did_index(routing, key)
    if create and index is not None:
        existing = routing.dids[index]
        raise Conflict(f"DID {key} exists already (dids[{index}], to queue {existing.queue!r})")
    if not create and index is None:
        raise NotFound(f"no DID {key}")
    dids = list(routing.dids)
    if index is None:
        dids.append(did)
    else:
        dids[index] = did
    return _with(routing, dids=tuple(dids))


def delete_did(routing: RoutingSettings, number: str) -> RoutingSettings:
    key = e164(routing, number, "dids.number")
    index = did_index(routing, key)
    if index is None:
        raise NotFound(f"no DID {key}")
    return _with(routing, dids=routing.dids[:index] + routing.dids[index + 1 :])


# ---------------------------------------------------------------------- agents
def put_agent(
    routing: RoutingSettings, user: str | None, body: Body, *, create: bool
) -> RoutingSettings:
    """Create (``user`` None: the body's ``id``) or replace an agent; a replace without
    a ``password`` keeps the current one."""
    user, data = _named(body, "id", user, "agents")
    _exists(routing.agents, user, "agent", create=create)
    if data.get("password") is None:
        if create:
            raise InvalidRequest(f"agents.{user}.password: required")
        data["password"] = routing.agents[user].password
    agent = model(AgentSettings, data, f"agents.{user}")
    return _with(routing, agents={**routing.agents, user: agent})


def delete_agent(routing: RoutingSettings, user: str) -> RoutingSettings:
    _exists(routing.agents, user, "agent", create=False)
    return _with(routing, agents={k: v for k, v in routing.agents.items() if k != user})


# ---------------------------------------------------------------------- schedules, holidays
def put_schedule(
    routing: RoutingSettings, name: str | None, body: Body, *, create: bool
) -> RoutingSettings:
    name, data = _named(body, "name", name, "schedules")
    _exists(routing.schedules, name, "schedule", create=create)
    schedule = model(Schedule, data, f"schedules.{name}")
    return _with(routing, schedules={**routing.schedules, name: schedule})


def delete_schedule(routing: RoutingSettings, name: str) -> RoutingSettings:
    _exists(routing.schedules, name, "schedule", create=False)
    users = [f"queue {q}" for q, s in routing.queues.items() if s.schedule == name]
    if users:
        raise Conflict(f"schedule {name!r} is used by {', '.join(users)}: change those first")
    return _with(routing, schedules={k: v for k, v in routing.schedules.items() if k != name})


def holiday_key(holiday: Holiday) -> str:
    return str(holiday.date)  # 2026-12-25, or 12-25 for every year


def put_holiday(
    routing: RoutingSettings, date: str | None, body: Body, *, create: bool
) -> RoutingSettings:
    key, data = _named(body, "date", date, "holidays")
    holiday = model(Holiday, {**data, "date": key}, f"holidays.{key}")
    key = holiday_key(holiday)
    found = [i for i, h in enumerate(routing.holidays) if holiday_key(h) == key]
    if create and found:
        raise Conflict(f"holiday {key} exists already: replace it with PUT")
    if not create and not found:
        raise NotFound(f"no holiday {key}")
    rest = [h for h in routing.holidays if holiday_key(h) != key]
    return _with(routing, holidays=tuple(sorted([*rest, holiday], key=holiday_key)))


def delete_holiday(routing: RoutingSettings, date: str) -> RoutingSettings:
    rest = tuple(h for h in routing.holidays if holiday_key(h) != date)
    if len(rest) == len(routing.holidays):
        raise NotFound(f"no holiday {date}")
    return _with(routing, holidays=rest)


# ---------------------------------------------------------------------- globals
def globals_of(routing: RoutingSettings) -> dict[str, Any]:
    data = routing.model_dump(mode="json", include=set(GLOBAL_KEYS))
    return {key: data.get(key) for key in GLOBAL_KEYS}


def put_globals(routing: RoutingSettings, body: Body) -> RoutingSettings:
    """Replace the region, time zone, number strictness, closed action and default
    route (a key left out takes its default)."""
    if unknown := sorted(set(body) - set(GLOBAL_KEYS)):
        raise InvalidRequest(f"{unknown[0]}: unknown key (known: {', '.join(GLOBAL_KEYS)})")
    defaults = {key: RoutingSettings.model_fields[key].get_default() for key in GLOBAL_KEYS}
    given = {key: value for key, value in body.items() if value is not None}
    return _with(routing, **(defaults | given))
