"""Transfers as the API sees them: find the call, let the desk decide, carry it out.

The desk (`transfer.py`) decides inside one switchboard step (`CallDriver.act`), so a
request is checked and applied against the same state a worker event would see.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.control.driver import CallDriver
from gateway.control.errors import NotFound
from gateway.control.transfer import TransferDesk
from gateway.control.transfer_model import Request, Transfer


@dataclass(frozen=True, slots=True)
class TransferView:
    id: str
    call_id: str
    flow: str
    target_kind: str
    target: str
    from_agent: str
    origin: str
    state: str
    priority_bump: int
    reason: str | None


def view(t: Transfer) -> TransferView:
    return TransferView(
        t.id, t.call_id, t.flow.value, t.target.kind.value, t.target.value, t.from_agent,
        t.origin, t.state.value, t.priority_bump, t.reason,
    )  # fmt: skip


class TransferService:
    def __init__(self, driver: CallDriver) -> None:
        self._driver = driver

    @property
    def _desk(self) -> TransferDesk:
        return self._driver.board.transfers

    def start(self, call_id: str, req: Request) -> TransferView:
        call = self._driver.board.calls.by_call(call_id)
        if call is None:
            raise NotFound(f"no live call {call_id!r}")
        return view(self._driver.act(lambda: self._desk.start(call, req)))

    def complete(self, transfer_id: str, by_agent: str | None) -> TransferView:
        return view(self._driver.act(lambda: self._desk.complete(transfer_id, by_agent)))

    def cancel(self, transfer_id: str, by_agent: str | None) -> TransferView:
        return view(self._driver.act(lambda: self._desk.cancel(transfer_id, by_agent)))

    def get(self, transfer_id: str, by_agent: str | None) -> TransferView:
        t = self._desk.get(transfer_id)
        if by_agent is not None and by_agent != t.from_agent:
            raise NotFound(f"no transfer {transfer_id!r}")
        return view(t)
