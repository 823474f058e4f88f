"""QA pages: score a call beside its player (`/ui/calls/{id}/evaluate`), the evaluations
list (an agent: its own submitted ones, to acknowledge or dispute), and calibration
(`/ui/calls/{id}/calibration`). Forms are built in gateway/ui/qa_forms.py.

The pages read through gateway.store.evaluations and write through the QA API
(gateway/api/v1/qa.py) with `ui.fetch`: the score is always the server's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.api.v1.qa import calibration_of
from gateway.auth.http import CurrentUser
from gateway.auth.permissions import Permission, Role, rows_agent
from gateway.auth.service import Principal
from gateway.control.errors import NotFound
from gateway.store.evaluations import (
    EvaluationFilter,
    EvaluationRecord,
    EvaluationStore,
    FormRecord,
)
from gateway.store.records import NotFoundError
from gateway.store.search import recording_paths
from gateway.ui import shell
from gateway.ui.calls import _call, _remarks
from gateway.ui.timeline import timeline
from recordings.evaluation import Form, Question, parse_answers, parse_form, score

NO_QA = "This gateway has no QA store (no database configured)."


def _store(request: Request) -> EvaluationStore | None:
    state = getattr(request.app.state, "qa", None)
    store: EvaluationStore | None = getattr(state, "store", None)
    return store


def shown(q: Question, answer: dict[str, Any] | None) -> str:
    """An answer as a reviewer reads it."""
    if not answer or (answer.get("value") is None and not answer.get("na")):
        return "—"
    if answer.get("na"):
        return "N/A"
    v = answer["value"]
    labels = {o.id: o.label for o in q.options}
    if q.type == "yes_no":
        return "Yes" if v else "No"
    if q.type == "single":
        return labels.get(v, str(v))
    if q.type == "multi":
        return ", ".join(labels.get(x, str(x)) for x in v) or "none"
    return f"{v:g}" if isinstance(v, int | float) else str(v)


@dataclass(frozen=True, slots=True)
class Shown:
    """An evaluation with its form, for the templates."""

    e: EvaluationRecord
    form: Form
    reasons: tuple[str, ...]

    def rows(self) -> list[tuple[str, str, str]]:
        """(question, answer, comment) in form order."""
        return [(q.text, shown(q, self.e.answers.get(q.id)),
                 str((self.e.answers.get(q.id) or {}).get("comment") or ""))
                for q in self.form.questions()]  # fmt: skip


async def _shown(store: EvaluationStore, e: EvaluationRecord) -> Shown:
    form = parse_form((await store.form_by_id(e.form_id)).definition)
    s = score(form, parse_answers(form, e.answers, complete=False))
    return Shown(e, form, s.reasons)


def install(app: FastAPI) -> None:
    shell.add_nav(app, "Evaluations", "/ui/evaluations", Permission.QA_EVALUATIONS_READ)

    @app.get("/ui/calls/{call_id}/evaluate", include_in_schema=False)
    async def evaluate_page(
        request: Request, call_id: str, user: CurrentUser, form: str | None = None
    ) -> Response:
        store = _store(request)
        if store is None or request.app.state.search is None:
            return shell.message(request, user, "Evaluate", NO_QA, 503)
        call, offers = await _call(request, user, call_id)
        mine = await store.find(EvaluationFilter(call_id=call.id, reviewer=user.name), limit=1)
        current = mine[0] if mine else None
        forms = await store.forms()
        record: FormRecord | None
        if current is not None:
            record = await store.form_by_id(current.form_id)
        else:
            record = next((f for f in forms if f.name == form), forms[0] if forms else None)
        if record is None:
            text = "No evaluation form yet: an admin builds one under QA forms."
            return shell.message(request, user, "Evaluate", text, 409)
        parsed = parse_form(record.definition)
        result = None
        if current is not None:
            result = score(parsed, parse_answers(parsed, current.answers, complete=False))
        return shell.render(
            request, user, "qa/evaluate.html",
            title=f"Evaluate the call from {call.caller or 'unknown'}",
            call=call, offers=offers, steps=timeline(call, offers),
            remarks=await _remarks(request, call.id), recorded=bool(recording_paths(call)),
            form=record, sections=parsed.sections, forms=forms, evaluation=current,
            answers=current.answers if current else {}, result=result,
        )  # fmt: skip

    @app.get("/ui/evaluations", include_in_schema=False)
    async def evaluations_page(
        request: Request, user: CurrentUser, state: str | None = None
    ) -> Response:
        store = _store(request)
        if store is None:
            return shell.message(request, user, "Evaluations", NO_QA, 503)
        own = rows_agent(user.role, user.agent_id, Permission.QA_EVALUATIONS_READ)
        f = EvaluationFilter(agent=own, state="submitted" if own is not None else None)
        found = await store.find(f, limit=200)
        visible = [e for e in found if _visible(e, user, own)]
        return shell.render(
            request, user, "qa/evaluations.html", title="Evaluations",
            items=[await _shown(store, e) for e in visible], own=own,
        )  # fmt: skip

    @app.get("/ui/calls/{call_id}/calibration", include_in_schema=False)
    async def calibration_page(
        request: Request, call_id: str, user: CurrentUser, form: str | None = None
    ) -> Response:
        store = _store(request)
        if store is None:
            return shell.message(request, user, "Calibration", NO_QA, 503)
        try:
            key = uuid.UUID(call_id)
        except ValueError:
            raise NotFound(f"no call {call_id!r}") from None
        try:
            cal = await calibration_of(store, key, form, None)
        except NotFoundError as exc:
            raise NotFound(str(exc)) from None
        questions: dict[str, Question] = {}
        if cal.form is not None:
            record = await store.form(cal.form.name, cal.form.version)
            questions = {q.id: q for q in parse_form(record.definition).questions()}

        def label(qid: str, value: Any) -> str:
            """A calibration answer ("N/A", a value, None) as the reviewer chose it."""
            q = questions.get(qid)
            if value is None or q is None:
                return "—" if value is None else str(value)
            return shown(q, {"na": True} if value == "N/A" else {"value": value})

        return shell.render(request, user, "qa/calibration.html", title="Calibration", cal=cal,
                            call_id=call_id, label=label)  # fmt: skip


def _visible(e: EvaluationRecord, user: Principal, own: str | None) -> bool:
    if own is not None:
        return e.agent == own and e.state == "submitted"
    return e.state == "submitted" or e.reviewer == user.name or user.role is Role.ADMIN


__all__ = ["install", "shown"]
