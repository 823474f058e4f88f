"""`EventsReplay`: the retained outbox as pages of CloudEvents, for `GET /events`.

A consumer that was offline asks for what came after the last event it saw (its id,
or the ``next`` position of its last page) and pages on until ``next`` is null.
Events are the same CloudEvents the broker carried (one `EventFormat`).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from gateway.events.envelope import EventFormat
from gateway.store.outbox import OutboxStore
from gateway.store.records import NotFoundError

MAX_PAGE = 1000
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "events"
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(json|yaml)$")


class ReplayError(ValueError):
    """A cursor or limit the replay cannot serve; the API answers 422 with this reason."""


def parse_cursor(after: str | None) -> uuid.UUID | int | None:
    """An event id (uuid) or a position (a non-negative integer)."""
    if after is None or after == "":
        return None
    if after.isdigit():
        return int(after)
    try:
        return uuid.UUID(after)
    except ValueError:
        raise ReplayError(
            f"after={after!r} is neither an event id (uuid) nor a position (integer)"
        ) from None


class EventsReplay:
    def __init__(
        self, store: OutboxStore, event_format: EventFormat, schema_dir: Path = SCHEMA_DIR
    ) -> None:
        self._store = store
        self._format = event_format
        self._schema_dir = schema_dir

    async def page(
        self,
        after: str | None = None,
        type: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """``{"events": [...], "next": <position or None>}``."""
        if not 1 <= limit <= MAX_PAGE:
            raise ReplayError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        try:
            rows, next_cursor = await self._store.page(
                parse_cursor(after), type=type, subject=subject, limit=limit
            )
        except NotFoundError as exc:
            raise ReplayError(str(exc)) from None
        return {"events": [self._format.cloudevent(r) for r in rows], "next": next_cursor}

    def schema_file(self, name: str) -> Path | None:
        """docs/events/<name> if it is a schema (.json) or the AsyncAPI document (.yaml)
        there, with no path tricks; else None."""
        if not _SCHEMA_NAME.match(name):
            return None
        path = self._schema_dir / name
        return path if path.is_file() else None
