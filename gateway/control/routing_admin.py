"""The API's routing service: read the current routing version, write one change as the
next version (gateway/control/routing_edit.py builds it), and per-queue agent login.

A write is one read-modify-write transaction (`RoutingRepository.apply_change`), source
``api``, author the token's user: the optimistic check (the version the client read,
its ``If-Match``) runs inside it, so of two writes based on the same version exactly one
is stored and the other gets `StaleVersion`; writes without a check (creating a new
name) queue behind the writer lock and none is lost. `LiveConfig` applies the version
to the running gateway within about a second, as it does a CLI change.

Per-queue login (`QueueMembership`) is agent *state*, not configuration: it changes the
queues the running ACD offers an agent calls from (within those its routing entry
lists) and writes no version. It does not survive a restart, nor a routing version
that changes that agent: both start it again from the agent's configured queues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from acd.model import AgentConfig
from gateway.control import build
from gateway.control.errors import Conflict, ControlError, NotFound
from gateway.control.routing_edit import StaleVersion
from gateway.settings.routing import RoutingSettings
from gateway.store.routing_repo import RoutingRepository

Edit = Callable[[RoutingSettings], RoutingSettings]


class Unavailable(ControlError):
    """The service runs without the part this request needs (no running ACD)."""


class QueueMembership(Protocol):
    """The queues an agent serves in the running ACD (gateway/control/queue_login.py);
    both raise NotFound for an agent the engine does not have."""

    def agent_queues(self, agent_id: str) -> tuple[str, ...]: ...

    def set_agent(self, config: AgentConfig) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class AgentQueues:
    agent: str
    queues: tuple[str, ...]  # served now
    configured: tuple[str, ...]  # its routing entry's: the ones it may log in to


class RoutingAdmin:
    def __init__(self, repo: RoutingRepository, membership: QueueMembership | None = None) -> None:
        self._repo = repo
        self.membership = membership

    async def read(self) -> tuple[int, RoutingSettings]:
        """The current version (0: none applied yet) and its content, read together."""
        loaded = await self._repo.load_routing_config()
        if loaded is None:
            return 0, RoutingSettings()
        return loaded[0].version, loaded[1]

    async def write(
        self, edit: Edit, *, expected: int | None, author: str
    ) -> tuple[int, RoutingSettings]:
        """Store ``edit(current)`` as the next version; ``expected``: the version the
        change was based on (None: no check). Same content: the current version."""

        def change(version: int, current: RoutingSettings) -> RoutingSettings:
            if expected is not None and expected != version:
                raise StaleVersion(expected, version)
            return edit(current)

        stored, routing = await self._repo.apply_change(change, source="api", author=author)
        return stored.version, routing

    async def queue_login(self, agent_id: str, queue: str, *, login: bool) -> AgentQueues:
        """Log ``agent_id`` in to (or out of) one of its configured queues, in the
        running ACD; idempotent. Skills and rank are its routing entry's."""
        if self.membership is None:
            raise Unavailable("per-queue login needs the running gateway")
        _, routing = await self.read()
        agent = routing.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id!r}")
        if queue not in routing.queues:
            raise NotFound(f"no queue {queue!r} (known: {', '.join(sorted(routing.queues))})")
        if queue not in agent.queues:
            raise Conflict(
                f"agent {agent_id!r} may log in to its configured queues only "
                f"({', '.join(agent.queues) or 'none'}): add {queue!r} to its routing entry"
            )
        now = self.membership.agent_queues(agent_id)
        wanted = (set(now) | {queue}) if login else (set(now) - {queue})
        queues = tuple(q for q in agent.queues if q in wanted)
        if queues != now:
            config = build.agent_config(agent_id, agent.model_copy(update={"queues": queues}))
            now = self.membership.set_agent(config)
        return AgentQueues(agent_id, now, agent.queues)
