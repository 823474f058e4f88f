"""Tickets in SQLite (stdlib sqlite3): one row per call, one row per event taken in.

    tickets(call_id PRIMARY KEY, status, opened_at, ..., notes JSON, last_sequence)
    ticket_events(position, event_id UNIQUE, call_id, sequence, type, outcome)
    cursor(id = 1, event_id)   -- the last event processed, where replay resumes

A ticket's `seen` ids are its rows in ticket_events, so the dedupe set and the event
log are one fact. Saving a step is one transaction: the ticket, its event row and the
cursor move together, and a crash between two events replays the second, never half
of it.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

from examples.ticketing.tickets import CallEvent, Step, Ticket

# Ticket fields kept as columns: all but `seen` (it lives in ticket_events).
_COLUMNS = [f.name for f in dataclasses.fields(Ticket) if f.name != "seen"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    call_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,               -- open, closed
    opened_at TEXT, closed_at TEXT,     -- RFC 3339
    caller TEXT, did TEXT, trunk TEXT, route TEXT, queue TEXT, agent TEXT,
    offers INTEGER NOT NULL, failed_offers INTEGER NOT NULL,
    answered_at TEXT, abandoned INTEGER NOT NULL, ended_at TEXT,
    disposition TEXT, hangup_by TEXT,
    wait_seconds REAL, talk_seconds REAL, wrapup_seconds REAL,
    recording_id TEXT, recording_url TEXT,
    notes TEXT NOT NULL,                -- JSON list of lines
    last_sequence INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket_events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    call_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    type TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_events_call ON ticket_events (call_id);
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), event_id TEXT);
"""


class TicketStore:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)  # explicit transactions
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def load(self, call_id: str) -> Ticket | None:
        row = self._db.execute("SELECT * FROM tickets WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            return None
        seen = self._db.execute(
            "SELECT event_id FROM ticket_events WHERE call_id = ?", (call_id,)
        ).fetchall()
        values: dict[str, Any] = dict(row)
        values["notes"] = tuple(json.loads(values["notes"]))
        values["abandoned"] = bool(values["abandoned"])
        return Ticket(**values, seen=frozenset(r["event_id"] for r in seen))

    def tickets(self) -> list[Ticket]:
        ids = self._db.execute("SELECT call_id FROM tickets ORDER BY rowid").fetchall()
        return [t for r in ids if (t := self.load(r["call_id"])) is not None]

    def cursor(self) -> str | None:
        row = self._db.execute("SELECT event_id FROM cursor WHERE id = 1").fetchone()
        return None if row is None else str(row["event_id"])

    def move_cursor(self, event_id: str) -> None:
        """For an event this consumer does not keep (not a call's): replay skips it."""
        self._db.execute("INSERT OR REPLACE INTO cursor (id, event_id) VALUES (1, ?)", (event_id,))

    def save(self, event: CallEvent, step: Step) -> None:
        """Record `step` (the result of applying `event`) in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if step.outcome != "duplicate":
                self._put_ticket(step.ticket)
                self._db.execute(
                    "INSERT INTO ticket_events (event_id, call_id, sequence, type, outcome)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (event.id, event.call_id, event.sequence, event.type, step.outcome),
                )
            self.move_cursor(event.id)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _put_ticket(self, ticket: Ticket) -> None:
        values = [getattr(ticket, name) for name in _COLUMNS]
        values[_COLUMNS.index("notes")] = json.dumps(list(ticket.notes))
        self._db.execute(
            f"INSERT OR REPLACE INTO tickets ({', '.join(_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in _COLUMNS)})",
            values,
        )
