"""What the call flow needs from the rest of the control plane, in one place.

`CallContext` is built once by the daemon; the call flow's two halves (worker events
in callflow.py, ACD commands in acd_actions.py) share it and the session table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from acd.model import TerminalAction
from gateway.control.announcements import PromptSet
from gateway.control.sessions import SessionTable
from gateway.metrics import Metrics
from gateway.store.cdr import CdrStore
from routing import RoutingTable


class WorkerCommands(Protocol):
    async def command(
        self, worker_id: str, cmd: Any, timeout: float | None = None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class QueueMedia:
    """What a caller hears in one queue (prompt names in the prompt set)."""

    greeting: str | None = "greeting"
    music: str = "music"
    record: bool = True
    announce_position: bool = True
    announce_ewt: bool = True


@dataclass(frozen=True, slots=True)
class FlowSettings:
    domain: str  # agents are dialled as sip:<agent>@<domain>
    edge_proxy: str  # e.g. sip:127.0.0.1:5060;lr — route for agent legs
    recordings_dir: Path
    make_stereo: bool = True
    voicemail_max_seconds: float = 120.0
    unknown_did_code: int = 404
    closed_code: int = 480
    finalize_timeout: float = 15.0
    agent_uris: dict[str, str] = field(default_factory=dict)  # agent id -> SIP URI override
    did_from_to: frozenset[str] = frozenset()  # trunks that put the DID in To, not the R-URI
    queue_media: dict[str, QueueMedia] = field(default_factory=dict)

    def media_for(self, queue: str | None) -> QueueMedia:
        return self.queue_media.get(queue or "", QueueMedia())

    def agent_uri(self, agent_id: str) -> str:
        return self.agent_uris.get(agent_id) or f"sip:{agent_id}@{self.domain}"


@dataclass(slots=True)
class CallContext:
    pool: WorkerCommands
    prompts: PromptSet
    cdr: CdrStore
    metrics: Metrics
    settings: FlowSettings
    routing: Callable[[], RoutingTable]
    sessions: SessionTable = field(default_factory=SessionTable)
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    new_call_id: Callable[[], uuid.UUID] = uuid.uuid4


TERMINAL_PROMPTS: dict[TerminalAction, str] = {
    TerminalAction.ANNOUNCE_HANGUP: "all_busy",
    TerminalAction.CALLBACK_OFFER: "all_busy",
    TerminalAction.HANGUP: "",
}
