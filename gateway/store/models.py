"""ORM tables. Private to gateway.store: rows never leave it (see records.py).

Any change here needs a new Alembic revision in gateway/store/migrations/versions;
tests/unit/store/test_store_migrations.py fails while the two disagree.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gateway.store.records import CALLBACK_STATES, DISPOSITIONS, OFFER_RESULTS
from gateway.store.types import (
    JSONType,
    NulFreeString,
    NulFreeText,
    OrderedJSON,
    UTCDateTime,
)

# Stable constraint names, so Alembic batch mode on SQLite can find them again.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# 64-bit on PostgreSQL; INTEGER on SQLite, whose INTEGER PRIMARY KEY (the rowid) is
# already 64-bit and the only type AUTOINCREMENT accepts.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IS NULL OR {column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSONType,
    }


class Call(Base):
    """The call record (CDR): one row per inbound call, filled in as it progresses."""

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(_one_of("disposition", DISPOSITIONS), name="disposition"),
        Index("ix_calls_queue_arrived", "queue", "arrived_at"),
        Index("ix_calls_voicemail_box_arrived", "voicemail_box", "arrived_at"),
        Index("ix_calls_caller_arrived", "caller", "arrived_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sip_call_id: Mapped[str] = mapped_column(NulFreeString(255), index=True)
    trunk: Mapped[str | None] = mapped_column(NulFreeString(64))
    did: Mapped[str | None] = mapped_column(NulFreeString(64))
    caller: Mapped[str | None] = mapped_column(NulFreeString(255))
    queue: Mapped[str | None] = mapped_column(NulFreeString(64))
    agent: Mapped[str | None] = mapped_column(NulFreeString(64), index=True)
    worker: Mapped[str | None] = mapped_column(NulFreeString(64))
    arrived_at: Mapped[datetime] = mapped_column(index=True)
    offered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(NulFreeString(32))
    hangup_by: Mapped[str | None] = mapped_column(NulFreeString(16))
    caller_sip_code: Mapped[int | None]
    agent_sip_code: Mapped[int | None]
    recording_stereo: Mapped[str | None] = mapped_column(NulFreeText)
    recording_caller: Mapped[str | None] = mapped_column(NulFreeText)
    recording_agent: Mapped[str | None] = mapped_column(NulFreeText)
    # why the recording could not be finished (recordings/finish.py), null when it was
    recording_failure: Mapped[str | None] = mapped_column(NulFreeString(32))
    rtp_quality: Mapped[dict[str, Any] | None]
    wait_seconds: Mapped[float | None]
    talk_seconds: Mapped[float | None]
    # voicemail (gateway/store/voicemail.py): the box a message was left in (null: not a
    # voicemail); state null = new, then listened, handled; who and when for each step
    voicemail_box: Mapped[str | None] = mapped_column(NulFreeString(64))
    voicemail_state: Mapped[str | None] = mapped_column(NulFreeString(16))
    voicemail_listened_by: Mapped[str | None] = mapped_column(NulFreeString(64))
    voicemail_listened_at: Mapped[datetime | None]
    voicemail_handled_by: Mapped[str | None] = mapped_column(NulFreeString(64))
    voicemail_handled_at: Mapped[datetime | None]
    voicemail_note: Mapped[str | None] = mapped_column(NulFreeText)
    # agent desktop (gateway/store/wrapup.py): the From display name for the screen-pop, and
    # the handling agent's wrap-up code (one of the queue's wrapup_codes) and notes
    caller_name: Mapped[str | None] = mapped_column(NulFreeString(255))
    wrapup_code: Mapped[str | None] = mapped_column(NulFreeString(64))
    wrapup_notes: Mapped[str | None] = mapped_column(NulFreeText)
    wrapup_by: Mapped[str | None] = mapped_column(NulFreeString(64))
    wrapup_at: Mapped[datetime | None]
    # queued callback (gateway/store/callbacks.py): null = an inbound call; "callback" = the
    # gateway dialled the customer back for the call `callback_of`
    initiation: Mapped[str | None] = mapped_column(NulFreeString(16))
    callback_of: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # in-call control (docs/in-call.md): holds, supervisor monitoring, PCI-paused spans
    hold_count: Mapped[int | None]
    hold_seconds: Mapped[float | None]
    monitors: Mapped[list[Any] | None] = mapped_column(JSONType)
    recording_pauses: Mapped[list[Any] | None] = mapped_column(JSONType)
    # one row per agent connection after a transfer (docs/transfer.md); null: never transferred
    segments: Mapped[list[Any] | None] = mapped_column(JSONType)
    # every agent's wrap-up ({agent, code, notes, at}), a transfer's target's too (0012)
    wrapups: Mapped[list[Any] | None] = mapped_column(JSONType)


class Callback(Base):
    """A queued callback: the caller's place (original arrival, priority), the number to
    dial, its state and attempts (gateway/store/callbacks.py)."""

    __tablename__ = "callbacks"
    __table_args__ = (
        CheckConstraint(_one_of("state", CALLBACK_STATES), name="state"),
        Index("ix_callbacks_state_arrived", "state", "arrived_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    call_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)  # one per original call
    queue: Mapped[str] = mapped_column(NulFreeString(64))
    number: Mapped[str] = mapped_column(NulFreeString(32))  # E.164, dialled via the trunk
    did: Mapped[str | None] = mapped_column(NulFreeString(64))  # the number the caller dialled
    priority: Mapped[int] = mapped_column(default=0)
    arrived_at: Mapped[datetime]  # the original call's arrival: its place in line
    requested_at: Mapped[datetime]
    not_before: Mapped[datetime | None]  # a retry's or a reschedule's earliest dialling time
    state: Mapped[str] = mapped_column(NulFreeString(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_result: Mapped[str | None] = mapped_column(NulFreeString(64))
    outbound_call_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the latest attempt
    agent: Mapped[str | None] = mapped_column(NulFreeString(64))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(NulFreeString(64))


class CallOffer(Base):
    """One offer of a call to an agent (ringing their phone) and how it ended."""

    __tablename__ = "call_offers"
    __table_args__ = (CheckConstraint(_one_of("result", OFFER_RESULTS), name="result"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    agent: Mapped[str] = mapped_column(NulFreeString(64), index=True)
    queue: Mapped[str | None] = mapped_column(NulFreeString(64))
    offered_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(NulFreeString(16))
    sip_code: Mapped[int | None]


class AgentStateLog(Base):
    __tablename__ = "agent_state_log"
    __table_args__ = (Index("ix_agent_state_log_agent_at", "agent", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(NulFreeString(64))
    state: Mapped[str] = mapped_column(NulFreeString(32))
    reason: Mapped[str | None] = mapped_column(NulFreeString(255))
    at: Mapped[datetime]


class Outbox(Base):
    """Events written in the same transaction as the change they describe."""

    __tablename__ = "outbox"
    # AUTOINCREMENT so SQLite never reuses a purged position: a consumer's replay
    # cursor must not meet a new event under an old number
    __table_args__ = (
        Index("ix_outbox_pending", "published_at", "position"),
        Index("ix_outbox_subject", "subject", "sequence"),
        {"sqlite_autoincrement": True},
    )

    # the replay cursor and the publish order; 64-bit: at 100 events/s a 32-bit counter
    # runs out in eight months
    position: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    type: Mapped[str] = mapped_column(NulFreeString(128))
    subject: Mapped[str | None] = mapped_column(NulFreeString(255))
    queue: Mapped[str | None] = mapped_column(NulFreeString(64))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class ConfigVersion(Base):
    """Audit trail of the routing configuration: one row per applied change.

    The routing tables' JSON is OrderedJSON (text, not JSONB, on PostgreSQL): a snapshot
    rolled back to lists queues, agents and skills in the order they were written.
    """

    __tablename__ = "config_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    applied_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(NulFreeString(255))
    author: Mapped[str | None] = mapped_column(NulFreeString(255))
    content_hash: Mapped[str] = mapped_column(NulFreeString(64), index=True)
    summary: Mapped[str] = mapped_column(NulFreeText)
    diff: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)
    snapshot: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)  # secrets masked


class RoutingGlobal(Base):
    """Routing keys that are not queues/agents/DIDs (region, schedules, default_route...)."""

    __tablename__ = "routing_globals"

    key: Mapped[str] = mapped_column(NulFreeString(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)  # {"value": <the value>}


class Queue(Base):
    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(NulFreeString(64), primary_key=True)
    strategy: Mapped[str] = mapped_column(NulFreeString(32))
    config: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)  # every QueueSettings key
    # order in the configuration (read ORDER BY it, then name); 0 for a row written
    # without one (tests that insert rows directly)
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(ForeignKey("config_versions.version"))


class Agent(Base):
    __tablename__ = "agents"

    sip_user: Mapped[str] = mapped_column(NulFreeString(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(NulFreeString(255))
    password: Mapped[str] = mapped_column(NulFreeString(255))  # the edge needs it for digest auth
    config: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)  # rank, uri
    position: Mapped[int] = mapped_column(default=0)  # order in the configuration
    version: Mapped[int] = mapped_column(ForeignKey("config_versions.version"))


class AgentQueue(Base):
    __tablename__ = "agent_queues"

    agent: Mapped[str] = mapped_column(
        ForeignKey("agents.sip_user", ondelete="CASCADE"), primary_key=True
    )
    queue: Mapped[str] = mapped_column(
        ForeignKey("queues.name", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent: Mapped[str] = mapped_column(
        ForeignKey("agents.sip_user", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(NulFreeString(64), primary_key=True)
    level: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)  # order in the agent's skills


class Did(Base):
    __tablename__ = "dids"

    number: Mapped[str] = mapped_column(NulFreeString(64), primary_key=True)  # as configured
    queue: Mapped[str] = mapped_column(ForeignKey("queues.name"), index=True)
    priority: Mapped[int]
    position: Mapped[int]
    config: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)  # skills, tags


class User(Base):
    """An API user (gateway.auth): a name, a role, and for the `agent` role its agent."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NulFreeString(64), unique=True)
    role: Mapped[str] = mapped_column(NulFreeString(16))
    agent_id: Mapped[str | None] = mapped_column(NulFreeString(64))  # no FK: routing is re-applied
    created_at: Mapped[datetime]


