"""QA forms pages: the list (`/ui/qa/forms`), the builder that saves a new version
(`/ui/qa/forms/new`, `/ui/qa/forms/{name}/edit`: admins) and a read-only view of each
version (`/ui/qa/forms/{name}/versions/{version}`).

The builder is a little JavaScript (static/qa_builder.js) over the definition JSON; it
saves through the QA API (POST or PUT /api/v1/qa/forms...), which validates and names
the field of any mistake, shown beside the builder.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.auth.http import CurrentUser
from gateway.auth.permissions import Permission, refusal
from gateway.control.errors import NotFound
from gateway.store.records import NotFoundError
from gateway.ui import shell
from gateway.ui.qa import NO_QA, _store
from recordings.evaluation import EvaluationError, parse_form

STARTER = {"sections": [{"title": "Section 1", "questions": [
    {"id": "q1", "text": "", "type": "yes_no", "weight": 1}]}]}  # fmt: skip


def install(app: FastAPI) -> None:
    shell.add_nav(app, "QA forms", "/ui/qa/forms", Permission.QA_FORMS_READ)

    @app.get("/ui/qa/forms", include_in_schema=False)
    async def forms_page(request: Request, user: CurrentUser) -> Response:
        store = _store(request)
        if store is None:
            return shell.message(request, user, "QA forms", NO_QA, 503)
        may_write = refusal(user.role, user.agent_id, Permission.QA_FORMS_WRITE, None) is None
        return shell.render(request, user, "qa/forms.html", title="QA forms",
                            forms=await store.forms(retired=True), may_write=may_write)  # fmt: skip

    async def builder(request: Request, user: CurrentUser, name: str | None) -> Response:
        store = _store(request)
        if store is None:
            return shell.message(request, user, "Form builder", NO_QA, 503)
        definition, version = STARTER, None
        if name is not None:
            try:
                current = await store.form(name)
            except NotFoundError as exc:
                raise NotFound(str(exc)) from None
            definition, version = current.definition, current.version
        return shell.render(
            request, user, "qa/form_builder.html",
            title=f"Edit form {name}" if name else "New form", form_name=name, version=version,
            definition_json=json.dumps(definition).replace("<", "\\u003c"),  # inside <script>
        )  # fmt: skip

    @app.get("/ui/qa/forms/new", include_in_schema=False)
    async def new_form_page(request: Request, user: CurrentUser) -> Response:
        return await builder(request, user, None)

    @app.get("/ui/qa/forms/{name}/edit", include_in_schema=False)
    async def edit_form_page(request: Request, name: str, user: CurrentUser) -> Response:
        return await builder(request, user, name)

    @app.get("/ui/qa/forms/{name}/versions/{version}", include_in_schema=False)
    async def version_page(
        request: Request, name: str, version: str, user: CurrentUser
    ) -> Response:
        store = _store(request)
        if store is None:
            return shell.message(request, user, "QA form", NO_QA, 503)
        if not version.isdigit() or len(version) > 9:
            raise NotFound(f"no form {name!r} version {version}")
        try:
            record = await store.form(name, int(version))
            versions = await store.versions(name)
        except NotFoundError as exc:
            raise NotFound(str(exc)) from None
        try:
            sections = parse_form(record.definition).sections
        except EvaluationError:
            sections = ()
        may_write = refusal(user.role, user.agent_id, Permission.QA_FORMS_WRITE, None) is None
        return shell.render(
            request, user, "qa/form_version.html", title=f"{name} v{record.version}",
            form=record, sections=sections, versions=versions, may_write=may_write,
            definition_json=json.dumps(record.definition, indent=2),
        )  # fmt: skip


__all__ = ["install"]
