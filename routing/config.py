"""Build a :class:`RoutingTable` from plain data (what the YAML loader passes).

Every error is a :class:`RoutingConfigError` whose message starts with the key path,
e.g. ``dids[3].queue: unknown queue 'sales2'``.  The accepted shape is documented in
docs/routing.md.  Keys are checked strictly, except inside ``queues.<name>`` where
the keys other than ``schedule`` and ``closed_action`` belong to the ACD and are left
alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from routing.errors import RoutingConfigError
from routing.numbers import normalise
from routing.schedule import WEEKDAYS, Holiday, Schedule, TimeRange
from routing.table import (
    Announce,
    ClosedAction,
    DefaultRoute,
    DidRoute,
    QueueRouting,
    RoutingTable,
    ToOtherQueue,
    Voicemail,
)

__all__ = ["ROUTING_KEYS", "build_routing_table"]

ROUTING_KEYS = frozenset(
    {
        "region",
        "timezone",
        "strict_numbers",
        "holidays",
        "closed_action",
        "schedules",
        "queues",
        "dids",
        "default_route",
    }
)
_SCHEDULE_KEYS = frozenset({"timezone", "hours", "holidays"})
_DID_KEYS = frozenset({"number", "queue", "priority", "skills", "tags"})
_T = TypeVar("_T")


def _key(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RoutingConfigError(path, f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise RoutingConfigError(path, f"key {key!r} is not a string")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise RoutingConfigError(path, f"expected a list, got {type(value).__name__}")
    return list(value)


def _str(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RoutingConfigError(path, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _only(data: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in data:
        if key not in allowed:
            raise RoutingConfigError(
                _key(path, key), f"unknown key (expected one of {', '.join(sorted(allowed))})"
            )


def _parsed(parse: Callable[[str], _T], value: object, path: str) -> _T:
    """Run a ValueError-raising parser and re-raise with the key path."""
    if not isinstance(value, str):
        raise RoutingConfigError(path, f"expected a string, got {value!r} (quote it in YAML)")
    try:
        return parse(value)
    except ValueError as exc:
        raise RoutingConfigError(path, str(exc)) from None


def _timezone(value: object, path: str) -> ZoneInfo:
    name = _str(value, path)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RoutingConfigError(path, f"unknown IANA time zone {name!r}") from None


def _names(value: object, path: str) -> frozenset[str]:
    return frozenset(_str(v, f"{path}[{i}]") for i, v in enumerate(_list(value, path)))


# -- schedules ----------------------------------------------------------------


def _weekdays(key: str, path: str) -> list[int]:
    """``"mon"`` or a range ``"mon-fri"`` (wrapping allowed: ``"fri-mon"``)."""
    first, _, last = key.lower().partition("-")
    if first not in WEEKDAYS or (last and last not in WEEKDAYS):
        raise RoutingConfigError(path, "expected a weekday (mon..sun) or a range like mon-fri")
    start = WEEKDAYS.index(first)
    span = (WEEKDAYS.index(last) - start) % 7 if last else 0
    return [(start + i) % 7 for i in range(span + 1)]


def _hours(value: object, path: str) -> tuple[tuple[TimeRange, ...], ...]:
    days: list[list[TimeRange]] = [[] for _ in WEEKDAYS]
    for key, ranges in _mapping(value, path).items():
        key_path = _key(path, key)
        weekdays = _weekdays(key, key_path)
        for index, text in enumerate(_list(ranges, key_path)):
            parsed = _parsed(TimeRange.parse, text, f"{key_path}[{index}]")
            for day in weekdays:
                days[day].append(parsed)
    return tuple(tuple(day) for day in days)


def _holiday_date(value: object, path: str) -> tuple[int | None, int, int]:
    if isinstance(value, dt.datetime):
        raise RoutingConfigError(path, "expected a date, not a date-time")
    if isinstance(value, dt.date):
        return value.year, value.month, value.day
    text = _str(value, path)
    try:
        if len(text) == 5:  # "12-25": every year
            parsed = dt.date.fromisoformat(f"2000-{text}")
            return None, parsed.month, parsed.day
        parsed = dt.date.fromisoformat(text)
        return parsed.year, parsed.month, parsed.day
    except ValueError:
        raise RoutingConfigError(path, f"{text!r} is not a date YYYY-MM-DD or MM-DD") from None


def _holiday(value: object, path: str) -> Holiday:
    if not isinstance(value, Mapping):
        year, month, day = _holiday_date(value, path)
        return Holiday(month, day, year)
    data = _mapping(value, path)
    _only(data, frozenset({"date", "name", "closed"}), path)
    if "date" not in data:
        raise RoutingConfigError(_key(path, "date"), "required")
    year, month, day = _holiday_date(data["date"], _key(path, "date"))
    name = _str(data["name"], _key(path, "name")) if "name" in data else ""
    closed: list[TimeRange] = []
    closed_path = _key(path, "closed")
    for index, text in enumerate(_list(data.get("closed", []), closed_path)):
        item_path = f"{closed_path}[{index}]"
        parsed = _parsed(TimeRange.parse, text, item_path)
        if parsed.crosses_midnight:
            raise RoutingConfigError(item_path, "a holiday closure may not cross midnight")
        closed.append(parsed)
    return Holiday(month, day, year, name, tuple(closed))


def _holidays(value: object, path: str) -> tuple[Holiday, ...]:
    return tuple(_holiday(v, f"{path}[{i}]") for i, v in enumerate(_list(value, path)))


def _schedule(
    value: object, path: str, default_tz: ZoneInfo, shared: tuple[Holiday, ...]
) -> Schedule:
    data = _mapping(value, path)
    _only(data, _SCHEDULE_KEYS, path)
    if "hours" not in data:
        raise RoutingConfigError(_key(path, "hours"), "required")
    tz = _timezone(data["timezone"], _key(path, "timezone")) if "timezone" in data else default_tz
    own = _holidays(data.get("holidays", []), _key(path, "holidays"))
    return Schedule(tz, _hours(data["hours"], _key(path, "hours")), shared + own)


# -- actions ------------------------------------------------------------------


def _action(value: object, path: str, *, allow_voicemail: bool) -> ClosedAction:
    """``{announcement: prompt}``, ``{hangup: true}``, ``{voicemail: box}``, ``{queue: q}``."""
    data = _mapping(value, path)
    kinds = {"announcement", "hangup", "queue"} | ({"voicemail"} if allow_voicemail else set())
    if len(data) != 1 or next(iter(data)) not in kinds:
        raise RoutingConfigError(path, f"expected exactly one of {', '.join(sorted(kinds))}")
    kind, arg = next(iter(data.items()))
    arg_path = _key(path, kind)
    if kind == "announcement":
        return Announce(None if arg is None else _str(arg, arg_path))
    if kind == "hangup":
        if arg is not True:
            raise RoutingConfigError(arg_path, "expected true")
        return Announce(None)
    if kind == "voicemail":
        return Voicemail(_str(arg, arg_path))
    return ToOtherQueue(_str(arg, arg_path))


def _check_queue(name: str, queues: Mapping[str, object], path: str) -> None:
    if name not in queues:
        raise RoutingConfigError(path, f"unknown queue {name!r}")


def _check_no_cycle(queues: Mapping[str, QueueRouting]) -> None:
    for start in queues:
        chain = [start]
        action = queues[start].closed_action
        while isinstance(action, ToOtherQueue):
            if action.queue in chain:
                loop = " -> ".join([*chain, action.queue])
                raise RoutingConfigError(
                    f"queues.{start}.closed_action.queue", f"closed-action cycle {loop}"
                )
            chain.append(action.queue)
            action = queues[action.queue].closed_action


# -- top level ----------------------------------------------------------------


def _queues(
    data: Mapping[str, Any], default_tz: ZoneInfo, holidays: tuple[Holiday, ...]
) -> dict[str, QueueRouting]:
    schedules = {
        name: _schedule(value, f"schedules.{name}", default_tz, holidays)
        for name, value in _mapping(data.get("schedules", {}), "schedules").items()
    }
    default_closed = (
        _action(data["closed_action"], "closed_action", allow_voicemail=True)
        if "closed_action" in data
        else Announce()
    )
    queues: dict[str, QueueRouting] = {}
    for name, value in _mapping(data.get("queues", {}), "queues").items():
        path = f"queues.{name}"
        spec = _mapping({} if value is None else value, path)
        schedule: Schedule | None = None
        raw = spec.get("schedule")
        if isinstance(raw, str):
            if raw not in schedules:
                raise RoutingConfigError(_key(path, "schedule"), f"unknown schedule {raw!r}")
            schedule = schedules[raw]
        elif raw is not None:
            schedule = _schedule(raw, _key(path, "schedule"), default_tz, holidays)
        closed = (
            _action(spec["closed_action"], _key(path, "closed_action"), allow_voicemail=True)
            if "closed_action" in spec
            else default_closed
        )
        queues[name] = QueueRouting(name, schedule, closed)
    for name, queue in queues.items():
        if isinstance(queue.closed_action, ToOtherQueue):
            _check_queue(queue.closed_action.queue, queues, f"queues.{name}.closed_action.queue")
    if isinstance(default_closed, ToOtherQueue):
        _check_queue(default_closed.queue, queues, "closed_action.queue")
    _check_no_cycle(queues)
    return queues


def _did(
    value: object, path: str, region: str | None, strict: bool, queues: Mapping[str, object]
) -> DidRoute:
    data = _mapping(value, path)
    _only(data, _DID_KEYS, path)
    for required in ("number", "queue"):
        if required not in data:
            raise RoutingConfigError(_key(path, required), "required")
    raw = data["number"]
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # YAML reads an unquoted 4155550100 as an int
    parsed = normalise(_str(raw, _key(path, "number")), region, strict=strict)
    if parsed.e164 is None:
        raise RoutingConfigError(
            _key(path, "number"),
            f"{raw!r} is not a phone number in region {region}: {parsed.reason}",
        )
    queue = _str(data["queue"], _key(path, "queue"))
    _check_queue(queue, queues, _key(path, "queue"))
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise RoutingConfigError(_key(path, "priority"), f"expected an integer, got {priority!r}")
    skills = _names(data.get("skills", []), _key(path, "skills"))
    tags = _names(data.get("tags", []), _key(path, "tags"))
    return DidRoute(parsed.e164, queue, priority, skills, tags)


def build_routing_table(data: Mapping[str, Any]) -> RoutingTable:
    """Validate ``data`` and build an immutable :class:`RoutingTable`."""
    data = _mapping(data, "")
    _only(data, ROUTING_KEYS, "")
    region: str | None = None
    if data.get("region") is not None:
        region = _str(data["region"], "region").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise RoutingConfigError("region", f"unknown region {region!r} (ISO 3166 code)")
    strict = data.get("strict_numbers", False)
    if not isinstance(strict, bool):
        raise RoutingConfigError("strict_numbers", "expected true or false")
    default_tz = _timezone(data.get("timezone", "UTC"), "timezone")
    holidays = _holidays(data.get("holidays", []), "holidays")
    queues = _queues(data, default_tz, holidays)

    dids: dict[str, DidRoute] = {}
    first_index: dict[str, int] = {}
    for index, value in enumerate(_list(data.get("dids", []), "dids")):
        route = _did(value, f"dids[{index}]", region, strict, queues)
        if route.number in dids:
            raise RoutingConfigError(
                f"dids[{index}].number",
                f"{route.number} is already routed by dids[{first_index[route.number]}]",
            )
        dids[route.number] = route
        first_index[route.number] = index

    default: DefaultRoute = Announce()
    if data.get("default_route") is not None:
        action = _action(data["default_route"], "default_route", allow_voicemail=False)
        assert not isinstance(action, Voicemail)
        if isinstance(action, ToOtherQueue):
            _check_queue(action.queue, queues, "default_route.queue")
        default = action
    return RoutingTable(region, dids, queues, default, strict)
