"""Query parameter types that accept what the OpenAPI document says and nothing more.

Pydantic's lax mode would take ``from=0`` as the Unix epoch and ``limit=2.0`` as 2;
a client sending those has a bug, so they are refused (422) with the expected form.
Text parameters take `pattern=NO_NUL`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_INTEGER = re.compile(r"^[+-]?\d+$")


def _date_time(value: Any) -> Any:
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-03-02T10:00:00Z")
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, str) and not _INTEGER.match(value):
        raise ValueError("expected an integer")
    return value


# no NUL in text parameters: PostgreSQL text cannot hold one (a 422, not a 500)
NO_NUL = r"^[^\x00]*$"

IsoDateTime = Annotated[datetime, BeforeValidator(_date_time)]
Integer = Annotated[int, BeforeValidator(_integer)]
