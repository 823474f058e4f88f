"""The web UI under /ui/: server-rendered pages (Jinja2) over the same app, tokens and
permissions as the API. `install(app)` is the one call create_app makes; each page
module has its own `install(app)` listed in `PAGES` (docs/ui.md: adding a page)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from gateway.ui import agent, calls, qa, qa_forms, reports, shell, voicemail, wallboard

# one install(app) per page module, in nav order; the shell first (login, static, errors)
PAGES: tuple[Callable[[FastAPI], None], ...] = (
    shell.install,
    calls.install,
    qa.install,  # evaluate, evaluations, calibration (docs/qa.md)
    qa_forms.install,
    reports.install,
    wallboard.install,
    voicemail.install,  # voicemail boxes (docs/voicemail.md)
    agent.install,  # the agent desktop (docs/desktop.md)
)


def install(app: FastAPI) -> None:
    for page in PAGES:
        page(app)
