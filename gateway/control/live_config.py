"""Live routing changes: a new version in the database, applied to the running gateway.

Theory of operation
-------------------
The database holds the routing configuration (``config_versions`` + the routing
tables); the YAML, the CLI (``contactgw config apply``) and later the API are ways to
write it. `LiveConfig` polls ``max(version)`` once a second, so a change from any
process or host is seen within about a second. A new version is loaded, and:

1. `plan()` (pure) computes the `ChangeSet` between the running routing and the new
   one: the routing table and `FlowSettings` to swap in, the ACD events in feeding
   order (queues added/updated, agents added/updated, agents that go leave every
   queue, queues that go removed last), credentials to push, presence's agent list.
   It raises `Refused` when the version cannot be applied to this engine as it is
   (a queue to remove that still has waiting calls; a table that does not build);
   then nothing at all has been changed.
2. `LiveConfig.apply()` commits it in one synchronous run — no ``await`` between the
   table swap and the last engine event, so no call arrives half-way: new calls see
   the new table; calls already routed keep their decision (a DID re-pointed
   mid-call affects only new calls). Engine events go through `CallDriver.feed()`,
   one step each, never from inside a step. `UpdateQueue` keeps waiting calls with
   their positions and arrival times (the engine's contract, docs/acd.md).
3. An agent that is removed leaves its queues at once (no new offers) and is logged
   out — deferred by the engine while it rings, talks or wraps up — and only when it
   is logged out is it removed from the engine and its credentials from the edge:
   an agent removed while on a call finishes the call first.
4. Credentials (new agents, changed passwords) are pushed to the edge after the
   commit; a failure there is logged (the edge manager re-applies its desired state).

A refused version is logged with its reason and counted
(``contactgw_config_apply_failures_total``); the running configuration stays. It is
retried each poll (the reason may pass, e.g. the queue empties) and logged once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Counter, Gauge

from acd import events as ev
from acd.model import AgentConfig
from acd.states import AgentState
from gateway.control import build
from gateway.control.driver import CallDriver
from gateway.control.flow_settings import FlowSettings
from gateway.metrics import Metrics
from gateway.settings import RoutingSettings, Settings
from gateway.store.records import RoutingVersion
from routing import RoutingTable, build_routing_table

log = logging.getLogger(__name__)


class Refused(Exception):
    """This version cannot be applied to the running gateway; nothing was changed."""


@dataclass(frozen=True, slots=True)
class ChangeSet:
    table: RoutingTable
    flow: FlowSettings
    events: tuple[ev.Event, ...]  # fed in this order
    removed_agents: tuple[str, ...]  # out of every queue by `events`; logged out, then removed
    credentials: tuple[tuple[str, str], ...]  # (user, password): new agents, changed passwords
    auto_login: dict[str, bool]  # presence's agent list
    new_queues: tuple[str, ...]
    routing: RoutingSettings  # the version this change set leads to

    def describe(self) -> str:
        counts: dict[str, int] = {}
        for e in self.events:
            counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1
        parts = [f"{n} {name}" for name, n in counts.items()]
        if self.removed_agents:
            parts.append(f"{len(self.removed_agents)} agents retiring")
        if self.credentials:
            parts.append(f"{len(self.credentials)} credentials")
        return ", ".join(parts) or "no engine change"


def plan(
    base: Settings,
    old: RoutingSettings,
    new: RoutingSettings,
    *,
    engine_queues: set[str],
    engine_agents: set[str],
    waiting: Mapping[str, int],
) -> ChangeSet:
    """The change set from ``old`` (running) to ``new``, checked against the engine.

    ``engine_queues``/``engine_agents`` are what the engine holds now (an agent still
    retiring from an earlier version is there though not in ``old``); ``waiting`` is the
    number of unanswered calls per queue. Pure: raises `Refused`, changes nothing.
    """
    if problems := new.reference_problems():
        raise Refused("; ".join(f"{'.'.join(map(str, p))}: {why}" for p, why in problems))
    try:
        table = build_routing_table(new.routing_data())
        settings = build.with_routing(base, new)
        flow = build.flow_settings(settings)
        queues = {name: build.queue_config(name, q) for name, q in new.queues.items()}
        old_queues = {name: build.queue_config(name, q) for name, q in old.queues.items()}
    except ValueError as exc:  # RoutingConfigError, the engine model's ConfigError
        raise Refused(str(exc)) from exc
    gone_queues = sorted(engine_queues - set(queues))
    if busy := [q for q in gone_queues if waiting.get(q, 0)]:
        raise Refused(
            "; ".join(f"queue {q!r} has {waiting[q]} waiting calls" for q in busy)
            + ": re-point its DIDs and overflows in one version, remove it once it is empty"
        )
    events: list[ev.Event] = []
    for name, cfg in queues.items():
        if name not in engine_queues:
            events.append(ev.AddQueue(cfg))
        elif old_queues.get(name) != cfg:
            events.append(ev.UpdateQueue(cfg))
    for user, agent in new.agents.items():
        acfg = build.agent_config(user, agent)
        was = old.agents.get(user)
        if user not in engine_agents:
            events.append(ev.AddAgent(acfg))
        elif was is None or build.agent_config(user, was) != acfg:
            events.append(ev.UpdateAgent(acfg))
    retiring = sorted(engine_agents - set(new.agents))
    for user in retiring:  # no new offers; a call in progress is not touched
        events.append(ev.UpdateAgent(AgentConfig(agent_id=user)))
    events.extend(ev.RemoveQueue(q) for q in gone_queues)
    credentials = tuple(
        (user, agent.password.get_secret_value())
        for user, agent in new.agents.items()
        if user not in old.agents or old.agents[user].password != agent.password
    )
    return ChangeSet(
        table=table,
        flow=flow,
        events=tuple(events),
        removed_agents=tuple(retiring),
        credentials=credentials,
        auto_login={user: True for user in new.agents},
        new_queues=tuple(q for q in queues if q not in engine_queues),
        routing=new,
    )


def agent_names(routing: RoutingSettings) -> dict[str, str]:
    return {user: a.display_name or user for user, a in routing.agents.items()}


class VersionSource(Protocol):
    async def current_version(self) -> int | None: ...

    async def load_routing_config(self) -> tuple[RoutingVersion, RoutingSettings] | None: ...


class EdgeCredentials(Protocol):
    async def set_agent_credentials(self, user: str, password: str) -> None: ...

    async def remove_agent(self, user: str) -> None: ...


class AgentList(Protocol):
    """Presence: which agents it logs in and out from their registrations."""

    def set_agents(self, agents: dict[str, bool]) -> None: ...


class LiveConfig:
    """The one owner of the running routing version; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        version: int,
        table: RoutingTable,
        *,
        repo: VersionSource,
        calls: CallDriver,
        edge: EdgeCredentials,
        presence: AgentList,
        metrics: Metrics,
        interval: float = 1.0,
    ) -> None:
        self._base, self._running, self._version = settings, settings.routing, version
        self._table = table
        self._repo, self._calls, self._edge, self._presence = repo, calls, edge, presence
        self._metrics, self._interval = metrics, interval
        self._pending: tuple[int, RoutingSettings] | None = None  # a refused version
        self._retiring: set[str] = set()
        # the API's agent directory (id -> display name): kept current here, in place
        self.agent_names = agent_names(settings.routing)
        self._task: asyncio.Task[None] | None = None
        r = metrics.registry
        self._failures = Counter(
            "contactgw_config_apply_failures",
            "Routing versions the running gateway refused to apply",
            registry=r,
        )
        self._version_gauge = Gauge(
            "contactgw_config_version", "Routing version the gateway runs", registry=r
        )
        self._version_gauge.set(version)

    @property
    def table(self) -> RoutingTable:
        """The routing table for new calls (the switchboard's `routing` callable)."""
        return self._table

    @property
    def routing(self) -> RoutingSettings:
        """The running routing version's settings (alert thresholds are read from it)."""
        return self._running

    @property
    def version(self) -> int:
        return self._version

    @property
    def retiring(self) -> frozenset[str]:
        """Removed agents still finishing a call (or wrap-up) before they go."""
        return frozenset(self._retiring)

    # ------------------------------------------------------------------ the poll
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _poll(self) -> None:
        failing = False
        while True:
            try:
                await self.poll_once()
            except Exception as exc:  # noqa: BLE001 - database away: keep what runs
                if not failing:
                    log.error("routing version poll failed (logged once until it works): %s", exc)
                failing = True
            else:
                if failing:
                    log.info("routing version poll works again")
                failing = False
            await asyncio.sleep(self._interval)

    async def poll_once(self) -> None:
        """One tick: apply a newer version if there is one; finish retiring agents."""
        await self._finish_retiring()
        newest = await self._repo.current_version()
        if newest is None or newest == self._version:
            return
        if self._pending is not None and self._pending[0] == newest:
            await self.apply(*self._pending, quiet=True)
            return
        loaded = await self._repo.load_routing_config()
        if loaded is not None:
            await self.apply(loaded[0].version, loaded[1])

    # ------------------------------------------------------------------ applying
    async def apply(self, version: int, routing: RoutingSettings, *, quiet: bool = False) -> bool:
        """Apply ``routing`` as ``version``; False (and nothing changed) if refused."""
        engine = self._calls.engine
        queues = set(engine.queue_ids())
        try:
            change = plan(
                self._base,
                self._running,
                routing,
                engine_queues=queues,
                engine_agents=set(engine.agent_ids()),
                waiting={q: len(engine.waiting(q)) for q in queues},
            )
        except Refused as exc:
            if self._pending is None or self._pending[0] != version or not quiet:
                self._failures.inc()
                log.error(
                    "routing version %d not applied (still running %d): %s",
                    version,
                    self._version,
                    exc,
                )
            self._pending = (version, routing)
            return False
        self._commit(change)
        self._running, self._version, self._pending = routing, version, None
        self._version_gauge.set(version)
        log.info("routing version %d applied: %s", version, change.describe())
        for user, password in change.credentials:
            try:
                await self._edge.set_agent_credentials(user, password)
            except Exception as exc:  # noqa: BLE001 - the edge re-applies its desired state
                log.error("credentials of %s not pushed to the edge: %s", user, exc)
        await self._finish_retiring()
        return True

    def _commit(self, change: ChangeSet) -> None:
        """Everything of one change set, without an await: no call sees half of it."""
        self._table = change.table
        self._calls.board.settings = change.flow
        for event in change.events:
            self._calls.feed(event)
        # Presence has no public setter for its agent list yet (presence.py belongs to
        # another change): replace this line with `Presence.set_agents` once it has one.
        self._presence.set_agents(change.auto_login)
        for queue in change.new_queues:
            self._metrics.declare_queue(queue)
        names = {u: self.agent_names[u] for u in change.removed_agents if u in self.agent_names}
        self.agent_names.clear()
        self.agent_names.update(names | agent_names(change.routing))
        if set(self._calls.engine.queue_ids()) != set(change.routing.queues):  # a bug
            log.error("ACD queues out of step with the routing version: see the ACD warnings")
        for user in change.removed_agents:
            if user not in self._retiring:
                self._retiring.add(user)
                if self._calls.engine.agent(user).state is not AgentState.LOGGED_OUT:
                    self._calls.feed(ev.AgentLogout(user))  # deferred while busy

    async def _finish_retiring(self) -> None:
        engine = self._calls.engine
        for user in sorted(self._retiring):
            if user in self._running.agents:  # re-added by a later version: it stays
                self._retiring.discard(user)
                continue
            if user in engine.agent_ids() and engine.agent(user).state is not AgentState.LOGGED_OUT:
                continue  # still on a call or in wrap-up
            self._retiring.discard(user)
            if user in engine.agent_ids():
                self._calls.feed(ev.RemoveAgent(user))
            self.agent_names.pop(user, None)
            log.info("agent %s removed", user)
            try:
                await self._edge.remove_agent(user)
            except Exception as exc:  # noqa: BLE001
                log.error("agent %s not removed from the edge: %s", user, exc)
