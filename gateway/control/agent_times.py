"""How long each agent has been in its state, and each call's wrap-up.

`call.completed` is the last event of a call and carries the agent's wrap-up time, so
it waits for whichever comes last: the call's finalisation or the end of the wrap-up
that followed it. This object owns that bookkeeping (monotonic seconds); the
switchboard asks it at both moments.
"""

from __future__ import annotations

from acd.states import AgentState
from gateway.control.session import CallSession


class AgentTimes:
    def __init__(self) -> None:
        self._since: dict[str, float] = {}  # agent -> when it entered its state
        self._wrapping: dict[str, tuple[str, float]] = {}  # agent -> (call id, since)
        self._wrapped: dict[str, float] = {}  # call id -> wrap-up seconds, ended early
        self._awaiting: dict[str, CallSession] = {}  # call id -> finalised, in wrap-up

    def changed(
        self, agent: str, old: AgentState, new: AgentState, call_id: str | None, now: float
    ) -> tuple[float | None, tuple[CallSession, float] | None]:
        """Record a state change. Returns the seconds spent in `old` (None: unknown),
        and a finalised call whose wrap-up just ended, with its wrap-up seconds."""
        since = self._since.get(agent)
        self._since[agent] = now
        done: tuple[CallSession, float] | None = None
        if old is AgentState.WRAP_UP and (wrapping := self._wrapping.pop(agent, None)):
            wrapped_call, started = wrapping
            seconds = round(now - started, 3)
            session = self._awaiting.pop(wrapped_call, None)
            if session is not None:
                done = (session, seconds)
            else:
                self._wrapped[wrapped_call] = seconds
        if new is AgentState.WRAP_UP and call_id is not None:
            self._wrapping[agent] = (call_id, now)
        return (None if since is None else round(now - since, 3)), done

    def since(self, agent: str) -> float | None:
        """When (monotonic) `agent` entered its state; None: no change seen yet."""
        return self._since.get(agent)

    def finalised(self, s: CallSession) -> tuple[bool, float | None]:
        """Is the call complete now (and with which wrap-up seconds)? If its agent is
        still wrapping up, the session is kept until `changed` reports the end."""
        if s.call_id in self._wrapped:
            return True, self._wrapped.pop(s.call_id)
        if any(call == s.call_id for call, _ in self._wrapping.values()):
            self._awaiting[s.call_id] = s
            return False, None
        return True, (0.0 if s.connected is not None else None)

    def awaiting_session(self, call_id: str) -> CallSession | None:
        """A finalised call held until its agent's wrap-up ends."""
        return self._awaiting.get(call_id)

    def awaiting(self) -> int:
        return len(self._awaiting)
