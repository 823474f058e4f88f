"""The wallboard's live feed: one sampler for every open stream, bounded per client.

While at least one client listens, one task builds the wallboard every `interval`
seconds (`ControlPlaneApi.wallboard`) and hands it to every subscriber only when its
`fingerprint` changed (the ticking durations are left out: pages tick them). Each
subscriber has a small queue that drops its oldest snapshot when full: every snapshot
is the whole board, so a slow client misses intermediate states, never the latest, and
cannot make the gateway hold more than `queue_size` snapshots for it. Today's service
level comes from the call records (`StatsStore`), re-read every `today_refresh`
seconds. When the control plane reports `stopping` the feed ends every stream, so the
API server shuts down without waiting for clients to leave.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from gateway.api.views import DayCount, Health, Wallboard
from gateway.control.wallboard import fingerprint
from gateway.store.stats import StatsStore

log = logging.getLogger(__name__)

INTERVAL: Final = 0.5  # seconds between samples
HEARTBEAT: Final = 15.0  # seconds of silence before a comment line keeps proxies open
RETRY_MS: Final = 3000  # EventSource's reconnection delay
QUEUE_SIZE: Final = 4  # snapshots held per client at most
TODAY_REFRESH: Final = 30.0  # seconds between reads of today's call records


class WallboardSource(Protocol):
    def health(self) -> Health: ...
    def wallboard(self, today: dict[str, DayCount] | None = None) -> Wallboard: ...


Message = tuple[int, str]  # (sequence, JSON)


class Subscription:
    """One client's bounded queue of snapshots; `None` in it ends the stream."""

    def __init__(self, size: int) -> None:
        self._items: deque[Message | None] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self.dropped = 0  # snapshots it never read (superseded while it was slow)

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: Message | None) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1  # deque(maxlen) drops the oldest
        self._items.append(item)
        self._ready.set()

    async def next(self, timeout: float) -> Message | None | bool:
        """The next snapshot, None at the end, False after `timeout` s of nothing."""
        if not self._items:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return False
        return self._items.popleft()


class TodayCounts:
    """Answered calls per queue since 00:00 UTC (the /api/v1/stats day), cached."""

    def __init__(
        self, stats: StatsStore | None, refresh: float, wall: Callable[[], datetime]
    ) -> None:
        self._stats, self._refresh, self._wall = stats, refresh, wall
        self._value: dict[str, DayCount] | None = None
        self._read_at: float | None = None
        self._failing = False

    async def get(self) -> dict[str, DayCount] | None:
        if self._stats is None:
            return None
        mono = asyncio.get_running_loop().time()
        if self._read_at is not None and mono - self._read_at < self._refresh:
            return self._value
        self._read_at = mono
        now = self._wall()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            items = await self._stats.queue_stats(midnight, now + timedelta(seconds=1), "day")
        except Exception as exc:  # noqa: BLE001 - the live part of the board goes on
            if not self._failing:
                log.warning("wallboard: today's call records unreadable: %s", exc)
            self._failing = True
            return self._value
        self._failing = False
        counts: dict[str, DayCount] = {}
        for item in items:
            was = counts.get(item.queue, DayCount(0, 0))
            counts[item.queue] = DayCount(
                was.answered + item.answered, was.within_sl + item.answered_within_sl,
                was.held + item.held, was.hold_seconds + item.hold_seconds,
            )  # fmt: skip
        self._value = counts
        return counts


class WallboardFeed:
    def __init__(
        self,
        control: WallboardSource,
        stats: StatsStore | None,
        *,
        interval: float = INTERVAL,
        heartbeat: float = HEARTBEAT,
        queue_size: int = QUEUE_SIZE,
        today_refresh: float = TODAY_REFRESH,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._control = control
        self._today = TodayCounts(stats, today_refresh, wall)
        self.interval, self.heartbeat, self._size = interval, heartbeat, queue_size
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._seq = 0
        self._last: tuple[Any, Message] | None = None  # (fingerprint, message)
        self.closed = False
        self.samples = 0  # boards built (tests: one sampler, however many clients)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def snapshot(self) -> Wallboard:
        return self._control.wallboard(await self._today.get())

    def subscribe(self) -> Subscription:
        sub = Subscription(self._size)
        if self.closed:
            sub.offer(None)
            return sub
        self._subs.add(sub)
        if self._last is not None and self.running:
            sub.offer(self._last[1])  # the current board at once
        if not self.running:
            self._last = None  # a fresh start sends a first board
            self._task = asyncio.get_running_loop().create_task(self._run())
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)
        if not self._subs and self._task is not None:
            self._task.cancel()  # nobody listens: no sampling
            self._task = None

    def close(self) -> None:
        """End every stream (shutdown); later subscribers end at once."""
        self.closed = True
        for sub in self._subs:
            sub.offer(None)
        self._subs.clear()
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _run(self) -> None:
        failing = False
        while not self.closed:
            try:
                if self._control.health().status == "stopping":
                    self.close()
                    return
                self._publish(await self.snapshot())
                failing = False
            except Exception:
                if not failing:
                    log.exception("wallboard sample failed (logged once until it works)")
                failing = True
            await asyncio.sleep(self.interval)

    def _publish(self, board: Wallboard) -> None:
        self.samples += 1
        mark = fingerprint(board)
        if self._last is not None and self._last[0] == mark:
            return
        self._seq += 1
        message = (self._seq, json.dumps(asdict(board), separators=(",", ":")))
        self._last = (mark, message)
        for sub in self._subs:
            sub.offer(message)
