"""Wrap-up codes and notes an agent submitted for a call whose `call.completed` is still
to come (the call is up, or finalised with its agent still in wrap-up).

The desktop API puts a note here; the switchboard takes it when it builds the call's
`call.completed`, so the event carries what the agent chose. One note per call (a
later submission replaces it); a call that completes takes its note away, so the map
holds only calls still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WrapupNote:
    code: str | None
    notes: str | None
    by: str  # the agent
    at: datetime


class Wrapups:
    def __init__(self) -> None:
        self._notes: dict[str, WrapupNote] = {}

    def put(self, call_id: str, note: WrapupNote) -> None:
        self._notes[call_id] = note

    def take(self, call_id: str) -> WrapupNote | None:
        return self._notes.pop(call_id, None)

    def __len__(self) -> int:
        return len(self._notes)
