"""Persistence: SQLAlchemy 2 async on SQLite (default) or PostgreSQL, Alembic migrations.

    db = Database.open(settings.database.url)
    await migrate(db.engine)
    cdr, routing, outbox = CdrStore(db), RoutingRepository(db), OutboxStore(db)

Only this package builds queries; it takes and returns the frozen dataclasses of
records.py (and gateway.settings.RoutingSettings), never ORM rows.
"""

from gateway.store.cdr import CdrStore
from gateway.store.engine import Database, create_engine
from gateway.store.migrate import migrate
from gateway.store.outbox import OutboxStore
from gateway.store.records import (
    AgentStateRecord,
    CallRecord,
    Disposition,
    HangupBy,
    NotFoundError,
    OfferRecord,
    OfferResult,
    OutboxMessage,
    RoutingVersion,
    StoreError,
)
from gateway.store.routing_repo import RoutingRepository

__all__ = [
    "AgentStateRecord",
    "CallRecord",
    "CdrStore",
    "Database",
    "Disposition",
    "HangupBy",
    "NotFoundError",
    "OfferRecord",
    "OfferResult",
    "OutboxMessage",
    "OutboxStore",
    "RoutingRepository",
    "RoutingVersion",
    "StoreError",
    "create_engine",
    "migrate",
]
