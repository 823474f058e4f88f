"""QA evaluations: form versions, evaluations, remarks (the queries of gateway/api/v1/qa.py).

A form is a name and its versions: every change writes version N+1, older versions
stay readable and the evaluations made on them keep pointing at them. Retiring a form
marks its newest version (no new evaluation on it; a change revives it). Scores are
computed by the caller (recordings.evaluation) and stored with the answers.

`evaluation_condition` is for the call search: an EXISTS over submitted evaluations
to AND into a query of `calls` (score range, "not yet evaluated").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError

from gateway.store.engine import Database
from gateway.store.models import Call, QaEvaluation, QaForm, QaRemark
from gateway.store.records import NotFoundError, StoreError

State = Literal["draft", "submitted"]
Acknowledgement = Literal["none", "acknowledged", "disputed"]


class EvaluationConflict(StoreError):
    """Valid, but not in the current state (a submitted evaluation, a duplicate, a retired form)."""


@dataclass(frozen=True, slots=True)
class FormRecord:
    id: int
    name: str
    version: int
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    id: int
    call_id: uuid.UUID
    form_id: int
    form_name: str
    form_version: int
    reviewer: str
    agent: str | None
    answers: dict[str, Any]
    score: float | None
    auto_failed: bool
    state: State
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    acknowledgement: Acknowledgement
    agent_comment: str | None
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class RemarkRecord:
    id: int
    call_id: uuid.UUID
    evaluation_id: int | None
    author: str
    offset_seconds: float
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EvaluationFilter:
    call_id: uuid.UUID | None = None
    agent: str | None = None
    reviewer: str | None = None
    state: State | None = None
    form: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    acknowledgement: Acknowledgement | None = None


def evaluation_condition(
    *,
    min_score: float | None = None,
    max_score: float | None = None,
    not_evaluated: bool = False,
) -> ColumnElement[bool] | None:
    """A WHERE clause on `calls` (None: no condition): a submitted evaluation scoring in
    [min_score, max_score] exists, or (`not_evaluated`) no submitted evaluation does."""
    submitted = (QaEvaluation.call_id == Call.id) & (QaEvaluation.state == "submitted")
    if not_evaluated:
        return ~exists().where(submitted)
    if min_score is None and max_score is None:
        return None
    if min_score is not None:
        submitted = submitted & (QaEvaluation.score >= min_score)
    if max_score is not None:
        submitted = submitted & (QaEvaluation.score <= max_score)
    return exists().where(submitted)


def _form(row: QaForm) -> FormRecord:
    return FormRecord(row.id, row.name, row.version, dict(row.definition), row.created_by,
                      row.created_at, row.retired_at)  # fmt: skip


def _evaluation(row: QaEvaluation, form: QaForm) -> EvaluationRecord:
    return EvaluationRecord(
        row.id, row.call_id, row.form_id, form.name, form.version, row.reviewer, row.agent,
        dict(row.answers), row.score, row.auto_failed, row.state,  # type: ignore[arg-type]
        row.created_at, row.updated_at, row.submitted_at,
        row.acknowledgement, row.agent_comment, row.acknowledged_at,  # type: ignore[arg-type]
    )  # fmt: skip


def _remark(r: QaRemark) -> RemarkRecord:
    return RemarkRecord(r.id, r.call_id, r.evaluation_id, r.author, r.offset_seconds, r.text,
                        r.created_at)  # fmt: skip


class EvaluationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -------------------------------------------------------------- forms
    async def save_form(
        self, name: str, definition: dict[str, Any], *, by: str, now: datetime, new: bool
    ) -> FormRecord:
        """Version 1 of a new form (`new`: an existing name is a conflict) or the next
        version of an existing one (`new` false: an unknown name is NotFoundError)."""
        async with self._db.transaction() as session:
            latest = await session.scalar(
                select(func.max(QaForm.version)).where(QaForm.name == name)
            )
            if new and latest is not None:
                raise EvaluationConflict(f"form {name!r} exists: change it with PUT")
            if not new and latest is None:
                raise NotFoundError(f"no form {name!r}")
            row = QaForm(name=name, version=(latest or 0) + 1, definition=definition,
                         created_by=by, created_at=now)  # fmt: skip
            session.add(row)
            await session.flush()
            return _form(row)

    async def retire_form(self, name: str, now: datetime) -> FormRecord:
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(QaForm).where(QaForm.name == name).order_by(QaForm.version.desc()).limit(1)
            )
            if row is None:
                raise NotFoundError(f"no form {name!r}")
            row.retired_at = row.retired_at or now
            return _form(row)

    async def forms(self, *, retired: bool = False) -> list[FormRecord]:
        """Each form's newest version, by name (retired ones only if asked)."""
        newest = (
            select(QaForm.name, func.max(QaForm.version).label("v"))
            .group_by(QaForm.name)
            .subquery()
        )
        query = (
            select(QaForm)
            .join(newest, (QaForm.name == newest.c.name) & (QaForm.version == newest.c.v))
            .order_by(QaForm.name)
        )
        if not retired:
            query = query.where(QaForm.retired_at.is_(None))
        async with self._db.reading() as session:
            return [_form(r) for r in (await session.scalars(query)).all()]

    async def form(self, name: str, version: int | None = None) -> FormRecord:
        """A version of a form (None: the newest), or NotFoundError."""
        query = select(QaForm).where(QaForm.name == name)
        if version is None:
            query = query.order_by(QaForm.version.desc()).limit(1)
        else:
            query = query.where(QaForm.version == version)
        async with self._db.reading() as session:
            row = await session.scalar(query)
        if row is None:
            which = f" version {version}" if version is not None else ""
            raise NotFoundError(f"no form {name!r}{which}")
        return _form(row)

    async def form_by_id(self, form_id: int) -> FormRecord:
        async with self._db.reading() as session:
            row = await session.get(QaForm, form_id)
        if row is None:
            raise NotFoundError(f"no form version {form_id}")
        return _form(row)

    async def versions(self, name: str) -> list[FormRecord]:
        query = select(QaForm).where(QaForm.name == name).order_by(QaForm.version)
        async with self._db.reading() as session:
            rows = (await session.scalars(query)).all()
        if not rows:
            raise NotFoundError(f"no form {name!r}")
        return [_form(r) for r in rows]

    # -------------------------------------------------------------- evaluations
    async def create(
        self,
        call_id: uuid.UUID,
        form_id: int,
        *,
        reviewer: str,
        answers: dict[str, Any],
        score: float | None,
        auto_failed: bool,
        now: datetime,
    ) -> EvaluationRecord:
        """A draft on a form version; the agent is the call's. One per reviewer and call."""
        try:
            async with self._db.transaction() as session:
                call = await session.get(Call, call_id)
                if call is None:
                    raise NotFoundError(f"no call {call_id}")
                form = await session.get(QaForm, form_id)
                if form is None:
                    raise NotFoundError(f"no form version {form_id}")
                row = QaEvaluation(
                    call_id=call_id, form_id=form_id, reviewer=reviewer, agent=call.agent,
                    answers=answers, score=score, auto_failed=auto_failed, state="draft",
                    created_at=now, updated_at=now, acknowledgement="none",
                )  # fmt: skip
                session.add(row)
                await session.flush()
                return _evaluation(row, form)
        except IntegrityError:
            raise EvaluationConflict(
                f"{reviewer} has an evaluation of call {call_id} already: update it"
            ) from None

    async def update(
        self,
        evaluation_id: int,
        *,
        reviewer: str,
        answers: dict[str, Any],
        score: float | None,
        auto_failed: bool,
        submit: bool,
        now: datetime,
    ) -> EvaluationRecord:
        """Replace a draft's answers (and submit it): only its reviewer, only a draft."""
        async with self._db.transaction() as session:
            row = await session.get(QaEvaluation, evaluation_id)
            if row is None or row.reviewer != reviewer:
                raise NotFoundError(f"no draft evaluation {evaluation_id} of {reviewer}")
            if row.state != "draft":
                raise EvaluationConflict(f"evaluation {evaluation_id} is submitted: immutable")
            row.answers, row.score, row.auto_failed, row.updated_at = (
                answers, score, auto_failed, now,
            )  # fmt: skip
            if submit:
                row.state, row.submitted_at = "submitted", now
            form = await session.get(QaForm, row.form_id)
            assert form is not None
            return _evaluation(row, form)

    async def acknowledge(
        self, evaluation_id: int, *, agent: str, status: Acknowledgement, comment: str | None,
        now: datetime,
    ) -> EvaluationRecord:  # fmt: skip
        """The agent's answer to its own submitted evaluation (it may change its mind)."""
        async with self._db.transaction() as session:
            row = await session.get(QaEvaluation, evaluation_id)
            if row is None or row.agent != agent or row.state != "submitted":
                raise NotFoundError(f"no evaluation {evaluation_id}")
            row.acknowledgement, row.agent_comment, row.acknowledged_at = status, comment, now
            form = await session.get(QaForm, row.form_id)
            assert form is not None
            return _evaluation(row, form)

    async def get(self, evaluation_id: int) -> EvaluationRecord:
        query = (
            select(QaEvaluation, QaForm)
            .join(QaForm, QaForm.id == QaEvaluation.form_id)
            .where(QaEvaluation.id == evaluation_id)
        )
        async with self._db.reading() as session:
            found = (await session.execute(query)).one_or_none()
        if found is None:
            raise NotFoundError(f"no evaluation {evaluation_id}")
        return _evaluation(*found)

    async def find(self, f: EvaluationFilter, *, limit: int = 100) -> list[EvaluationRecord]:
        """Newest first."""
        query = select(QaEvaluation, QaForm).join(QaForm, QaForm.id == QaEvaluation.form_id)
        conditions: list[ColumnElement[bool]] = []
        if f.call_id is not None:
            conditions.append(QaEvaluation.call_id == f.call_id)
        if f.agent is not None:
            conditions.append(QaEvaluation.agent == f.agent)
        if f.reviewer is not None:
            conditions.append(QaEvaluation.reviewer == f.reviewer)
        if f.state is not None:
            conditions.append(QaEvaluation.state == f.state)
        if f.form is not None:
            conditions.append(QaForm.name == f.form)
        if f.min_score is not None:
            conditions.append(QaEvaluation.score >= f.min_score)
        if f.max_score is not None:
            conditions.append(QaEvaluation.score <= f.max_score)
        if f.acknowledgement is not None:
            conditions.append(QaEvaluation.acknowledgement == f.acknowledgement)
        query = query.where(*conditions).order_by(QaEvaluation.id.desc()).limit(limit)
        async with self._db.reading() as session:
            return [_evaluation(e, form) for e, form in (await session.execute(query)).all()]

    # -------------------------------------------------------------- remarks
    async def add_remark(
        self, call_id: uuid.UUID, *, author: str, offset_seconds: float, text: str,
        evaluation_id: int | None, now: datetime,
    ) -> RemarkRecord:  # fmt: skip
        async with self._db.transaction() as session:
            if await session.get(Call, call_id) is None:
                raise NotFoundError(f"no call {call_id}")
            if evaluation_id is not None:
                evaluation = await session.get(QaEvaluation, evaluation_id)
                if evaluation is None or evaluation.call_id != call_id:
                    raise NotFoundError(f"no evaluation {evaluation_id} of call {call_id}")
            row = QaRemark(call_id=call_id, evaluation_id=evaluation_id, author=author,
                           offset_seconds=offset_seconds, text=text, created_at=now)  # fmt: skip
            session.add(row)
            await session.flush()
            return _remark(row)

    async def remarks(self, call_id: uuid.UUID) -> list[RemarkRecord]:
        query = (
            select(QaRemark)
            .where(QaRemark.call_id == call_id)
            .order_by(QaRemark.offset_seconds, QaRemark.id)
        )
        async with self._db.reading() as session:
            return [_remark(r) for r in (await session.scalars(query)).all()]

    async def delete_remark(self, call_id: uuid.UUID, remark_id: int, *, author: str) -> None:
        """Only its author deletes a remark (another's is NotFoundError)."""
        async with self._db.transaction() as session:
            row = await session.get(QaRemark, remark_id)
            if row is None or row.call_id != call_id or row.author != author:
                raise NotFoundError(f"no remark {remark_id} of {author} on call {call_id}")
            await session.delete(row)

    async def evaluated(self, call_id: uuid.UUID) -> bool:
        """Whether the call has a submitted evaluation (the `evaluated` recording policy)."""
        query = select(
            exists().where((QaEvaluation.call_id == call_id) & (QaEvaluation.state == "submitted"))
        )
        async with self._db.reading() as session:
            return bool(await session.scalar(query))


__all__ = [
    "Acknowledgement",
    "EvaluationConflict",
    "EvaluationFilter",
    "EvaluationRecord",
    "EvaluationStore",
    "FormRecord",
    "RemarkRecord",
    "State",
    "evaluation_condition",
]
