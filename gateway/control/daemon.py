"""The control plane process: wires every component and runs until told to stop.

Start order: database (migrations, routing version) -> events (embedded mosquitto,
outbox publisher) -> Kamailio edge -> ACD engine ->
worker pool -> agent credentials, presence, trunk registrations -> metrics -> API.
Stop (SIGTERM/SIGINT): presence stops, the pool drains (calls may end within the grace
period, then are hung up), trunks unregister, then the API, the edge and the database
close. The process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Awaitable
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn

from acd import events as ev
from acd.engine import Engine
from gateway.api.app import create_app
from gateway.api.v1.desktop import DesktopState
from gateway.api.v1.qa import QaState
from gateway.auth import Authenticator
from gateway.control import adoption, build, preflight
from gateway.control.alerts import AlertTracker
from gateway.control.announcements import PromptSet
from gateway.control.api_facade import ApiFacade
from gateway.control.clock import LoopClock
from gateway.control.desktop import DesktopControl
from gateway.control.driver import CallDriver
from gateway.control.event_writer import EventWriter
from gateway.control.hold_service import InCallService
from gateway.control.live_config import LiveConfig
from gateway.control.observer import Observer
from gateway.control.presence import Presence
from gateway.control.queue_login import EngineMembership
from gateway.control.recording import RecordingFinalizer
from gateway.control.recording_alarm import RecordingAlarm
from gateway.control.retention import run_retention
from gateway.control.routing_admin import RoutingAdmin
from gateway.control.switchboard import Switchboard
from gateway.control.transfer import TransferSettings
from gateway.control.transfer_service import TransferService
from gateway.control.trunks import TrunkRegistration, Trunks
from gateway.edge.manager import EdgeManager
from gateway.events import catalogue as ce
from gateway.events.service import EventsService
from gateway.ipc import protocol as p
from gateway.metrics import Metrics
from gateway.settings import Settings
from gateway.store.cdr import CdrStore
from gateway.store.engine import Database
from gateway.store.evaluations import EvaluationStore
from gateway.store.migrate import migrate
from gateway.store.outbox import OutboxStore
from gateway.store.routing_repo import RoutingRepository
from gateway.store.search import CallSearch
from gateway.store.stats import StatsStore
from gateway.store.wrapup import WrapupStore
from gateway.store.write_behind import WriteBehind, WriteBehindOutbox
from gateway.supervisor import fleet
from gateway.supervisor.config import PoolEvent, WorkerDown, WorkerUp
from gateway.supervisor.heartbeat import FILE_NAME as HEARTBEAT_FILE
from gateway.supervisor.heartbeat import Heartbeat
from gateway.supervisor.pool import WorkerPool
from routing import build_routing_table

log = logging.getLogger("gateway")


class ControlPlane:
    def __init__(
        self, settings: Settings, *, config_source: str = "yaml", drain_grace: float = 10.0
    ) -> None:
        assert settings.prompt_dir is not None  # resolved by the loader
        self.settings = settings
        self._source = config_source
        self._prompt_dir = settings.prompt_dir
        self._drain_grace = drain_grace
        self._stopping = asyncio.Event()
        self._api_server: uvicorn.Server | None = None
        self._api_task: asyncio.Task[None] | None = None
        self.events_service: EventsService | None = None

    # ------------------------------------------------------------------ start
    async def start(self) -> None:
        s, loop = self.settings, asyncio.get_running_loop()
        self.edge = EdgeManager(build.edge_settings(s))  # an edge we adopt holds its port
        skip = set() if self.edge.inherited() is None else {preflight.EDGE_SIP}
        fleet_file = build.run_dir(s) / fleet.FILE_NAME  # workers of a dead control plane
        skip |= preflight.adopted_workers(fleet.adoptable(fleet.read(fleet_file), os.getpid()))
        preflight.check_ports(s, skip=skip)  # first: a taken port stops us before we touch anything
        rundir = build.run_dir(s)
        for path in (s.data_dir, rundir, s.recordings.directory, rundir / "logs"):
            Path(path).mkdir(parents=True, exist_ok=True)
        self.heartbeat = Heartbeat(rundir / HEARTBEAT_FILE)  # watched by the edge's guard
        self.heartbeat.start()

        assert s.database.url is not None  # the loader fills in the SQLite default
        await migrate(s.database.url)
        self.db = Database.open(s.database.url)
        version, routing = await RoutingRepository(self.db).apply_if_source_changed(
            s.routing, source=self._source
        )
        if routing is not s.routing:  # changed since the file was last applied: keep that
            log.info("routing: the file is unchanged since its last apply; running version "
                     "%s from the database", version.version)  # fmt: skip
            s = self.settings = s.model_copy(update={"routing": routing})
        log.info("routing configuration version %s", version.version)
        self.cdr = CdrStore(self.db)
        self.metrics = Metrics()
        self.events_service = EventsService.from_settings(s, self.db, self.metrics)
        await self.events_service.start()  # broker, then the publisher (it catches up)
        self.writes = WriteBehind(
            self.db, directory=Path(s.data_dir) / "write-behind", max_batch=s.database.write_batch,
            on_committed=self.events_service.committed, on_retry=self.metrics.db_write_retried,
            on_dead_letter=self.metrics.db_write_dead_lettered,
        )  # fmt: skip
        self.events_service.attach(self.writes)  # events from memory, marked in its batches
        self.metrics.watch_db_writes(self.writes.pending, self.writes.oldest_pending_seconds)
        if replayed := await self.writes.start():  # a previous run's writes go in first
            log.warning("replaying %d record writes left by the previous run", replayed)
        routing_table = build_routing_table(s.routing.routing_data())

        await self.edge.start()
        log.info("edge listening on %s", build.edge_uri(s))

        clock = LoopClock(loop)
        engine = Engine(build.engine_settings(s))
        for queue in build.queue_configs(s):
            engine.handle(ev.AddQueue(queue), clock.now().mono)
        for agent in build.agent_configs(s):
            engine.handle(ev.AddAgent(agent), clock.now().mono)
        board = Switchboard(
            engine=engine,
            settings=build.flow_settings(s),
            prompts=PromptSet(self._prompt_dir, rundir / "announcements"),
            routing=lambda: self.live.table,  # swapped by LiveConfig on a new version
            transfers=TransferSettings.from_trunks({t.name: t.registrar for t in s.trunks}),
        )
        # The pool reports to self._on_pool_event, which hands call events to self.calls:
        # both exist before the pool starts, so no event can arrive earlier.
        self.pool = WorkerPool(build.pool_config(s, rundir / "logs"), on_event=self._on_pool_event)
        outbox = OutboxStore(self.db)
        # platform events through the write-behind: published from memory, no read-back
        self.events = EventWriter(WriteBehindOutbox(self.db, self.writes), clock)
        self.recording_alarm = RecordingAlarm(
            cdr=self.cdr, outbox=outbox, metrics=self.metrics, clock=clock,
            events_written=self._events_written,
        )  # fmt: skip
        self.finalizer = RecordingFinalizer(  # stereo mix and checksums in other processes
            processes=s.recordings.finisher_processes, encoding=s.recordings.format,
            on_failure=self.recording_alarm.raised,
        )  # fmt: skip
        await self.finalizer.start()
        self.calls = CallDriver(
            board,
            pool=self.pool,
            cdr=self.cdr,
            outbox=outbox,
            metrics=self.metrics,
            clock=clock,
            make_stereo=s.recordings.stereo,
            finalizer=self.finalizer,
            events_written=self._events_written,
            writes=self.writes,
        )
        self.trunks = Trunks(
            self.pool,
            self.metrics,
            [TrunkRegistration(name, reg) for name, reg in build.trunk_registers(s)],
            clock=clock,
            events=self.events,
        )
        self.presence = Presence(
            self.calls, {u: True for u in s.routing.agents}, self._registered_users
        )
        self.live = LiveConfig(s, version.version, routing_table, repo=RoutingRepository(self.db), calls=self.calls, edge=self.edge, presence=self.presence, metrics=self.metrics)  # fmt: skip
        self.observer = Observer(
            engine=engine,
            clock=clock,
            metrics=self.metrics,
            pool=self.pool,
            edge=self.edge,
            db=self.db,
            callers_per_worker=s.workers.callers_per_worker,
            kpi_window=s.acd.kpi_window,
            # thresholds of the running routing version: edits apply live
            alerts=AlertTracker(
                lambda: build.alert_rules(build.with_routing(s, self.live.routing))
            ),
            events=self.events,
        )

        last_states = await self._last_agent_states(clock.now().wall)  # the old plane's
        await self.pool.start()
        log.info("%d workers up", len(self.pool.workers()))
        if self.pool.adopted:  # agents paused before the loss stay paused (adoption.py)
            views = {a: engine.agent(a).state for a in engine.agent_ids()}
            for event in adoption.restored_agents(last_states, views):
                self.calls.feed(event)
            logged_out = {a for a, (state, _) in last_states.items() if state == "logged-out"}
            try:
                registered = await self._registered_users(list(s.routing.agents))
            except Exception as exc:  # noqa: BLE001 - the edge's RPC: presence decides then
                log.warning("registrations not read after adoption: %s", exc)
                registered = set()
            if kept := self.presence.keep_logged_out(logged_out, registered):
                log.info("agents logged out before the restart stay out: %s", sorted(kept))
        board.callbacks.workers = lambda: [w.worker_id for w in self.pool.workers()
                                           if w.state == "up"]  # fmt: skip
        pending = await self.calls.callbacks.active(clock.now().wall)  # docs/callback.md
        if placed := self.calls.act(lambda: board.callbacks.restore(pending)):
            log.info("%d pending callbacks back at their place in line", placed)
        for user, account in s.routing.agents.items():
            await self.edge.set_agent_credentials(user, account.password.get_secret_value())
        self.presence.start()
        self.live.start()  # polls the database for new routing versions
        await self.trunks.start()
        self.observer.start()
        self._retention = loop.create_task(
            run_retention(s.recordings.directory, s.recordings.retention_days)
        )
        if not s.mqtt.enabled:
            log.info("mqtt.enabled is false: events are kept for GET /events, not published")

        self.facade = ApiFacade(
            engine=engine,
            clock=clock,
            presence=self.presence,
            pool=self.pool,
            trunks=self.trunks,
            calls=board.calls,
            cdr=self.cdr,
            metrics=self.metrics,
            observer=self.observer,
            agent_names=self.live.agent_names,  # kept current by LiveConfig
            callers_per_worker=s.workers.callers_per_worker,
            kpi_window=s.acd.kpi_window,
            events=self.events_service,
            agent_since=board.agent_since,
            writes=self.writes,
            writes_degraded_after=s.database.pending_writes_degraded_after,
            recordings=self.finalizer,
        )
        token = s.api.admin_token.get_secret_value() if s.api.admin_token else None
        auth = Authenticator(self.db, admin_token=token)  # users and audit in the database
        await auth.announce()  # warns if the API is open (no users, no admin_token)
        app = create_app(
            self.facade, events=self.events_service.replay, auth=auth,
            search=CallSearch(self.db), stats=StatsStore(self.db),
        )  # fmt: skip
        membership = EngineMembership(self.calls)  # per-queue login: agent state
        app.state.routing_admin = RoutingAdmin(RoutingRepository(self.db), membership)
        app.state.qa = QaState(EvaluationStore(self.db), s.qa.agent_recordings)  # docs/qa.md
        app.state.transfers = TransferService(self.calls)  # docs/transfer.md
        app.state.incall = InCallService(self.calls, lambda: self.live.agent_names)
        app.state.callbacks = self.calls  # cancel/reschedule go to the desk (docs/callback.md)
        desk = DesktopControl(self.calls, self.presence, lambda: self.live.routing)
        app.state.desktop = DesktopState(desk, WrapupStore(self.db))  # docs/desktop.md
        self._api_server = uvicorn.Server(
            uvicorn.Config(
                app, host=s.api.host, port=s.api.port, log_level="warning", lifespan="off"
            )
        )
        self._api_task = loop.create_task(self._api_server.serve())
        await self.observer.sample()
        # Everything loaded so far lives as long as the process: keep it out of the
        # collector's generations (full collections drop from ~48 ms to ~18 ms).
        gc.freeze()
        self.facade.phase = "running"
        log.info("contactgw running: API on http://%s:%d", s.api.host, s.api.port)

    # ------------------------------------------------------------------ events
    def _on_pool_event(self, pe: PoolEvent) -> None:
        event = pe.event
        match event:
            case WorkerUp():
                self.events.emit(ce.WorkerUp(pe.worker_id, event.pid))
                asyncio.get_running_loop().create_task(self._worker_state(pe.worker_id, "active"))
            case WorkerDown():
                expected = self._stopping.is_set() and event.exit_code == 0
                log.log(logging.INFO if expected else logging.WARNING, "worker %s down (exit %s)",
                        pe.worker_id, event.exit_code)  # fmt: skip
                self.events.emit(ce.WorkerDown(pe.worker_id, event.exit_code, len(event.legs)))
                asyncio.get_running_loop().create_task(self._worker_lost(pe.worker_id))
            case p.RegistrationState():
                self.trunks.on_registration_state(event)
            case _:  # the call events; the switchboard ignores capacity reports
                self.calls.on_worker_event(pe.worker_id, event)

    def _events_written(self) -> None:
        """New rows in the outbox: wake the publisher (it also polls)."""
        if self.events_service is not None:
            self.events_service.notify()

    async def _worker_lost(self, worker_id: str) -> None:
        """Stop sending calls to it, and end its dialogs at the edge: the carrier and the
        agents' phones get a BYE instead of hanging on to a call nobody carries."""
        await self._worker_state(worker_id, "inactive")
        if self._stopping.is_set():
            return
        try:
            ended = await self.edge.end_worker_dialogs(worker_id)
            log.warning("ended %d dialogs of lost worker %s", ended, worker_id)
        except Exception as exc:  # noqa: BLE001 - logged; a worker loss must not stop us
            log.error("could not end the dialogs of worker %s: %s", worker_id, exc)

    async def _worker_state(self, worker_id: str, state: str) -> None:
        with contextlib.suppress(Exception):
            await self.edge.set_worker_state(worker_id, state)

    async def _last_agent_states(self, now: datetime) -> dict[str, tuple[str, str | None]]:
        """Each agent's last state row of the past day (agent -> (state, reason))."""
        last: dict[str, tuple[str, str | None]] = {}
        for agent in self.settings.routing.agents:
            rows = await self.cdr.agent_states(agent, since=now - timedelta(days=1))
            if rows:
                last[agent] = (rows[-1].state, rows[-1].reason)
        return last

    async def _registered_users(self, users: list[str]) -> set[str]:
        return await self.edge.registered_users() & set(users)

    # ------------------------------------------------------------------ run / stop
    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        await self._stopping.wait()
        await self.stop()

    async def stop(self) -> None:
        """Each step is bounded: one that hangs is logged and skipped, never blocks exit."""
        log.info("stopping: draining calls (grace %.0f s)", self._drain_grace)
        self.facade.phase = "stopping"
        await self._step("live config", self.live.stop(), 5)
        await self._step("presence", self.presence.stop(), 5)
        await self._step(
            "drain workers at the edge",
            asyncio.gather(
                *(self._worker_state(w, "draining") for w in build.worker_ids(self.settings))
            ),
            5,
        )
        await self._step("trunk unregistration", self.trunks.stop(), 10)
        await self._step("worker drain", self.pool.drain(self._drain_grace), self._drain_grace + 15)
        await self._step("worker pool", self.pool.stop(), 20)
        await self._step("metrics", self.observer.stop(), 5)
        self._retention.cancel()
        self.calls.close()
        await self._step("call records", self.calls.settled(), 10)
        # after the calls' closes: jobs still running finish, none is dropped
        await self._step("recording finalizer", self.finalizer.close(), 120)
        await self._step("recording failures", self.recording_alarm.settled(), 10)
        # bounded: what is still pending stays in the journal for the next start
        await self._step("pending writes", self.writes.close(timeout=5), 10)
        await self._step("platform events", self.events.settled(), 5)
        if self.events_service is not None:  # after the last writes: it sends what it can
            await self._step("events publisher", self.events_service.stop(), 10)
        if self._api_server is not None:
            self._api_server.should_exit = True
            if self._api_task is not None:
                await self._step("API", asyncio.gather(self._api_task, return_exceptions=True), 10)
        await self._step("edge", self.edge.stop(), 15)
        await self._step("heartbeat", self.heartbeat.stop(), 5)
        await self._step("database", self.db.close(), 10)
        log.info("stopped")

    async def _step(self, what: str, awaitable: Awaitable[object], timeout: float) -> None:
        started = asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(awaitable, timeout)
        except TimeoutError:
            log.error("stopping: %s did not finish within %.0f s; going on", what, timeout)
        except Exception:
            log.exception("stopping: %s failed; going on", what)
        else:
            took = asyncio.get_running_loop().time() - started
            log.log(
                logging.INFO if took > 1 else logging.DEBUG,
                "stopping: %s done in %.1f s",
                what,
                took,
            )
