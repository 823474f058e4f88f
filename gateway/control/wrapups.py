"""Wrap-up codes and notes agents submitted for a call whose `call.completed` is still
to come (the call is up, or finalised with an agent still in wrap-up).

The desktop API puts a note here; the switchboard takes the call's notes when it builds
its `call.completed`, so the event carries what each agent chose. One note per call and
agent (a later submission of that agent replaces its own): after a transfer both the
transferring agent and the target post theirs (asterisk issue 607). A call that
completes takes its notes away, so the map holds only calls still open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gateway.events import catalogue as ce


@dataclass(frozen=True, slots=True)
class WrapupNote:
    code: str | None
    notes: str | None
    by: str  # the agent
    at: datetime


class Wrapups:
    def __init__(self) -> None:
        self._notes: dict[str, dict[str, WrapupNote]] = {}  # call -> agent -> note

    def put(self, call_id: str, note: WrapupNote) -> None:
        self._notes.setdefault(call_id, {})[note.by] = note

    def take(self, call_id: str) -> tuple[WrapupNote, ...]:
        """The call's notes, oldest agent's first (the map forgets them)."""
        return tuple(self._notes.pop(call_id, {}).values())

    def __len__(self) -> int:
        return len(self._notes)


def agent_wrapups(
    seconds: Mapping[str, float] | None, notes: tuple[WrapupNote, ...]
) -> tuple[ce.AgentWrapup, ...]:
    """call.completed's `wrapups`: every agent that wrapped up or posted a note, the ones
    that wrapped up in the order they did, then those that only posted."""
    by_agent = {n.by: n for n in notes}
    agents = list(seconds or {}) + [a for a in by_agent if a not in (seconds or {})]
    return tuple(
        ce.AgentWrapup(
            agent=a,
            seconds=(seconds or {}).get(a),
            code=by_agent[a].code if a in by_agent else None,
            notes=by_agent[a].notes if a in by_agent else None,
        )
        for a in agents
    )


def note_of(agent: str | None, notes: tuple[WrapupNote, ...]) -> WrapupNote | None:
    """The note call.completed's own wrapup_code/notes show: `agent`'s, else the latest."""
    mine = [n for n in notes if n.by == agent]
    return mine[-1] if mine else max(notes, key=lambda n: n.at, default=None)