class ApiToken(Base):
    """A user's bearer token, stored as its SHA-256 only; `id` is the token's prefix."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(NulFreeString(16), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(NulFreeString(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    """Who did what through the API or the users CLI, and how it ended."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_user_name", "user_name", "id"),
        Index("ix_audit_log_action", "action", "id"),
        {"sqlite_autoincrement": True},  # a paging cursor never meets a reused id
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # the cursor
    at: Mapped[datetime]
    user_name: Mapped[str] = mapped_column(NulFreeString(64))
    role: Mapped[str] = mapped_column(NulFreeString(16))
    action: Mapped[str] = mapped_column(NulFreeString(64))
    target: Mapped[str | None] = mapped_column(NulFreeString(255))
    details: Mapped[dict[str, Any]]
    outcome: Mapped[str] = mapped_column(NulFreeString(32))


# ---------------------------------------------------------------- QA (gateway/store/evaluations.py)
EVALUATION_STATES = ("draft", "submitted")
ACKNOWLEDGEMENTS = ("none", "acknowledged", "disputed")


class QaForm(Base):
    """One version of an evaluation form; a change is a new row, old ones stay readable."""

    __tablename__ = "qa_forms"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_qa_forms_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NulFreeString(128), index=True)
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)  # sections in form order
    created_by: Mapped[str] = mapped_column(NulFreeString(64))
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]  # set on the newest version by a delete


