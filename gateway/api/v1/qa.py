"""QA (API v1): evaluation forms and their versions, evaluations (draft -> submitted),
the agent's acknowledgement, timestamped remarks on a call, calibration; and the agent
recording policy the recording download applies (`agent_may_hear`).

Scores are computed here, on the server, by recordings.evaluation (docs/qa.md); a
client's score is never taken. Who sees what (gateway.auth.permissions, `qa.*`):
admins write forms; QA reviewers (and admins) evaluate; a draft is seen by its reviewer
(and admins) only; supervisors and QA read submitted evaluations; an agent user reads
and acknowledges only its own submitted ones (another's, or a draft, is a 404).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request

from gateway.api.errors import Responses, error_doc
from gateway.api.params import NO_NUL, Integer
from gateway.api.v1.deps import OwnRows, call_key
from gateway.api.v1.qa_models import (
    AcknowledgementIn,
    CalibrationOut,
    EvaluationChange,
    EvaluationIn,
    EvaluationOut,
    FormChange,
    FormIn,
    FormOut,
    FormRef,
    RemarkIn,
    RemarkOut,
    SubmitIn,
)
from gateway.auth.errors import Forbidden
from gateway.auth.http import CurrentUser, authenticator
from gateway.auth.permissions import Permission, Role
from gateway.auth.service import Principal
from gateway.control.errors import Conflict, InvalidRequest, NotFound
from gateway.store.evaluations import (
    EvaluationConflict,
    EvaluationFilter,
    EvaluationRecord,
    EvaluationStore,
    FormRecord,
)
from gateway.store.records import CallRecord, NotFoundError
from recordings.evaluation import (
    Answer,
    EvaluationError,
    Form,
    calibrate,
    parse_answers,
    parse_form,
    score,
)

AgentRecordings = Literal["own", "evaluated", "none"]
PREFIX = "/api/v1/qa"
UNAVAILABLE: Responses = {503: error_doc("no QA store configured")}
MISSING: Responses = {404: error_doc("no such form, evaluation, call or remark"), **UNAVAILABLE}
WRITE: Responses = {**MISSING, 409: error_doc("exists already, or submitted (immutable)")}
T = TypeVar("T")
INT32 = 2**31 - 1  # the ids' column type on PostgreSQL
Id = Annotated[Integer, Path(ge=1, le=INT32)]
Text = Annotated[str | None, Query(max_length=128, pattern=NO_NUL)]


@dataclass
class QaState:
    """`app.state.qa`: the store (None: the routes answer 503) and the agent policy."""

    store: EvaluationStore | None = None
    agent_recordings: AgentRecordings = "own"


def _state(request: Request) -> QaState:
    state: QaState = request.app.state.qa
    return state


def _store(request: Request) -> EvaluationStore:
    store = _state(request).store
    if store is None:
        raise HTTPException(503, "no QA store configured")
    return store


Store = Annotated[EvaluationStore, Depends(_store)]


async def agent_may_hear(request: Request, call: CallRecord, agent: str) -> bool:
    """Whether an agent user may fetch this call's recording (`qa.agent_recordings`):
    `own` the calls it answered, `evaluated` those with a submitted evaluation, `none`."""
    state = _state(request)
    if state.agent_recordings == "none" or call.agent != agent:
        return False
    if state.agent_recordings == "evaluated":
        return state.store is not None and await state.store.evaluated(call.id)
    return True


def _now() -> datetime:
    return datetime.now(UTC)


def _filter_id(value: str | None) -> uuid.UUID | None:
    try:
        return None if value is None else uuid.UUID(value)
    except ValueError:
        raise InvalidRequest(f"call_id: {value!r} is not a call id (a UUID)") from None


def _form(f: FormRecord) -> Form:
    try:
        return parse_form(f.definition)
    except EvaluationError as exc:  # stored forms were valid when written
        raise Conflict(f"form {f.name} v{f.version} no longer parses: {exc}") from None


def _answers(form: Form, raw: dict[str, Any], *, complete: bool) -> dict[str, Answer]:
    try:
        return parse_answers(form, raw, complete=complete)
    except EvaluationError as exc:
        raise InvalidRequest(str(exc)) from None


def _visible(e: EvaluationRecord, user: Principal, own: str | None) -> bool:
    if own is not None:  # an agent user: its own submitted evaluations only
        return e.agent == own and e.state == "submitted"
    return e.state == "submitted" or e.reviewer == user.name or user.role is Role.ADMIN


async def _out(store: EvaluationStore, e: EvaluationRecord) -> EvaluationOut:
    form = _form(await store.form_by_id(e.form_id))
    return EvaluationOut.of(e, score(form, parse_answers(form, e.answers, complete=False)))


async def _audit(request: Request, user: Principal, action: str, target: str) -> None:
    await authenticator(request).audit(user, action, target=target, outcome="ok")


def install(app: FastAPI) -> None:
    if not hasattr(app.state, "qa"):
        app.state.qa = QaState()
    _forms(app)
    _evaluations(app)
    _remarks(app)


def _forms(app: FastAPI) -> None:
    @app.get(f"{PREFIX}/forms", tags=["qa"], summary="Each form's current version",
             responses=UNAVAILABLE)  # fmt: skip
    async def list_forms(store: Store, retired: bool = False) -> list[FormOut]:
        return [FormOut.of(f) for f in await store.forms(retired=retired)]

    @app.post(
        f"{PREFIX}/forms",
        tags=["qa"],
        status_code=201,
        summary="Create a form (version 1)",
        description="422 names the invalid field, e.g. "
        "`sections[1].questions[0].weight: must be > 0`. Admin only.",
        responses=WRITE,
    )
    async def create_form(
        body: FormIn, store: Store, user: CurrentUser, request: Request
    ) -> FormOut:
        _check(body.definition)
        try:
            f = await store.save_form(
                body.name, body.definition, by=user.name, now=_now(), new=True
            )
        except EvaluationConflict as exc:
            raise Conflict(str(exc)) from None
        await _audit(request, user, "qa.form.create", f"{f.name} v{f.version}")
        return FormOut.of(f)

    @app.get(f"{PREFIX}/forms/{{name}}", tags=["qa"], summary="A form's current version",
             responses=MISSING)  # fmt: skip
    async def get_form(name: str, store: Store) -> FormOut:
        return FormOut.of(await _found(store.form(name)))

    @app.put(
        f"{PREFIX}/forms/{{name}}",
        tags=["qa"],
        summary="Change a form: a new version (older ones stay, with their evaluations)",
        responses=WRITE,
    )
    async def change_form(
        name: str, body: FormChange, store: Store, user: CurrentUser, request: Request
    ) -> FormOut:
        _check(body.definition)
        f = await _found(
            store.save_form(name, body.definition, by=user.name, now=_now(), new=False)
        )
        await _audit(request, user, "qa.form.change", f"{f.name} v{f.version}")
        return FormOut.of(f)

    @app.delete(f"{PREFIX}/forms/{{name}}", tags=["qa"], responses=MISSING,
                summary="Retire a form: no new evaluation on it (a change revives it)")  # fmt: skip
    async def retire_form(name: str, store: Store, user: CurrentUser, request: Request) -> FormOut:
        f = await _found(store.retire_form(name, _now()))
        await _audit(request, user, "qa.form.retire", name)
        return FormOut.of(f)

    @app.get(f"{PREFIX}/forms/{{name}}/versions", tags=["qa"], responses=MISSING,
             summary="Every version of a form, oldest first")  # fmt: skip
    async def form_versions(name: str, store: Store) -> list[FormOut]:
        return [FormOut.of(f) for f in await _found(store.versions(name))]

    @app.get(f"{PREFIX}/forms/{{name}}/versions/{{version}}", tags=["qa"], responses=MISSING,
             summary="One version of a form")  # fmt: skip
    async def form_version(name: str, version: Id, store: Store) -> FormOut:
        return FormOut.of(await _found(store.form(name, version)))


def _check(definition: dict[str, Any]) -> None:
    try:
        parse_form(definition)
    except EvaluationError as exc:
        raise InvalidRequest(str(exc)) from None


async def _found(pending: Awaitable[T]) -> T:
    try:
        return await pending
    except NotFoundError as exc:
        raise NotFound(str(exc)) from None


def _evaluations(app: FastAPI) -> None:
    @app.get(
        f"{PREFIX}/evaluations",
        tags=["qa"],
        summary="Evaluations, newest first",
        description="Filters combine (AND). A draft is listed to its reviewer only; an "
        "agent user gets its own submitted evaluations (its `agent` filter is forced).",
        responses=UNAVAILABLE,
    )
    async def list_evaluations(
        store: Store,
        user: CurrentUser,
        own: OwnRows,
        call_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        agent: Text = None,
        reviewer: Text = None,
        state: Literal["draft", "submitted"] | None = None,
        form: Text = None,
        min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
        max_score: Annotated[float | None, Query(ge=0, le=100)] = None,
        acknowledgement: Literal["none", "acknowledged", "disputed"] | None = None,
        limit: Annotated[Integer, Query(ge=1, le=500)] = 100,
    ) -> list[EvaluationOut]:
        if own is not None:
            agent, state = (own if agent in (None, own) else ""), "submitted"
        f = EvaluationFilter(
            call_id=_filter_id(call_id), agent=agent, reviewer=reviewer,
            state=state, form=form, min_score=min_score, max_score=max_score,
            acknowledgement=acknowledgement,
        )  # fmt: skip
        found = [e for e in await store.find(f, limit=limit) if _visible(e, user, own)]
        return [await _out(store, e) for e in found]

    @app.post(
        f"{PREFIX}/evaluations",
        tags=["qa"],
        status_code=201,
        summary="Start an evaluation of a call on a form's current version (a draft)",
        description="`submit: true` submits at once. One evaluation per reviewer and call "
        "(409: update the draft). 422 names the answer, e.g. `answers.q1.value: ...`.",
        responses=WRITE,
    )
    async def create_evaluation(
        body: EvaluationIn, store: Store, user: CurrentUser, request: Request
    ) -> EvaluationOut:
        record = await _found(store.form(body.form))
        if record.retired_at is not None:
            raise Conflict(f"form {body.form!r} is retired")
        form = _form(record)
        answers = _answers(form, body.answers, complete=body.submit)
        s = score(form, answers)
        call_id, now = call_key(body.call_id), _now()
        try:
            e = await _found(store.create(call_id, record.id, reviewer=user.name,
                                          answers=body.answers, score=s.percent,
                                          auto_failed=s.auto_failed, now=now))  # fmt: skip
            if body.submit:
                e = await store.update(e.id, reviewer=user.name, answers=body.answers,
                                       score=s.percent, auto_failed=s.auto_failed, submit=True,
                                       now=now)  # fmt: skip
        except EvaluationConflict as exc:
            raise Conflict(str(exc)) from None
        if body.submit:
            await _audit(request, user, "qa.evaluation.submit", str(e.id))
        return EvaluationOut.of(e, s)

    @app.get(f"{PREFIX}/evaluations/{{evaluation_id}}", tags=["qa"], responses=MISSING,
             summary="One evaluation with its score per section")  # fmt: skip
    async def get_evaluation(
        evaluation_id: Id, store: Store, user: CurrentUser, own: OwnRows
    ) -> EvaluationOut:
        e = await _found(store.get(evaluation_id))
        if not _visible(e, user, own):
            raise NotFound(f"no evaluation {evaluation_id}")
        return await _out(store, e)

    async def save(
        evaluation_id: int, raw: dict[str, Any] | None, store: EvaluationStore,
        user: Principal, *, submit: bool,
    ) -> EvaluationOut:  # fmt: skip
        e = await _found(store.get(evaluation_id))
        if e.reviewer != user.name:
            raise NotFound(f"no draft evaluation {evaluation_id} of {user.name}")
        if e.state != "draft":
            raise Conflict(f"evaluation {evaluation_id} is submitted: immutable")
        answers_raw = e.answers if raw is None else raw
        form = _form(await store.form_by_id(e.form_id))
        s = score(form, _answers(form, answers_raw, complete=submit))
        try:
            e = await _found(store.update(evaluation_id, reviewer=user.name, answers=answers_raw,
                                          score=s.percent, auto_failed=s.auto_failed,
                                          submit=submit, now=_now()))  # fmt: skip
        except EvaluationConflict as exc:
            raise Conflict(str(exc)) from None
        return EvaluationOut.of(e, s)

    @app.put(f"{PREFIX}/evaluations/{{evaluation_id}}", tags=["qa"], responses=WRITE,
             summary="Save a draft's answers (its reviewer only)")  # fmt: skip
    async def update_evaluation(
        evaluation_id: Id, body: EvaluationChange, store: Store, user: CurrentUser
    ) -> EvaluationOut:
        return await save(evaluation_id, body.answers, store, user, submit=False)

    @app.post(
        f"{PREFIX}/evaluations/{{evaluation_id}}/submit",
        tags=["qa"],
        summary="Submit a draft: scored on the server, immutable after",
        description="Every scored question must be answered or N/A (422 names each one).",
        responses=WRITE,
    )
    async def submit_evaluation(
        evaluation_id: Id, body: SubmitIn, store: Store, user: CurrentUser, request: Request
    ) -> EvaluationOut:
        out = await save(evaluation_id, body.answers, store, user, submit=True)
        await _audit(request, user, "qa.evaluation.submit", str(evaluation_id))
        return out

    @app.post(
        f"{PREFIX}/evaluations/{{evaluation_id}}/acknowledgement",
        tags=["qa"],
        summary="The evaluated agent acknowledges or disputes (with a comment) its evaluation",
        responses=MISSING,
    )
    async def acknowledge(
        evaluation_id: Id, body: AcknowledgementIn, store: Store, user: CurrentUser,
        request: Request,
    ) -> EvaluationOut:  # fmt: skip
        if user.agent_id is None:
            raise Forbidden(Permission.QA_ACKNOWLEDGE.value,
                            "only the evaluated agent's own user acknowledges")  # fmt: skip
        comment = (body.comment or "").strip() or None
        if body.status == "disputed" and comment is None:
            raise InvalidRequest("comment: a dispute needs a comment")
        e = await _found(store.acknowledge(evaluation_id, agent=user.agent_id, status=body.status,
                                           comment=comment, now=_now()))  # fmt: skip
        await _audit(request, user, f"qa.evaluation.{body.status}", str(evaluation_id))
        return await _out(store, e)


def _remarks(app: FastAPI) -> None:
    calls = "/api/v1/calls/{call_id}"

    async def own_call(request: Request, call_id: uuid.UUID, own: str | None) -> None:
        """An agent user reads remarks of the calls it answered only (else a 404)."""
        if own is None:
            return
        search = request.app.state.search
        found = None if search is None else await search.call(call_id)
        if found is None or found[0].agent != own:
            raise NotFound(f"no call {call_id}")

    @app.get(f"{calls}/remarks", tags=["qa"], responses=MISSING,
             summary="Timestamped remarks on a call's recording, by offset")  # fmt: skip
    async def list_remarks(
        call_id: str, store: Store, own: OwnRows, request: Request
    ) -> list[RemarkOut]:
        key = call_key(call_id)
        await own_call(request, key, own)
        return [RemarkOut.of(r) for r in await store.remarks(key)]

    @app.post(f"{calls}/remarks", tags=["qa"], status_code=201, responses=MISSING,
              summary="Add a remark at a time of the recording")  # fmt: skip
    async def add_remark(
        call_id: str, body: RemarkIn, store: Store, user: CurrentUser
    ) -> RemarkOut:
        r = await _found(store.add_remark(call_key(call_id), author=user.name,
                                          offset_seconds=body.offset_seconds, text=body.text,
                                          evaluation_id=body.evaluation_id, now=_now()))  # fmt: skip
        return RemarkOut.of(r)

    @app.delete(f"{calls}/remarks/{{remark_id}}", tags=["qa"], status_code=204,
                responses=MISSING, summary="Delete one of your own remarks")  # fmt: skip
    async def delete_remark(call_id: str, remark_id: Id, store: Store, user: CurrentUser) -> None:
        await _found(store.delete_remark(call_key(call_id), remark_id, author=user.name))

    @app.get(
        f"{calls}/calibration",
        tags=["qa"],
        summary="Calibration: the call's submitted evaluations on one form version compared",
        description="Per question, each reviewer's answer, the modal answer and the share "
        "of reviewers who gave it; the spread of totals. Without `form`/`version`: the "
        "version most reviewers used (ties: the newest).",
        responses=MISSING,
    )
    async def calibration(
        call_id: str,
        store: Store,
        form: Annotated[str | None, Query(max_length=128, pattern=NO_NUL)] = None,
        version: Annotated[Integer | None, Query(ge=1, le=INT32)] = None,
    ) -> CalibrationOut:
        return await calibration_of(store, call_key(call_id), form, version)


async def calibration_of(
    store: EvaluationStore, key: uuid.UUID, form: str | None, version: int | None
) -> CalibrationOut:
    """The call's submitted evaluations on one form version compared (the API's and the
    calibration page's): `form`/`version` pick it, else the version most reviewers used."""
    call_id = str(key)
    done = await store.find(EvaluationFilter(call_id=key, state="submitted"), limit=500)
    counts = Counter((e.form_name, e.form_version) for e in done)
    chosen = (form, version) if form and version else None
    if chosen is None:
        usable = [k for k in counts if form is None or k[0] == form]
        chosen = max(usable, key=lambda k: (counts[k], k[1]), default=None)
    others = [FormRef(name=n, version=v) for n, v in counts if (n, v) != chosen]
    picked = [e for e in done if (e.form_name, e.form_version) == chosen]
    if chosen is None or not picked:
        return CalibrationOut.of(call_id, None, {}, calibrate(Form(()), {}), {}, others)
    record = await _found(store.form(*chosen))
    parsed = _form(record)
    picked.sort(key=lambda e: e.submitted_at or e.created_at)
    reviews = {e.reviewer: parse_answers(parsed, e.answers, complete=False) for e in picked}
    texts = {q.id: q.text for q in parsed.questions()}
    ref = FormRef(name=chosen[0], version=chosen[1])
    ids = {e.reviewer: e.id for e in picked}
    return CalibrationOut.of(call_id, ref, texts, calibrate(parsed, reviews), ids, others)


__all__ = ["AgentRecordings", "QaState", "agent_may_hear", "calibration_of", "install"]
