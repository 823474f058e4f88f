"""Agent presence: who is logged in, driven by the API and by softphone registrations.

Agents log in and out through the API. With `auto_login` (the default), an agent
whose softphone registers at the edge is logged in, and one whose registration
disappears is logged out, so the ACD never rings a phone that cannot answer. An
explicit API logout wins over auto-login until the agent logs in again or its phone
re-registers after having been unregistered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from acd import events as ev
from acd.states import AgentState
from gateway.control.driver import CallDriver
from gateway.control.errors import Conflict, NotFound

log = logging.getLogger(__name__)

RegisteredUsers = Callable[[list[str]], Awaitable[set[str]]]


class Presence:
    def __init__(
        self,
        acd: CallDriver,
        agents: dict[str, bool],
        registered_users: RegisteredUsers,
        interval: float = 1.0,
    ) -> None:
        """`agents` maps agent id -> auto_login."""
        self._acd = acd
        self._auto = dict(agents)
        self._registered_users = registered_users
        self._interval = interval
        self.registered: set[str] = set()
        self._manual_out: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def set_agents(self, agents: dict[str, bool]) -> None:
        """The agents it manages (agent id -> auto_login), after a live routing change."""
        self._auto = dict(agents)

    def state(self, agent_id: str) -> AgentState:
        if agent_id not in self._auto:
            raise NotFound(f"no agent {agent_id!r}")
        return self._acd.engine.agent(agent_id).state

    # ------------------------------------------------------------------ API actions
    def login(self, agent_id: str) -> None:
        if self.state(agent_id) is not AgentState.LOGGED_OUT:
            raise Conflict(f"agent {agent_id!r} is already logged in")
        self._manual_out.discard(agent_id)
        self._acd.feed(ev.AgentLogin(agent_id))

    def logout(self, agent_id: str) -> None:
        if self.state(agent_id) is AgentState.LOGGED_OUT:
            raise Conflict(f"agent {agent_id!r} is not logged in")
        self._manual_out.add(agent_id)
        self._acd.feed(ev.AgentLogout(agent_id))

    def pause(self, agent_id: str, reason: str) -> None:
        if self.state(agent_id) is AgentState.LOGGED_OUT:
            raise Conflict(f"agent {agent_id!r} is not logged in")
        self._acd.feed(ev.AgentPause(agent_id, reason))

    def unpause(self, agent_id: str) -> None:
        if self.state(agent_id) is not AgentState.PAUSED:
            raise Conflict(f"agent {agent_id!r} is not paused")
        self._acd.feed(ev.AgentUnpause(agent_id))

    def ready(self, agent_id: str) -> None:
        """End wrap-up early: the agent takes calls again now."""
        if self.state(agent_id) is not AgentState.WRAP_UP:
            raise Conflict(f"agent {agent_id!r} is not in wrap-up")
        self._acd.feed(ev.WrapUpDone(agent_id))

    # ------------------------------------------------------------------ registrations
    def keep_logged_out(self, agents: set[str], registered: set[str]) -> set[str]:
        """After adopting a dead control plane's calls: the agents it had logged out while
        their phones were registered (with auto-login, only an API logout does that) stay
        logged out, as if this process had seen the logout. Returns those agents."""
        kept = {a for a in agents & registered if self._auto.get(a)}
        self.registered |= kept
        self._manual_out |= kept
        return kept

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _poll(self) -> None:
        while True:
            try:
                await self.sync(await self._registered_users(list(self._auto)))
            except Exception as exc:  # noqa: BLE001 - edge restarting: keep the last state
                log.debug("registration poll failed: %s", exc)
            await asyncio.sleep(self._interval)

    async def sync(self, registered: set[str]) -> None:
        """Apply a fresh view of which agents' phones are registered."""
        for agent_id, auto in self._auto.items():
            was, now = agent_id in self.registered, agent_id in registered
            if not auto or was == now:
                continue
            state = self._acd.engine.agent(agent_id).state
            if now:
                self._manual_out.discard(agent_id)
                if state is AgentState.LOGGED_OUT:
                    log.info("agent %s registered: logging in", agent_id)
                    self._acd.feed(ev.AgentLogin(agent_id))
            elif state is not AgentState.LOGGED_OUT:
                log.info("agent %s unregistered: logging out", agent_id)
                self._acd.feed(ev.AgentLogout(agent_id))
        self.registered = set(registered)
