"""Per-call state of the control plane (the imperative shell's bookkeeping).

A `CallSession` is one caller's visit: its caller leg on one worker, the agent legs
dialled for it, what is playing, and the facts the call record needs. Sessions are
looked up by our call id and by leg name (legs are unique across the pool because
worker ids prefix incoming legs and we name the legs we dial).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.store.records import Disposition, HangupBy

log = logging.getLogger(__name__)


class Phase(enum.Enum):
    ROUTING = "routing"
    ANNOUNCING = "announcing"  # closed / unknown DID / diverted: prompt, then hang up
    QUEUED = "queued"
    CONNECTED = "connected"
    VOICEMAIL = "voicemail"  # prompt and beep, then record the caller
    ENDED = "ended"


@dataclass(slots=True)
class AgentLeg:
    leg: str
    agent_id: str
    offer_id: int | None = None
    cancelled: bool = False
    answered: bool = False
    ended: bool = False


@dataclass(slots=True)
class CallSession:
    call_id: str
    sip_call_id: str
    worker_id: str
    caller_leg: str
    did: str
    caller: str
    arrived_at: datetime
    queue: str | None = None
    phase: Phase = Phase.ROUTING
    disposition: Disposition | None = None
    agent_legs: dict[str, AgentLeg] = field(default_factory=dict)  # by leg name
    connected_leg: str | None = None
    agent_id: str | None = None
    playing: str | None = None  # path of the prompt/music now playing to the caller
    hangup_code: int = 200  # final answer once an ANNOUNCING prompt ends
    hangup_by: HangupBy | None = None
    sip_code: int | None = None
    agent_sip_code: int | None = None  # how the last agent leg ended
    recordings: dict[str, str] = field(default_factory=dict)  # role -> path
    recordings_closed: set[str] = field(default_factory=set)
    rtp: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> stats
    caller_gone: bool = False
    conversation_ended: bool = False
    dial_seq: int = 0
    finalized: bool = False
    # Worker commands for one call run in order without blocking other calls; its
    # record writes too, on their own chain, so a slow database never delays media.
    media: Sequencer = field(init=False)
    cdr: Sequencer = field(init=False)

    def __post_init__(self) -> None:
        self.media = Sequencer(f"call {self.call_id} media")
        self.cdr = Sequencer(f"call {self.call_id} record", retries=8)

    def next_agent_leg_name(self) -> str:
        self.dial_seq += 1
        return f"{self.call_id}-a{self.dial_seq}"

    def ringing_legs(self) -> list[AgentLeg]:
        return [
            a
            for a in self.agent_legs.values()
            if not a.answered and not a.ended and not a.cancelled
        ]


class Sequencer:
    """Runs async steps one after the other, each as soon as the previous ended."""

    def __init__(self, name: str, retries: int = 0) -> None:
        self._name = name
        self._retries = retries
        self._tail: asyncio.Task[None] | None = None

    def then(self, step: Callable[[], Awaitable[object]]) -> None:
        previous = self._tail

        async def chained() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            for attempt in range(self._retries + 1):
                try:
                    await step()
                    return
                except Exception:
                    if attempt == self._retries:
                        log.exception("%s: step failed", self._name)
                        return
                    # A transient database error (locked, restarting): try again.
                    await asyncio.sleep(min(0.2 * 2**attempt, 5.0))

        self._tail = asyncio.get_running_loop().create_task(chained())

    async def settled(self) -> None:
        while self._tail is not None and not self._tail.done():
            await asyncio.gather(self._tail, return_exceptions=True)


class SessionTable:
    def __init__(self) -> None:
        self._by_call: dict[str, CallSession] = {}
        self._by_leg: dict[str, CallSession] = {}

    def add(self, session: CallSession) -> None:
        self._by_call[session.call_id] = session
        self._by_leg[session.caller_leg] = session

    def bind_leg(self, leg: str, session: CallSession) -> None:
        self._by_leg[leg] = session

    def by_call(self, call_id: str) -> CallSession | None:
        return self._by_call.get(call_id)

    def by_leg(self, leg: str) -> CallSession | None:
        return self._by_leg.get(leg)

    def remove(self, session: CallSession) -> None:
        self._by_call.pop(session.call_id, None)
        for leg in [session.caller_leg, *session.agent_legs]:
            self._by_leg.pop(leg, None)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._by_call.values()))

    def __len__(self) -> int:
        return len(self._by_call)
