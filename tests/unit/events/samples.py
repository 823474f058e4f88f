"""One instance of every catalogue class, with every field set (or every optional one
null), built from the class's type hints so a new event type is covered unasked."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime
from typing import Any, Literal

from gateway.events.catalogue import CATALOGUE, Event, EventData

AT = datetime(2026, 12, 1, 14, 3, 27, 512000, tzinfo=UTC)


def sample(cls: type[Any], *, nulls: bool = False) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _value(hints[f.name], f.name, nulls) for f in dataclasses.fields(cls)})


def _value(hint: Any, name: str, nulls: bool) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return None if nulls else _value(inner, name, nulls)
    if origin is Literal:
        return args[-1]
    if origin is tuple:
        return (_value(args[0], name, nulls), _value(args[0], name, nulls))
    if hint is bool:
        return True
    if hint is int:
        return 3
    if hint is float:
        return 1.5
    if hint is str:
        return f"{name}-1"
    if hint is datetime:
        return AT
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return sample(hint, nulls=nulls)
    raise TypeError(f"samples.py cannot build a {hint!r}")


def every_sample() -> list[tuple[type[EventData], Event]]:
    return [(cls, sample(cls, nulls=n)) for cls in CATALOGUE for n in (False, True)]
