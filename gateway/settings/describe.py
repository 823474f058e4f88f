"""Turn pydantic's validation errors into operator-friendly ``file:line: key: message``.

Pydantic reports a ``loc`` such as ``("routing", "queues", "sales", "ring_timeout")``
that may contain type tags (``"float"``, ``"function-after[...]"``). We walk the raw
data along ``loc`` to recover the real key path, ask the :class:`LineIndex` for its
line, and phrase the message from the error type and the field's constraints
(``must be a positive number, got 'abc'``). Unknown keys get a "did you mean".
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from gateway.settings.errors import ConfigIssue
from gateway.settings.yamlsource import LineIndex, Path, format_path

_KIND = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "dict": "a mapping",
    "model": "a mapping",
    "list": "a list",
    "tuple": "a list",
    "date": "a date (YYYY-MM-DD)",
    "enum": "one of the listed values",
}


def describe_errors(
    exc: ValidationError,
    root: type[BaseModel],
    data: Mapping[str, Any],
    index: LineIndex,
    env_origins: Mapping[Path, str],
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        path, key_error = _data_path(error["loc"], data)
        message = _message(error, root, path, key_error)
        issues.append(locate(path, message, index, env_origins))
    return issues


def locate(
    path: Path, message: str, index: LineIndex, env_origins: Mapping[Path, str]
) -> ConfigIssue:
    """Name the file and line of ``path`` or, if an env variable set it, the variable."""
    for end in range(len(path), 0, -1):
        variable = env_origins.get(tuple(path[:end]))
        if variable is not None:
            return ConfigIssue(f"${variable}", 0, format_path(path), message)
    return ConfigIssue(index.file, index.line_of(path), format_path(path), message)


def _data_path(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> tuple[Path, bool]:
    parts = list(loc[1:] if loc[:1] == ("routing",) and "routing" not in data else loc)
    path: list[str | int] = []
    node: Any = data
    for position, part in enumerate(parts):
        if part == "[key]":
            return tuple(path), True
        if _has(node, part):
            node = node[part]
        elif position == len(parts) - 1 and isinstance(node, dict):
            node = None  # a missing key: name it, the line is its parent's
        else:
            continue  # a pydantic type tag, not a key
        path.append(part)
    return tuple(path), False


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _message(error: Mapping[str, Any], root: type[BaseModel], path: Path, key_error: bool) -> str:
    kind: str = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if key_error:
        return f"invalid key {value!r}: {_plain(error['msg'])}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, path[:-1])
        hint = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        suffix = f"; did you mean {hint[0]!r}?" if hint else f" (allowed: {', '.join(allowed)})"
        return f"unknown key{suffix}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {value!r}"
    if kind == "greater_than" and ctx["gt"] == 0:
        return f"must be a positive number, got {value!r}"
    if kind == "greater_than":
        return f"must be greater than {ctx['gt']}, got {value!r}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, got {value!r}"
    if kind in ("less_than", "less_than_equal"):
        return f"must be at most {ctx.get('le', ctx.get('lt'))}, got {value!r}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not match {ctx.get('pattern')}"
    base = kind.split("_")[0]
    if base in _KIND and kind.endswith(("_type", "_parsing", "_from_float")):
        expected = _KIND[base]
        if base in ("int", "float") and _is_positive(root, path):
            expected = f"a positive {'integer' if base == 'int' else 'number'}"
        return f"must be {expected}, got {value!r}"
    return _plain(error["msg"])


def _plain(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg[:1].lower() + msg[1:]


def _allowed_keys(root: type[BaseModel], path: Path) -> list[str]:
    model = _strip(_walk(root, path)[0])
    if isinstance(model, type) and issubclass(model, BaseModel):
        fields = list(_fields(model))
        if model is root and "routing" in fields:
            from gateway.settings.routing import RoutingSettings

            fields = [f for f in fields if f != "routing"] + list(_fields(RoutingSettings))
        return fields
    return []


def _is_positive(root: type[BaseModel], path: Path) -> bool:
    annotation, info = _walk(root, path)
    metadata = list(info.metadata) if info is not None else []
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Annotated:
            metadata.extend(arg.__metadata__)
    return any(
        isinstance(m, annotated_types.Gt)
        and m.gt == 0
        or isinstance(m, annotated_types.Ge)
        and m.ge == 1
        for m in metadata
    )


def _walk(root: type[BaseModel], path: Path) -> tuple[Any, FieldInfo | None]:
    """The annotation (and field) found by following ``path`` through the models."""
    from gateway.settings.routing import RoutingSettings

    current: Any = root
    info: FieldInfo | None = None
    for part in path:
        current = _strip(current)
        if current is root and part in RoutingSettings.model_fields:
            current = RoutingSettings
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = _fields(current).get(str(part))
            if info is None:
                return None, None
            current = info.annotation
        elif typing.get_origin(current) in (dict, tuple):
            current, info = (
                typing.get_args(current)[-1 if typing.get_origin(current) is dict else 0],
                None,
            )
        else:
            return None, None
    return current, info


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Fields by the key used in the file (the alias, if any)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _strip(annotation: Any) -> Any:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else annotation
            if len(options) != 1:
                return annotation
        else:
            return annotation
