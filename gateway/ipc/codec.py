"""Newline-delimited JSON codec for the worker protocol (see docs/ipc.md).

``encode(msg) -> bytes`` (one line, ``\\n``-terminated) and ``decode(line) -> msg``.
Decoding is strict about what it needs (type, required fields, field types of the
simple kinds) and lenient about what it does not know: unknown *fields* are
ignored so a newer peer can add optional fields without a version bump; unknown
*commands/events* raise ``ProtocolError`` (the receiver answers ``bad_args``).

Error tree::

    ProtocolError          malformed line, unknown message, missing/invalid field
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from gateway.ipc.protocol import COMMANDS, EVENTS, Command, Event, Hello, Result, Welcome

MAX_LINE = 64 * 1024  # a line longer than this is a protocol error, not a memory sink

T = TypeVar("T")


class ProtocolError(ValueError):
    """The peer sent something this codec cannot turn into a message."""


@dataclass(frozen=True, slots=True)
class Request:
    """A command with its correlation id."""

    id: int
    command: Command


@dataclass(frozen=True, slots=True)
class Notification:
    """An event from a worker (no correlation id: events are not answers)."""

    event: Event


Message = Hello | Welcome | Request | Result | Notification


def _fields(obj: Any) -> dict[str, Any]:
    """A message's fields as JSON values (an enum travels as its value)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = value.value if isinstance(value, enum.Enum) else value
    return out


def encode(msg: Message) -> bytes:
    """One JSON line for ``msg``."""
    if isinstance(msg, Request):
        obj: dict[str, Any] = {
            "t": "cmd",
            "id": msg.id,
            "name": msg.command.NAME,
            "args": _fields(msg.command),
        }
    elif isinstance(msg, Result):
        obj = {"t": "res", "id": msg.id, "ok": msg.ok}
        if msg.ok:
            obj["data"] = msg.data
        else:
            obj["error"] = {"code": msg.error_code, "message": msg.error_message}
    elif isinstance(msg, Notification):
        obj = {"t": "evt", "name": msg.event.NAME, "data": _fields(msg.event)}
    elif isinstance(msg, Hello):
        obj = {"t": "hello", **_fields(msg)}
    elif isinstance(msg, Welcome):
        obj = {"t": "welcome", **_fields(msg)}
    else:
        raise TypeError(f"cannot encode {type(msg).__name__}")
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _check_type(cls: type, name: str, value: Any, hint: Any) -> Any:
    """Validate the JSON value against the simple annotation kinds we use."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _check_type(cls, name, value, inner[0])
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in hint)
            raise ProtocolError(
                f"{cls.__name__}.{name}: {value!r} is not one of {allowed}"
            ) from None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = origin or hint
    if expected is bool and not isinstance(value, bool):
        raise ProtocolError(f"{cls.__name__}.{name}: expected bool, got {value!r}")
    if expected in (int, float) and (isinstance(value, bool) or not isinstance(value, expected)):
        raise ProtocolError(f"{cls.__name__}.{name}: expected {expected.__name__}, got {value!r}")
    if expected in (str, dict) and not isinstance(value, expected):
        raise ProtocolError(f"{cls.__name__}.{name}: expected {expected.__name__}, got {value!r}")
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def build(cls: type[T], data: object) -> T:
    """Instantiate dataclass ``cls`` from a JSON object, validating field types."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{cls.__name__}: expected an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _check_type(cls, f.name, data[f.name], hints[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ProtocolError(f"{cls.__name__}: missing field {f.name!r}")
    return cls(**kwargs)


def decode(line: bytes | str) -> Message:
    """Parse one line into a message; raises ``ProtocolError`` if it is not one."""
    if len(line) > MAX_LINE:
        raise ProtocolError("line too long")
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    except RecursionError:  # "[[[[..." well within MAX_LINE: json recurses per level
        raise ProtocolError("not JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtocolError("not a JSON object")
    kind = obj.get("t")
    if kind == "cmd":
        cmd_cls = COMMANDS.get(str(obj.get("name")))
        if cmd_cls is None:
            raise ProtocolError(f"unknown command {obj.get('name')!r}")
        rid = obj.get("id")
        if not isinstance(rid, int) or isinstance(rid, bool):
            raise ProtocolError("command without integer id")
        return Request(rid, build(cmd_cls, obj.get("args", {})))
    if kind == "res":
        rid, ok = obj.get("id"), obj.get("ok")
        if not isinstance(rid, int) or not isinstance(ok, bool):
            raise ProtocolError("result needs integer id and boolean ok")
        if ok:
            data = obj.get("data", {})
            return Result(rid, True, data if isinstance(data, dict) else {})
        err = obj.get("error") or {}
        if not isinstance(err, dict):
            raise ProtocolError("result error must be an object")
        return Result(rid, False, {}, str(err.get("code", "")), str(err.get("message", "")))
    if kind == "evt":
        evt_cls = EVENTS.get(str(obj.get("name")))
        if evt_cls is None:
            raise ProtocolError(f"unknown event {obj.get('name')!r}")
        return Notification(build(evt_cls, obj.get("data", {})))
    if kind == "hello":
        return build(Hello, obj)
    if kind == "welcome":
        return build(Welcome, obj)
    raise ProtocolError(f"unknown message type {kind!r}")
