"""How long each agent has been in its state, and each call's wrap-up.

`call.completed` is the last event of a call and carries its agents' wrap-up times, so
it waits for whichever comes last: the call's finalisation or the end of the last
wrap-up that followed it (a transferred call has one per agent). This object owns that bookkeeping (monotonic seconds); the
switchboard asks it at both moments.
"""

from __future__ import annotations

from acd.states import AgentState
from gateway.control.session import CallSession


class AgentTimes:
    def __init__(self) -> None:
        self._since: dict[str, float] = {}  # agent -> when it entered its state
        self._wrapping: dict[str, tuple[str, float]] = {}  # agent -> (call id, since)
        # call id -> agent -> wrap-up seconds, ended before the call (a transfer's first
        # agent wraps up while its target still talks; both are the call's)
        self._wrapped: dict[str, dict[str, float]] = {}
        self._awaiting: dict[str, CallSession] = {}  # call id -> finalised, in wrap-up

    def changed(
        self, agent: str, old: AgentState, new: AgentState, call_id: str | None, now: float
    ) -> tuple[float | None, tuple[CallSession, dict[str, float]] | None]:
        """Record a state change. Returns the seconds spent in `old` (None: unknown),
        and a finalised call whose last wrap-up just ended, with each agent's seconds."""
        since = self._since.get(agent)
        self._since[agent] = now
        done: tuple[CallSession, dict[str, float]] | None = None
        if old is AgentState.WRAP_UP and (wrapping := self._wrapping.pop(agent, None)):
            wrapped_call, started = wrapping
            self._wrapped.setdefault(wrapped_call, {})[agent] = round(now - started, 3)
            if wrapped_call in self._awaiting and not self._still_wrapping(wrapped_call):
                done = (self._awaiting.pop(wrapped_call), self._wrapped.pop(wrapped_call))
        if new is AgentState.WRAP_UP and call_id is not None:
            self._wrapping[agent] = (call_id, now)
        return (None if since is None else round(now - since, 3)), done

    def since(self, agent: str) -> float | None:
        """When (monotonic) `agent` entered its state; None: no change seen yet."""
        return self._since.get(agent)

    def finalised(self, s: CallSession) -> tuple[bool, dict[str, float] | None]:
        """Is the call complete now (and with each agent's wrap-up seconds; None: no
        agent)? While an agent still wraps it up, the session is kept until `changed`
        reports the end of the last one."""
        if self._still_wrapping(s.call_id):
            self._awaiting[s.call_id] = s
            return False, None
        wrapped = self._wrapped.pop(s.call_id, None)
        if wrapped:
            return True, wrapped
        return True, ({s.connected.agent_id: 0.0} if s.connected is not None else None)

    def _still_wrapping(self, call_id: str) -> bool:
        return any(call == call_id for call, _ in self._wrapping.values())

    def awaiting_session(self, call_id: str) -> CallSession | None:
        """A finalised call held until its agent's wrap-up ends."""
        return self._awaiting.get(call_id)

    def awaiting(self) -> int:
        return len(self._awaiting)
