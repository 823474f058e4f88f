"""A rig for the call flow: the real switchboard, ACD engine, routing table, driver and
SQLite store, a stepped clock, and a fake worker pool that records the commands it is
sent and answers them at once (or refuses those a test tells it to)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import pytest

from acd import events as ev
from acd.engine import Engine
from acd.model import AgentConfig, QueueConfig, TerminalAction, TerminalTarget
from gateway.control.announcements import PromptSet
from gateway.control.driver import CallDriver
from gateway.control.flow_settings import FlowSettings
from gateway.control.session import CallSession
from gateway.control.switchboard import Switchboard
from gateway.ipc import protocol as p
from gateway.ipc.errors import WorkerError
from gateway.metrics import Metrics
from gateway.store.cdr import CdrStore
from gateway.store.engine import Database
from gateway.store.migrate import migrate
from gateway.store.outbox import OutboxStore
from gateway.store.records import CallRecord
from routing import build_routing_table
from tests.support.clock import ManualClock

PROMPTS = Path(__file__).resolve().parents[3] / "config" / "prompts"
C = TypeVar("C")


class FakePool:
    def __init__(self) -> None:
        self.sent: list[tuple[str, p.Command]] = []
        self.refuse: dict[type, WorkerError] = {}

    async def command(
        self, worker_id: str, cmd: p.Command, timeout: float | None = None
    ) -> dict[str, object]:
        self.sent.append((worker_id, cmd))
        if type(cmd) in self.refuse:
            raise self.refuse[type(cmd)]
        return {}

    def of(self, kind: type[C]) -> list[C]:
        return [c for _, c in self.sent if isinstance(c, kind)]


class Rig:
    def __init__(
        self, *, board: Switchboard, driver: CallDriver, pool: FakePool, cdr: CdrStore,
        clock: ManualClock, metrics: Metrics, tmp: Path, outbox: OutboxStore,
    ) -> None:  # fmt: skip
        self.board, self.driver, self.pool, self.cdr = board, driver, pool, cdr
        self.outbox = outbox
        self.clock, self.metrics, self.tmp = clock, metrics, tmp
        self.engine = board.engine

    def step(self, seconds: float) -> None:
        """Advance the clock; the driver's timer fires what is due (no sleeping)."""
        self.clock.advance(seconds)

    async def settle(self) -> None:
        for _ in range(3):
            await self.driver.settled()
            await asyncio.sleep(0)

    def event(self, e: p.Event, worker: str = "w1") -> None:
        self.driver.on_worker_event(worker, e)

    def leg(self, leg: str, state: p.LegState, code: int = 200) -> None:
        self.event(p.LegStateChanged(leg=leg, state=state, code=code))

    def incoming(
        self, did: str, leg: str = "w1-in-1", worker: str = "w1", *, confirm: bool = True
    ) -> None:
        """An INVITE; `confirm`: the caller's ACK follows the answer (as it normally does)."""
        self.event(
            p.IncomingCall(
                leg=leg, call_id=f"sip-{leg}", request_uri=f"sip:{did}@edge",
                from_uri="sip:+15551230000@carrier", to_uri=f"sip:{did}@edge",
                source="127.0.0.1:5070",
            ),
            worker,
        )  # fmt: skip
        if confirm:
            self.leg(leg, p.LegState.CONFIRMED)

    def session(self) -> CallSession:
        (s,) = list(self.board.calls.sessions())
        return s

    async def record(self, call_id: str) -> CallRecord:
        row = await self.cdr.get_call(uuid.UUID(call_id))
        assert row is not None
        return row

    def calls_counted(self, disposition: str) -> float:
        total = 0.0
        for metric in self.metrics.calls.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels["disposition"] == disposition:
                    total += sample.value
        return total

    def login(self, agent: str = "alice") -> None:
        self.driver.feed(ev.AgentLogin(agent))


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await migrate(url)
    db = Database.open(url)
    table = build_routing_table({
        "region": "US",
        "dids": [{"number": "+15550100100", "queue": "sales"},
                 {"number": "+15550100200", "queue": "empty"},
                 {"number": "+15550100300", "queue": "messages"}],
        "default_route": {"announcement": "not_in_service"},
        "queues": {"sales": {}, "empty": {}, "messages": {}},
    })  # fmt: skip
    settings = FlowSettings(
        domain="gw.test", edge_proxy="sip:127.0.0.1:5060;lr", recordings_dir=tmp_path / "rec",
        voicemail_max_seconds=30.0, finalize_timeout=15.0,
    )  # fmt: skip
    board = Switchboard(
        engine=Engine(), settings=settings, prompts=PromptSet(PROMPTS, tmp_path / "cache"),
        routing=lambda: table,
    )  # fmt: skip
    clock, pool, cdr, metrics = ManualClock(), FakePool(), CdrStore(db), Metrics()
    outbox = OutboxStore(db)
    driver = CallDriver(board, pool=pool, cdr=cdr, outbox=outbox, metrics=metrics, clock=clock)
    driver.feed(ev.AddQueue(QueueConfig("sales", offer_timeout=10, wrap_up=5)))
    driver.feed(
        ev.AddQueue(
            QueueConfig("empty", max_wait=60, announce_every=20,
                        overflow=TerminalTarget(TerminalAction.ANNOUNCE_HANGUP, "all_busy"))
        )
    )  # fmt: skip
    driver.feed(
        ev.AddQueue(
            QueueConfig("messages", max_wait=5,
                        overflow=TerminalTarget(TerminalAction.VOICEMAIL, "box"))
        )
    )  # fmt: skip
    driver.feed(ev.AddAgent(AgentConfig("alice", queues=("sales",))))
    yield Rig(board=board, driver=driver, pool=pool, cdr=cdr, clock=clock, metrics=metrics,
              tmp=tmp_path, outbox=outbox)  # fmt: skip
    driver.close()
    await db.close()


def answered_call(rig: Rig) -> tuple[CallSession, p.Dial]:
    """A sales call answered by alice (call it after `rig.login()` and `incoming`)."""
    s = rig.session()
    (dial,) = rig.pool.of(p.Dial)
    assert dial.leg is not None
    rig.leg(dial.leg, p.LegState.CONFIRMED)
    return s, dial
