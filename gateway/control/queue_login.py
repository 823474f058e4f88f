"""Per-queue agent login (like Wazo's agentd ``/agents/{id}/queues/{q}/login``) on
the running ACD.

An agent's routing entry lists the queues it *may* serve; which of them it serves
*now* is agent state in the engine (`AgentView.queues`), changed with an
`UpdateAgent` through `CallDriver.feed()` (the engine's contract: a call in progress is
not touched). No routing version is written. The state lives in the engine only: a
restart, or a routing version that changes this agent, starts the agent again on all
its configured queues.
"""

from __future__ import annotations

from acd import events as ev
from acd.model import AgentConfig
from gateway.control.driver import CallDriver
from gateway.control.errors import NotFound


class EngineMembership:
    """`routing_admin.QueueMembership` over the call driver's engine."""

    def __init__(self, calls: CallDriver) -> None:
        self._calls = calls

    def agent_queues(self, agent_id: str) -> tuple[str, ...]:
        engine = self._calls.engine
        if agent_id not in engine.agent_ids():
            raise NotFound(f"no agent {agent_id!r} in the running gateway")
        return engine.agent(agent_id).queues

    def set_agent(self, config: AgentConfig) -> tuple[str, ...]:
        self.agent_queues(config.agent_id)
        self._calls.feed(ev.UpdateAgent(config))
        return self.agent_queues(config.agent_id)
