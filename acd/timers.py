"""The engine's timers: one named type per kind, all in one heap.

Entries are never removed when they become moot; each timer carries the token of what it
was armed for (an offer, an agent's wrap-up, a call's stay in a queue) and the engine
drops it when it comes due and the token no longer matches (`Engine._live`).
`next_deadline()` discards stale heads so the gateway is not woken for nothing.

The kinds are NamedTuples rather than frozen dataclasses: several are made per event on
the hot path, and a NamedTuple is built in half the time. The heap holds
`(deadline, seq, timer)`; `seq` is unique, so timers themselves are never compared.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import NamedTuple

from acd.callback_events import CallbackDueTimer


class OfferTimer(NamedTuple):
    """Ring timeout of one offer."""

    call_id: str
    agent_id: str
    offer: int  # the offer's token, CallRt.offers[agent_id]


class WrapTimer(NamedTuple):
    """End of an agent's wrap-up."""

    agent_id: str
    state_token: int  # AgentRt.state_token when wrap-up began


class MaxWaitTimer(NamedTuple):
    """The call waited its queue's `max_wait`: overflow."""

    call_id: str
    entry: int  # CallRt.entry: the call's stay in this queue


class RelaxTimer(NamedTuple):
    """The call's next relaxation step in its queue."""

    call_id: str
    entry: int


class AnnounceTimer(NamedTuple):
    """The call's next position/EWT announcement."""

    call_id: str
    entry: int


CallTimer = MaxWaitTimer | RelaxTimer | AnnounceTimer | CallbackDueTimer
Timer = OfferTimer | WrapTimer | CallTimer
Entry = tuple[float, int, Timer]  # (deadline, seq, timer)


class TimerHeap:
    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, deadline: float, timer: Timer) -> None:
        self._seq += 1  # FIFO among equal deadlines: deterministic order
        heapq.heappush(self._heap, (deadline, self._seq, timer))

    def pop_due(self, now: float) -> Entry | None:
        heap = self._heap
        if heap and heap[0][0] <= now:
            return heapq.heappop(heap)
        return None

    def next_deadline(self, is_live: Callable[[Timer], bool]) -> float | None:
        heap = self._heap
        while heap:
            if is_live(heap[0][2]):
                return heap[0][0]
            heapq.heappop(heap)
        return None
