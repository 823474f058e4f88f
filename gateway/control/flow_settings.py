"""What the call flow needs to know of the settings: per-queue media, codes, timeouts.

Built once from `Settings` by `build.flow_settings()`; the switchboard reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from acd.model import TerminalAction
from gateway.control.callback_plan import CallbackPlan


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
    callbacks: dict[str, CallbackPlan] = field(default_factory=dict)  # queues offering one
    # the agent desktop's base URL: agent INVITEs carry Call-Info to the call's screen-pop
    desktop_url: str | None = None
    pci_codes: tuple[str, str] = ("*1", "*2")  # the agent's DTMF: pause / resume recording

    def media_for(self, queue: str | None) -> QueueMedia:
        return self.queue_media.get(queue or "", QueueMedia())

    def callback_for(self, queue: str | None) -> CallbackPlan | None:
        return self.callbacks.get(queue or "")

    def agent_uri(self, agent_id: str) -> str:
        return self.agent_uris.get(agent_id) or f"sip:{agent_id}@{self.domain}"

    def call_info(self, call_id: str) -> dict[str, str]:
        """The Call-Info header of an agent's INVITE (RFC 3261 20.9): the screen-pop page."""
        if self.desktop_url is None:
            return {}
        return {"Call-Info": f"<{self.desktop_url}/ui/agent/calls/{call_id}>;purpose=info"}


TERMINAL_PROMPTS: dict[TerminalAction, str] = {
    TerminalAction.ANNOUNCE_HANGUP: "all_busy",
    TerminalAction.CALLBACK_OFFER: "all_busy",
    TerminalAction.HANGUP: "",
}
