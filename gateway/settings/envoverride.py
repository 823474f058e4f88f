"""Environment variables override values of the file (meant for secrets).

The rule: ``CONTACTGW_`` + the key path in upper case, segments joined by ``__``::

    CONTACTGW_DATABASE__URL=postgresql+asyncpg://gw:s3cret@db/contactgw
    CONTACTGW_TRUNKS__SIPP__PASSWORD=...      # the trunk whose name is "sipp"
    CONTACTGW_AGENTS__ALICE__PASSWORD=...     # the agent whose SIP user is "alice"
    CONTACTGW_API__ADMIN_TOKEN=...

- A segment matches a key (or, inside ``trunks``, a trunk's ``name``) case-insensitively,
  with every character other than A-Z and 0-9 read as ``_``.
- The value is a string; pydantic converts it (``"5432"`` to a port, ``"true"`` to a bool).
- A missing section or key is created, so a secret can live only in the environment;
  a trunk or agent that the file does not define cannot be created this way.
- A variable without ``__`` overrides a top-level key the file sets
  (``CONTACTGW_DATA_DIR``); others (``CONTACTGW_CONFIG``) are not overrides and are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.settings.errors import ConfigIssue

PREFIX = "CONTACTGW_"
Path = tuple[str | int, ...]
_NAMED_LISTS = {"trunks": "name"}


def normalise(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def apply_env_overrides(
    data: dict[str, Any], environ: Mapping[str, str]
) -> tuple[dict[Path, str], list[ConfigIssue]]:
    """Apply overrides to ``data`` in place.

    Returns the key path each variable set (so errors can name the variable) and the
    variables that could not be applied.
    """
    origins: dict[Path, str] = {}
    issues: list[ConfigIssue] = []
    for variable in sorted(environ):
        if not variable.startswith(PREFIX):
            continue
        segments = variable[len(PREFIX) :].split("__")
        if len(segments) == 1 and not any(normalise(k) == segments[0] for k in data):
            continue  # e.g. CONTACTGW_CONFIG: not a key of the file
        try:
            path = _assign(data, segments, environ[variable])
        except LookupError as exc:
            issues.append(ConfigIssue(f"${variable}", 0, "", str(exc.args[0])))
            continue
        origins[path] = variable
    return origins, issues


def _assign(data: dict[str, Any], segments: list[str], value: str) -> Path:
    if any(not segment for segment in segments):
        raise LookupError("empty segment in the variable name")
    node: Any = data
    path: list[str | int] = []
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if isinstance(node, list):
            key_field = _NAMED_LISTS.get(str(path[-1])) if path else None
            index = _find_named(node, key_field, segment)
            if index is None:
                raise LookupError(f"{'.'.join(map(str, path))}: no item named {segment.lower()!r}")
            path.append(index)
            if last:
                raise LookupError("cannot replace a whole list item")
            node = node[index]
            continue
        if not isinstance(node, dict):
            raise LookupError(f"{'.'.join(map(str, path))} is not a mapping")  # noqa: TRY004
        key = next((k for k in node if normalise(k) == segment), None)
        if key is None:
            if path and path[0] == "agents" and len(path) == 1:
                raise LookupError(f"agents: no agent {segment.lower()!r} in the file")
            key = segment.lower()
        path.append(key)
        if last:
            node[key] = value
        else:
            if node.get(key) is None:  # "database:" with nothing under it
                node[key] = {}
            node = node[key]
    return tuple(path)


def _find_named(items: list[Any], key_field: str | None, segment: str) -> int | None:
    if key_field is None:
        return None
    for index, item in enumerate(items):
        if isinstance(item, dict) and normalise(str(item.get(key_field, ""))) == segment:
            return index
    return None
