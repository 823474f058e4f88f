"""`EdgeManager`: the facade the control plane uses to run and steer the Kamailio edge.

Theory of operation: the manager owns the *desired* state of the edge -- agents'
credentials (as HA1), the workers in the dispatcher set and the state asked for each, the
trunk allow-list -- and applies every change twice over: to its own tables at once, and to
the running Kamailio over JSON-RPC. Kamailio keeps all of it in memory, so after a crash
the supervisor restarts it with a config rendered from the current desired state
(dispatcher.list holds the workers added at runtime) and `_push_state` sends the
credentials and non-active worker states again. Agents' registrations are lost with the
process; softphones re-register (register_max_expires_s bounds how long that takes).

With `orphan_timeout_s` > 0 Kamailio outlives the control plane, next to its orphan guard
(gateway/edge/orphan.py). A new manager adopts it (gateway/managed_process.py decides,
KamailioProcess.adopt_refusal says why not): registrations, dialogs and load counters stay,
the credentials are pushed again (htable sets, harmless), the dispatcher set and trunk list
are brought to ours by RPC, without a reload. `inherited()` tells the preflight beforehand
that the edge's SIP port is held by a previous run's edge, which `start()` adopts or
replaces, not by a stranger.

Mutations are serialised by one lock, which `_push_state` also holds, so a change made
while Kamailio restarts is either in the rendered files/pushed state or applied after.
If Kamailio is down when a change is made, the change is kept and applied at the restart;
the call does not fail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.edge.errors import EdgeConfigError, EdgeRpcError, EdgeUnavailable
from gateway.edge.orphan import OrphanGuard
from gateway.edge.process import KamailioProcess
from gateway.edge.render import digest_ha1, load_template, render, write_atomic, write_rundir
from gateway.edge.rpc import EdgeRpc, JsonRpcClient
from gateway.edge.settings import (
    TRUNK_GROUP,
    WORKER_PROFILE,
    WORKER_SET,
    EdgeSettings,
    TrunkSource,
    WorkerDestination,
    check_token,
)
from gateway.edge.state import (
    STATE_CODES,
    Contact,
    EdgeHealth,
    WorkerStatus,
    parse_dialogs,
    parse_dispatcher_list,
    parse_ul_dump,
    parse_ul_lookup,
)
from gateway.logsafe import printable
from gateway.supervisor.heartbeat import owner_alive

log = logging.getLogger("gateway.edge")

AGENTS_TABLE = "agents"


class EdgeManager:
    def __init__(
        self,
        settings: EdgeSettings,
        *,
        template: str | None = None,
        rpc_timeout: float = 2.0,
    ) -> None:
        self._settings = settings
        self._template = template
        self._workers: dict[str, WorkerDestination] = {w.id: w for w in settings.workers}
        self._worker_states: dict[str, str] = {}  # id -> requested state if not "active"
        self._trunks: tuple[TrunkSource, ...] = settings.trunk_sources
        self._ha1: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._rpc_client = JsonRpcClient(settings.rpc_socket, timeout=rpc_timeout)
        self.rpc = EdgeRpc(self._rpc_client)
        self.process = KamailioProcess(
            settings,
            prepare=self._prepare,
            on_ready=self._push_state,
            config_change=self._config_change,
        )
        self._guard = (
            OrphanGuard(settings.rundir, settings.heartbeat_file, settings.orphan_timeout_s)
            if settings.orphan_timeout_s > 0
            else None
        )

    # -- lifecycle -----------------------------------------------------------------

    @property
    def settings(self) -> EdgeSettings:
        """Settings as they would be rendered now (runtime workers and trunks included)."""
        return dataclasses.replace(
            self._settings, workers=tuple(self._workers.values()), trunk_sources=self._trunks
        )

    async def start(self) -> None:
        if self._template is None:
            self._template = load_template()
        await self.process.start()

    def inherited(self) -> int | None:
        """The pid of a previous run's edge that `start()` will adopt or replace (its SIP
        port is ours, then). None if there is none, or if the control plane that ran it is
        alive: a second `contactgw run` must fail on the port, never take it over."""
        if (owner := owner_alive(self._settings.heartbeat_file)) is not None:
            log.info("the edge's control plane (pid %d) is alive: nothing to adopt", owner)
            return None
        return self.process.previous_pid()

    async def stop(self) -> None:
        await self.process.stop()
        if self._guard is not None:
            await self._guard.stop()
        self._rpc_client.close()

    def _config_change(self) -> str | None:
        """Why a running edge's config is not the one we would render now (None: it is)."""
        assert self._template is not None
        try:
            running = self._settings.config_path.read_text(encoding="utf-8")
        except OSError as exc:
            return f"its config cannot be read ({exc})"
        if running != render(self.settings, self._template).config:
            return "its config differs from the one rendered now"
        return None

    def _prepare(self) -> None:
        assert self._template is not None
        settings = self.settings
        write_rundir(settings, render(settings, self._template))

    async def _push_state(self) -> None:
        # Called by the process supervisor once RPC answers. Under the lock, and "ready" is
        # set before the lock is released: a concurrent mutation is either in this push or
        # is applied by RPC after it, never lost in between.
        async with self._lock:
            if self.process.adopted:
                await self._reconcile_adopted()
            await self._push_state_locked()
            if self._guard is not None and (pid := self.process.pid) is not None:
                await self._guard.ensure(pid)
            self.process.ready.set()

    async def _reconcile_adopted(self) -> None:
        """Bring an adopted edge's dispatcher set and trunk list to ours, by RPC:
        `dispatcher.reload` would reset the call-load counters of the calls up now."""
        assert self._template is not None
        rendered = render(self.settings, self._template)
        write_atomic(self._settings.dispatcher_path, rendered.dispatcher_list)
        write_atomic(self._settings.address_path, rendered.address_list)
        await self.rpc.address_reload()
        running = parse_dispatcher_list(await self.rpc.dispatcher_list(), WORKER_SET)
        for worker in self._workers.values():
            old = running.pop(worker.id, None)
            if old is not None and (old.uri, old.maxload) == (worker.uri, worker.maxload):
                continue
            if old is not None:
                await self.rpc.dispatcher_remove(WORKER_SET, old.uri)
            await self.rpc.dispatcher_add(WORKER_SET, worker.uri, worker.attrs)
        for old in running.values():
            await self.rpc.dispatcher_remove(WORKER_SET, old.uri)

    async def _push_state_locked(self) -> None:
        for user, ha1 in list(self._ha1.items()):
            await self.rpc.htable_sets(AGENTS_TABLE, user, ha1)
        for worker_id, state in list(self._worker_states.items()):
            worker = self._workers.get(worker_id)
            if worker is not None:
                await self.rpc.dispatcher_set_state(STATE_CODES[state], WORKER_SET, worker.uri)
        if self._ha1 or self._worker_states:
            log.info(
                "pushed %d credentials, %d worker states to Kamailio",
                len(self._ha1),
                len(self._worker_states),
            )

    async def _apply(self, what: str, coro_factory: Callable[[], Awaitable[None]]) -> None:
        """Run an RPC if Kamailio is up; if it is (re)starting, the restart applies it."""
        if not self.process.ready.is_set():
            log.info("edge not ready: %s deferred to the next start", what)
            return
        try:
            await coro_factory()
        except EdgeUnavailable as exc:
            if self.process.ready.is_set():
                raise
            log.warning("edge went down during %s (%s); it will be re-applied", what, exc)

    # -- agents --------------------------------------------------------------------

    async def set_agent_credentials(self, user: str, password: str) -> None:
        check_token("user", user)
        if not isinstance(password, str) or not password:
            raise EdgeConfigError(f"password for {user!r} must be a non-empty string")
        ha1 = digest_ha1(user, self._settings.auth_realm, password)
        async with self._lock:
            self._ha1[user] = ha1
            await self._apply(
                f"credentials of {user}",
                lambda: self.rpc.htable_sets(AGENTS_TABLE, user, ha1),
            )

    async def remove_agent(self, user: str) -> None:
        check_token("user", user)
        async with self._lock:
            self._ha1.pop(user, None)

            async def drop() -> None:
                await self.rpc.htable_delete(AGENTS_TABLE, user)
                await self.rpc.ul_rm(user)

            await self._apply(f"removal of {user}", drop)

    async def registered_contacts(self, user: str) -> list[Contact]:
        check_token("user", user)
        return parse_ul_lookup(await self.rpc.ul_lookup(user))

    async def registered_users(self) -> set[str]:
        """Users with at least one registered contact: one RPC, whatever their number."""
        return parse_ul_dump(await self.rpc.ul_dump_brief())

    # -- workers -------------------------------------------------------------------

    async def add_worker(self, worker_id: str, host: str, port: int, maxload: int) -> None:
        worker = WorkerDestination(id=worker_id, host=host, port=port, maxload=maxload)
        async with self._lock:
            for other in self._workers.values():
                if other.id != worker_id and (other.host, other.port) == (host, port):
                    raise EdgeConfigError(f"worker {worker_id}: {worker.uri} is {other.id}'s")
            old = self._workers.get(worker_id)
            if old == worker:
                return
            self._workers[worker_id] = worker
            self._worker_states.pop(worker_id, None)

            async def replace() -> None:
                if old is not None:
                    await self.rpc.dispatcher_remove(WORKER_SET, old.uri)
                await self.rpc.dispatcher_add(WORKER_SET, worker.uri, worker.attrs)

            await self._apply(f"add worker {worker_id}", replace)

    async def remove_worker(self, worker_id: str) -> None:
        async with self._lock:
            worker = self._workers.pop(worker_id, None)
            self._worker_states.pop(worker_id, None)
            if worker is None:
                return
            await self._apply(
                f"remove worker {worker_id}",
                lambda: self.rpc.dispatcher_remove(WORKER_SET, worker.uri),
            )

    async def set_worker_state(self, worker_id: str, state: str) -> None:
        """active | inactive (probed; comes back by itself on a good ping) | draining."""
        if state not in STATE_CODES:
            raise EdgeConfigError(f"worker state {state!r} not one of {sorted(STATE_CODES)}")
        async with self._lock:
            worker = self._workers.get(worker_id)
            if worker is None:
                raise EdgeConfigError(f"unknown worker {worker_id!r}")
            if state == "draining":
                self._worker_states[worker_id] = state
            else:
                self._worker_states.pop(worker_id, None)
            await self._apply(
                f"worker {worker_id} -> {state}",
                lambda: self.rpc.dispatcher_set_state(STATE_CODES[state], WORKER_SET, worker.uri),
            )

    async def worker_states(self) -> dict[str, WorkerStatus]:
        return parse_dispatcher_list(await self.rpc.dispatcher_list(), WORKER_SET)

    async def end_worker_dialogs(self, worker_id: str) -> int:
        """End every confirmed dialog that involved `worker_id`; return how many were ended.

        For a worker that died without a BYE: the edge sends BYE to both sides of each of
        its dialogs (the carrier for a caller leg, the softphone for an agent leg; the BYE
        to the dead worker itself goes nowhere and times out). Dialogs still ringing are
        skipped (logged): tm's timers end those. Never raises for an unavailable edge:
        while Kamailio is (re)starting it has no dialogs to end, and 0 is returned.
        """
        check_token("worker_id", worker_id)
        if not self.process.ready.is_set():
            log.warning("edge not ready: no dialogs of worker %s to end", worker_id)
            return 0
        try:
            dialogs = parse_dialogs(await self.rpc.dlg_profile_list(WORKER_PROFILE, worker_id))
        except EdgeUnavailable as exc:
            log.warning("cannot list the dialogs of worker %s: %s", worker_id, exc)
            return 0
        ended = 0
        for dialog in dialogs:
            if not dialog.confirmed:
                log.info(
                    "dialog %s of worker %s not confirmed (state %d): left to tm's timers",
                    printable(dialog.call_id), worker_id, dialog.state,
                )  # fmt: skip
                continue
            try:
                await self.rpc.dlg_end(dialog.h_entry, dialog.h_id)
            except EdgeRpcError as exc:
                # ended in between (a BYE crossed us), or no longer confirmed
                log.info("dialog %s of worker %s not ended: %s", printable(dialog.call_id), worker_id,
                         printable(exc))  # fmt: skip
                continue
            except EdgeUnavailable as exc:
                log.warning("edge went away while ending worker %s's dialogs: %s", worker_id, exc)
                break
            ended += 1
        if dialogs:
            log.info("ended %d of %d dialogs of worker %s", ended, len(dialogs), worker_id)
        return ended

    # -- trunk allow-list ----------------------------------------------------------

    async def set_trunk_sources(self, sources: tuple[TrunkSource, ...]) -> None:
        sources = tuple(sources)
        for source in sources:
            if not isinstance(source, TrunkSource):
                raise EdgeConfigError(f"trunk source {source!r} is not a TrunkSource")
        async with self._lock:
            self._trunks = sources
            if self.process.ready.is_set():
                self._prepare_address_list()
                await self._apply("trunk allow-list", self.rpc.address_reload)

    def _prepare_address_list(self) -> None:
        assert self._template is not None
        rendered = render(self.settings, self._template)
        write_atomic(self._settings.address_path, rendered.address_list)

    # -- health --------------------------------------------------------------------

    async def health(self) -> EdgeHealth:
        workers: dict[str, WorkerStatus] = {}
        error = self.process.last_error
        if self.process.ready.is_set():
            try:
                workers = await self.worker_states()
            except EdgeUnavailable as exc:
                error = str(exc)
        return EdgeHealth(
            running=self.process.ready.is_set(),
            pid=self.process.pid,
            restarts=self.process.restarts,
            uptime_s=self.process.uptime_s,
            workers_active=sum(1 for w in workers.values() if w.state == "active"),
            workers_total=len(self._workers),
            last_error=error,
        )

    @property
    def rundir(self) -> Path:
        return self._settings.rundir


__all__ = ["TRUNK_GROUP", "WORKER_SET", "EdgeManager"]
