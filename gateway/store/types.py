"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Dialect,
    SQLColumnExpression,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable), JSON text elsewhere. JSONB does not keep key order
# (it sorts keys by length, then bytes): for values whose order means something, use
# OrderedJSON.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# JSON text on every backend: objects come back with their keys in the order written.
# The routing configuration (queues, agents, skills, schedules, its audit snapshots):
# a version read back or rolled back to must list things as the admin wrote them.
OrderedJSON = JSON()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in, timezone-aware UTC datetimes out.

    SQLite has no time zone type and SQLAlchemy drops ``tzinfo`` there, so values are
    stored as naive UTC everywhere and re-tagged on the way out. Naive input is a bug
    in the caller (local time or UTC?) and is refused.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


# PostgreSQL's text cannot hold NUL (``invalid byte sequence for encoding "UTF8": 0x00``)
# nor JSONB a ``\u0000`` escape, where SQLite takes both: a NUL from the network (a SIP
# header) failed the write of a whole call record on PostgreSQL, a NUL in a filter (an
# API query) the read. On both backends, every NUL written or compared becomes U+FFFD,
# the character non-UTF-8 input already becomes: the same rows, the same matches.
NUL = "\x00"
REPLACEMENT = "\ufffd"
# a \u0000 escape in JSON text: preceded by an even number of backslashes (the escape
# itself, not the end of an escaped backslash followed by "u0000")
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(value: str) -> str:
    return value.replace(NUL, REPLACEMENT) if NUL in value else value


class NulFreeString(TypeDecorator[str]):
    """``String`` whose values (written or compared) have NUL replaced by U+FFFD."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else without_nul(value)


class NulFreeText(NulFreeString):
    """``Text``, as NulFreeString."""

    impl = Text
    cache_ok = True


def json_dumps(value: Any) -> str:
    """The engines' JSON serializer: ``json.dumps`` with NUL escapes as U+FFFD."""
    text = json.dumps(value)
    return _JSON_NUL.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


# The widest integer either backend stores (SQLite's INTEGER, PostgreSQL's BIGINT).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def after(column: SQLColumnExpression[int], cursor: int) -> ColumnElement[bool]:
    """``column > cursor`` for a client's cursor of any size: past the 64-bit range the
    answer is known (nothing, everything) and the value is never bound, which SQLite
    (OverflowError) and asyncpg (out of int64 range) both refuse."""
    if cursor >= INT64_MAX:
        return false()
    if cursor < INT64_MIN:
        return true()
    return column > cursor
