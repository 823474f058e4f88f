"""The wallboard API in process: the JSON snapshot, the SSE stream driven through the
ASGI interface itself (events on change only, heartbeats, `retry:`, a disconnect ends
the generator and stops the sampler, shutdown ends every stream), the per-client
queue bounded for a slow client, today's SL from real call records, and who may look."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from gateway.api.app import ControlPlaneApi, create_app
from gateway.api.v1.wallboard_feed import QUEUE_SIZE, TodayCounts, WallboardFeed
from gateway.api.views import DayCount, Health, KpiTile, Wallboard, WorkersHealth
from gateway.auth import Authenticator, UserAdmin
from gateway.auth.permissions import Permission, Role, refusal
from gateway.store import CdrStore, Database, migrate
from gateway.store.stats import StatsStore
from tests.integration.api_auth.conftest import sample_wallboard
from tests.unit.api.rows import add_call, add_queue, at

TOKEN = "t0k"


@dataclass
class Control:
    """A control plane whose board the test changes; `stopping` as at shutdown."""

    waiting: int = 0
    status: str = "ok"
    tick: float = 0.0  # a ticking field: must not count as a change
    todays: list[dict[str, DayCount] | None] = field(default_factory=list)

    def health(self) -> Health:
        return Health(self.status, True, True, WorkersHealth(1, 1, 0, 2))

    def wallboard(self, today: dict[str, DayCount] | None = None) -> Wallboard:
        self.todays.append(today)
        board = sample_wallboard(today)
        (q,) = board.queues
        level = "critical" if self.waiting >= 2 else "normal"
        kpis = dict(q.kpis, waiting=KpiTile(float(self.waiting), level, 1, 2))
        queue = replace(q, waiting=self.waiting, longest_wait_seconds=self.tick, kpis=kpis)
        return replace(board, at=f"2026-12-01T12:00:{self.tick:06.3f}+00:00", queues=[queue])


def app_for(control: Control, **feed: float) -> Any:
    app = create_app(cast(ControlPlaneApi, control), TOKEN)
    wallboard: WallboardFeed = app.state.wallboard
    for name, value in feed.items():
        setattr(wallboard, name, value)
    return app


class Stream:
    """One GET through the ASGI interface: the body as it is sent, and a disconnect."""

    def __init__(self, app: Any, path: str, token: str = TOKEN) -> None:
        self.chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self._asked = False
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
            "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"test"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 5000), "server": ("test", 80),
        }  # fmt: skip
        self.task = asyncio.get_running_loop().create_task(app(scope, self._receive, self._send))
        self._buffer = ""

    async def _receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            await self.chunks.put(message.get("body", b""))
            if not message.get("more_body", False):
                await self.chunks.put(None)

    async def block(self, timeout: float = 3.0) -> str | None:
        """The next SSE block (up to a blank line); None: the response ended."""
        while "\n\n" not in self._buffer:
            chunk = await asyncio.wait_for(self.chunks.get(), timeout)
            if chunk is None:
                return None
            self._buffer += chunk.decode()
        block, self._buffer = self._buffer.split("\n\n", 1)
        return block

    async def event(self, timeout: float = 3.0) -> tuple[str, dict[str, Any]]:
        """The next `event:`, skipping comments; (id, data)."""
        while True:
            block = await self.block(timeout)
            assert block is not None, "the stream ended"
            if block.startswith((":", "retry:")):
                continue
            lines = dict(line.split(": ", 1) for line in block.split("\n"))
            assert lines["event"] == "wallboard"
            return lines["id"], json.loads(lines["data"])

    async def close(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, 2.0)


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, Control]]:
    control = Control(waiting=1)
    transport = httpx.ASGITransport(app=app_for(control))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c, control


async def test_the_snapshot_is_the_control_planes_board(
    client: tuple[httpx.AsyncClient, Control],
) -> None:
    c, _ = client
    r = await c.get("/api/v1/wallboard", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    (queue,) = r.json()["queues"]
    assert queue["waiting"] == 1 and queue["kpis"]["waiting"] == {
        "value": 1.0, "level": "normal", "warning": 1, "critical": 2,
    }  # fmt: skip
    assert queue["answered_today"] is None  # no call records store
    assert r.json()["agents"][0]["state"] == "available"
    assert (await c.get("/api/v1/wallboard")).status_code == 401


async def test_stream_sends_a_board_on_each_change_only_and_heartbeats_between() -> None:
    control = Control()
    app = app_for(control, interval=0.02, heartbeat=0.3)
    stream = Stream(app, "/api/v1/wallboard/stream")
    assert await stream.block() == "retry: 3000"
    first_id, board = await stream.event()
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert board["queues"][0]["waiting"] == 0
    control.tick = 5.0  # only a ticking field moved: nothing to send, a heartbeat comes
    assert await stream.block() == ": heartbeat"
    control.waiting = 2
    next_id, board = await stream.event()
    assert int(next_id) == int(first_id) + 1
    assert board["queues"][0]["kpis"]["waiting"]["level"] == "critical"
    assert board["queues"][0]["longest_wait_seconds"] == 5.0  # the board is the current one
    feed: WallboardFeed = app.state.wallboard
    assert (feed.subscribers, feed.running) == (1, True)
    await stream.close()  # the client goes: the generator ends, the sampler stops
    assert (feed.subscribers, feed.running) == (0, False)
    samples = feed.samples
    await asyncio.sleep(0.1)
    assert feed.samples == samples  # nobody listens: no sampling


async def test_two_clients_share_one_sampler_and_a_late_one_gets_the_board_at_once() -> None:
    control = Control(waiting=3)
    app = app_for(control, interval=0.05)
    one = Stream(app, "/api/v1/wallboard/stream")
    await one.event()
    two = Stream(app, "/api/v1/wallboard/stream")
    _, board = await two.event(timeout=0.04)  # before the next sample: the current board
    assert board["queues"][0]["waiting"] == 3
    feed: WallboardFeed = app.state.wallboard
    before = len(control.todays)
    await asyncio.sleep(0.5)
    assert len(control.todays) - before <= 12  # ~10 samples in 0.5 s, not one per client
    assert feed.subscribers == 2
    await one.close()
    await two.close()


async def test_shutdown_ends_every_stream_and_a_new_one_at_once() -> None:
    control = Control()
    app = app_for(control, interval=0.02)
    stream = Stream(app, "/api/v1/wallboard/stream")
    await stream.event()
    control.status = "stopping"  # what the daemon sets first when it stops
    while (block := await stream.block()) is not None:
        assert block.startswith((":", "id:"))
    await asyncio.wait_for(stream.task, 1.0)  # ended by the server, no disconnect needed
    late = Stream(app, "/api/v1/wallboard/stream")
    assert await late.block() == "retry: 3000"
    assert await late.block() is None
    await asyncio.wait_for(late.task, 1.0)


async def test_a_slow_client_holds_a_bounded_queue_and_reads_the_latest_board() -> None:
    control = Control()
    feed = WallboardFeed(cast(Any, control), None, interval=0.001)

    changing = control.wallboard

    def every_sample_differs(today: dict[str, DayCount] | None = None) -> Wallboard:
        control.waiting += 1
        return changing(today)

    control.wallboard = every_sample_differs  # type: ignore[method-assign]
    sub = feed.subscribe()  # and never read while the board changes 100+ times
    while feed.samples < 100:
        await asyncio.sleep(0.01)
    assert len(sub) <= QUEUE_SIZE and sub.dropped >= 100 - QUEUE_SIZE
    items = [await sub.next(0.1) for _ in range(len(sub))]
    seqs = [item[0] for item in items if isinstance(item, tuple)]
    assert seqs == sorted(seqs) and len(seqs) == len(items)
    assert seqs[-1] >= feed.samples - 2  # the newest is there: only older ones were dropped
    feed.unsubscribe(sub)
    assert not feed.running


async def test_today_counts_come_from_the_call_records_of_the_utc_day(tmp_path: Path) -> None:
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}")
    await migrate(db.engine)
    cdr = CdrStore(db)
    await add_queue(db, "sales", sl_threshold=20.0, short_abandon=5.0)
    await add_call(cdr, at(9), answered=10.0, agent="alice")  # within 20 s
    await add_call(cdr, at(10), answered=30.0, agent="alice")  # outside
    await add_call(cdr, at(11), answered=5.0, agent="alice")  # within
    await add_call(cdr, at(0, 0, 1).replace(day=1), answered=5.0, agent="alice")  # yesterday
    now = [at(15)]
    today = TodayCounts(StatsStore(db), refresh=30.0, wall=lambda: now[0])
    try:
        assert await today.get() == {"sales": DayCount(answered=3, within_sl=2)}
        await add_call(cdr, at(12), answered=1.0, agent="alice")
        assert await today.get() == {"sales": DayCount(3, 2)}  # cached for `refresh` s
        fresh = TodayCounts(StatsStore(db), refresh=0.0, wall=lambda: now[0])
        assert await fresh.get() == {"sales": DayCount(4, 3)}
        board = sample_wallboard(await fresh.get())
        assert board.queues[0].service_level_today == 0.75
    finally:
        await db.close()
    assert await TodayCounts(None, 30.0, lambda: now[0]).get() is None


def test_who_may_view_the_wallboard() -> None:
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.QA):
        assert refusal(role, None, Permission.WALLBOARD_READ, None) is None
    assert refusal(Role.AGENT, "alice", Permission.WALLBOARD_READ, None) == (
        "role agent lacks permission wallboard.read"
    )


async def test_an_agent_user_is_refused_the_board_and_the_stream(tmp_path: Path) -> None:
    db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}")
    await migrate(db.engine)
    admin = UserAdmin(db, actor="cli:test")
    tokens = {role: (await admin.add(role, role, "alice" if role == "agent" else None)).token
              for role in ("agent", "supervisor", "qa")}  # fmt: skip
    app = create_app(cast(ControlPlaneApi, Control()), auth=Authenticator(db))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as c:
            for role, expected in (("agent", 403), ("supervisor", 200), ("qa", 200)):
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                assert (await c.get("/api/v1/wallboard", headers=headers)).status_code == expected
            refused = Stream(app, "/api/v1/wallboard/stream", tokens["agent"])
            assert await refused.block() is None
            assert refused.status == 403
            page = await c.get(
                "/ui/wallboard", headers={"Authorization": f"Bearer {tokens['agent']}"}
            )
            assert page.status_code == 403
            sup = {"Authorization": f"Bearer {tokens['supervisor']}", "Accept": "text/html"}
            page = await c.get("/ui/wallboard", headers=sup)
            assert page.status_code == 200 and 'href="/ui/wallboard"' in page.text  # in the nav
            initial = page.text.split('id="wb-initial">', 1)[1].split("</script>", 1)[0]
            assert json.loads(initial)["queues"][0]["name"] == "sales"
    finally:
        await db.close()
