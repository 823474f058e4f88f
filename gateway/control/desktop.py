"""The agent desktop's view of the running control plane: the call an agent is being
offered, talking on or wrapping up (the screen-pop's live facts), the queue's wrap-up
codes, and the wrap-up an agent submits for a call whose `call.completed` is to come
(every agent that took the call has its own: after a transfer, the target too).

Everything here runs on the event loop with the switchboard, so a check and the change
that follows it see the same state. The call records side (history, the saved row) is
gateway/store/wrapup.py; the HTTP side gateway/api/v1/desktop.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from acd.states import AgentState
from gateway.control.driver import CallDriver
from gateway.control.errors import NotFound
from gateway.control.presence import Presence
from gateway.control.wrapups import WrapupNote
from gateway.settings.routing import RoutingSettings

LiveState = Literal["ringing", "talking", "wrap-up"]


@dataclass(frozen=True, slots=True)
class LiveCall:
    call_id: str
    state: LiveState
    caller: str | None
    caller_name: str | None
    did: str | None
    queue: str | None
    arrived_at: datetime
    answered_at: datetime | None


class DesktopControl:
    def __init__(
        self,
        driver: CallDriver,
        presence: Presence,
        routing: Callable[[], RoutingSettings],
    ) -> None:
        """`routing()`: the running routing version (wrap-up codes, agents' queues)."""
        self._driver, self._presence, self._routing = driver, presence, routing

    def codes(self, queue: str | None) -> tuple[str, ...] | None:
        """The queue's wrap-up codes; None: no such queue (any more)."""
        q = self._routing().queues.get(queue or "")
        return None if q is None else q.wrapup_codes

    def configured_queues(self, agent: str) -> tuple[str, ...]:
        """The queues the agent may log in to (its routing entry's)."""
        a = self._routing().agents.get(agent)
        return () if a is None else a.queues

    def current(self, agent: str) -> LiveCall | None:
        """The agent's call now: ringing it, in conversation, or in its wrap-up."""
        board = self._driver.board
        call_id = board.agent_call(agent)
        s = board.open_session(call_id) if call_id else None
        if s is None or call_id is None:
            return None
        view = board.engine.agent(agent)
        state: LiveState = (
            "ringing"
            if view.offered_call == call_id
            else "wrap-up"
            if view.state is AgentState.WRAP_UP
            else "talking"
        )
        return LiveCall(
            call_id, state, s.caller or None, s.caller_name, s.did or None, s.queue,
            s.arrived_at, s.answered_at,
        )  # fmt: skip

    def open_call(self, call_id: str) -> tuple[str | None, str | None] | None:
        """(answering agent, queue) of a call whose call.completed is still to come."""
        s = self._driver.board.open_session(call_id)
        if s is None:
            return None
        return (s.connected.agent_id if s.connected else None), s.queue

    def took_call(self, call_id: str) -> tuple[str, ...]:
        """The agents that answered a call whose call.completed is still to come, the
        first first (a transfer's target after the transferring agent)."""
        s = self._driver.board.open_session(call_id)
        legs = () if s is None else s.agent_legs.values()
        return tuple(dict.fromkeys(leg.agent_id for leg in legs if leg.answered))

    def submit(self, call_id: str, note: WrapupNote, *, ready: bool) -> bool:
        """Keep the wrap-up for the call's call.completed. False: that event is gone
        already (the record alone takes it). `ready`: if the agent is wrapping up this
        call, end its wrap-up now (it takes calls again; call.completed goes out)."""
        if self.open_call(call_id) is None:
            return False
        if note.by not in self.took_call(call_id):
            raise NotFound(f"no call {call_id!r}")
        board = self._driver.board
        board.wrapups.put(call_id, note)
        view = board.engine.agent(note.by)
        if ready and view.state is AgentState.WRAP_UP and view.call_id == call_id:
            self._presence.ready(note.by)
        return True