class QaEvaluation(Base):
    """A reviewer's evaluation of a call on one form version (draft, then submitted)."""

    __tablename__ = "qa_evaluations"
    __table_args__ = (
        CheckConstraint(_one_of("state", EVALUATION_STATES), name="state"),
        CheckConstraint(_one_of("acknowledgement", ACKNOWLEDGEMENTS), name="acknowledgement"),
        UniqueConstraint("call_id", "reviewer", name="uq_qa_evaluations_call_id_reviewer"),
        Index("ix_qa_evaluations_agent_state", "agent", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    form_id: Mapped[int] = mapped_column(ForeignKey("qa_forms.id"), index=True)
    reviewer: Mapped[str] = mapped_column(NulFreeString(64))
    agent: Mapped[str | None] = mapped_column(NulFreeString(64))  # the call's agent
    answers: Mapped[dict[str, Any]] = mapped_column(OrderedJSON)
    score: Mapped[float | None]  # percent; None: nothing scored yet
    auto_failed: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(NulFreeString(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    acknowledgement: Mapped[str] = mapped_column(NulFreeString(16), default="none")
    agent_comment: Mapped[str | None] = mapped_column(NulFreeText)
    acknowledged_at: Mapped[datetime | None]


class QaRemark(Base):
    """A timestamped remark on a call's recording (optionally part of an evaluation)."""

    __tablename__ = "qa_remarks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    evaluation_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_evaluations.id", ondelete="SET NULL")
    )
    author: Mapped[str] = mapped_column(NulFreeString(64))
    offset_seconds: Mapped[float]
    text: Mapped[str] = mapped_column(NulFreeText)
    created_at: Mapped[datetime]
