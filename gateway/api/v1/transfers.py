"""Transfers (API v1, docs/transfer.md): blind or attended, to an agent, a queue or a
number, like Wazo calld's `POST /transfers` and `/transfers/{id}/complete`.

`calls.transfer` (gateway.auth.permissions): admins and supervisors any live call; an
agent user only a call it is connected to (a `ROWS` grant: another agent's call is a
404, as if it did not exist). Every request is audited (`call.transfer`,
`transfer.complete`, `transfer.cancel`) whatever its outcome.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, model_validator

from gateway.api.errors import Responses, error_doc
from gateway.api.v1.deps import OwnRows
from gateway.auth.http import CurrentUser
from gateway.control.errors import ControlError, NotFound
from gateway.control.transfer_model import Flow, Target
from gateway.control.transfer_model import Request as TransferRequest
from gateway.control.transfer_service import TransferService, TransferView

CallId = Annotated[str, PathParam(max_length=64, description="the live call's id")]
TransferId = Annotated[str, PathParam(max_length=64, description="the transfer's id")]
ERRORS: Responses = {
    404: error_doc("no such live call or transfer (or not the agent user's own)"),
    409: error_doc(
        "the call or transfer is not in a state that allows it (not connected, a transfer "
        "in progress, no free leg on the caller's worker, nothing to complete or cancel)"
    ),
}


class TargetIn(BaseModel):
    """Exactly one of `agent`, `queue`, `number`."""

    agent: str | None = Field(None, max_length=64, description="an agent id")
    queue: str | None = Field(None, max_length=64, description="a queue name (blind only)")
    number: str | None = Field(
        None, max_length=33, description="an external number, dialled through the trunk"
    )

    @model_validator(mode="after")
    def _one(self) -> TargetIn:
        given = [k for k in ("agent", "queue", "number") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("target: exactly one of agent, queue or number")
        return self

    def parse(self) -> Target:
        kind = next(k for k in ("agent", "queue", "number") if getattr(self, k) is not None)
        return Target.parse(kind, str(getattr(self, kind)))


class TransferIn(BaseModel):
    flow: Literal["blind", "attended"] = Field(
        description="blind: the agent is released at once; attended: the agent talks to "
        "the target first, then completes (or cancels)"
    )
    target: TargetIn
    priority_bump: int = Field(
        0, ge=0, le=100, description="added to the call's priority when it is re-queued"
    )


class TransferOut(BaseModel):
    id: str
    call_id: str
    flow: str
    target_kind: Literal["agent", "queue", "number"]
    target: str
    from_agent: str = Field(description="the agent the caller was talking to")
    origin: Literal["api", "refer"]
    state: Literal["ringing", "consulting", "completed", "failed", "cancelled"]
    priority_bump: int
    reason: str | None = Field(description="why it failed or was cancelled")

    @classmethod
    def of(cls, v: TransferView) -> TransferOut:
        return cls.model_validate(v, from_attributes=True)


def _service(request: Request) -> TransferService:
    service: TransferService | None = getattr(request.app.state, "transfers", None)
    if service is None:  # an API without the call side (tests, tools): no live call
        raise NotFound("no live calls here: the API runs without the gateway's call side")
    return service


def install(app: FastAPI) -> None:
    async def audited(
        request: Request, user: CurrentUser, action: str, target: str, run: Any, **details: Any
    ) -> TransferOut:
        auth = request.app.state.auth
        async with auth.audited(user, action, refused=ControlError, target=target,
                                details=details):  # fmt: skip
            return TransferOut.of(run())

    @app.post(
        "/api/v1/calls/{call_id}/transfers", tags=["transfers"], status_code=201,
        summary="Transfer a connected call (blind or attended)", responses=ERRORS,
    )  # fmt: skip
    async def start(
        call_id: CallId, body: TransferIn, request: Request, user: CurrentUser, own: OwnRows
    ) -> TransferOut:
        service = _service(request)
        req = TransferRequest(Flow(body.flow), body.target.parse(), body.priority_bump,
                              by_agent=own)  # fmt: skip
        return await audited(
            request, user, "call.transfer", call_id, lambda: service.start(call_id, req),
            flow=body.flow, to=body.target.model_dump(exclude_none=True),
        )  # fmt: skip

    @app.get(
        "/api/v1/transfers/{transfer_id}", tags=["transfers"], summary="One transfer",
        responses=ERRORS,
    )  # fmt: skip
    def get(transfer_id: TransferId, request: Request, own: OwnRows) -> TransferOut:
        return TransferOut.of(_service(request).get(transfer_id, own))

    def action(verb: str, summary: str) -> None:
        """POST /api/v1/transfers/{id}/<verb>: the service's method of that name."""

        async def act(
            transfer_id: TransferId, request: Request, user: CurrentUser, own: OwnRows
        ) -> TransferOut:
            run = getattr(_service(request), verb)
            return await audited(request, user, f"transfer.{verb}", transfer_id,
                                 lambda: run(transfer_id, own))  # fmt: skip

        app.post(f"/api/v1/transfers/{{transfer_id}}/{verb}", tags=["transfers"],
                 responses=ERRORS, summary=summary, name=f"{verb}_transfer")(act)  # fmt: skip

    action(
        "complete", "Complete an attended transfer: the caller to the target, the agent released"
    )
    action("cancel", "Cancel a transfer: the target hung up, the caller back with the agent")
