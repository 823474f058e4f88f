"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
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
