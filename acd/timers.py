"""The engine's timer heap.

Entries are never removed when they become moot; each one carries a token that the
engine checks against the current state when the entry comes due (a stale entry is
dropped). `next_deadline()` discards stale heads so the gateway is not woken for nothing.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable


class TimerKind(enum.IntEnum):
    OFFER = 0  # ring timeout of one offer        (call_id, agent_id, offer token)
    WRAP = 1  # end of an agent's wrap-up         (agent_id, "", state token)
    MAX_WAIT = 2  # call waited too long          (call_id, "", entry token)
    RELAX = 3  # next skill relaxation step       (call_id, "", entry token)
    ANNOUNCE = 4  # position/EWT announcement     (call_id, "", entry token)


Timer = tuple[float, int, TimerKind, str, str, int]


class TimerHeap:
    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, deadline: float, kind: TimerKind, a: str, b: str, token: int) -> None:
        self._seq += 1  # FIFO among equal deadlines: deterministic order
        heapq.heappush(self._heap, (deadline, self._seq, kind, a, b, token))

    def pop_due(self, now: float) -> Timer | None:
        heap = self._heap
        if heap and heap[0][0] <= now:
            return heapq.heappop(heap)
        return None

    def next_deadline(self, is_live: Callable[[Timer], bool]) -> float | None:
        heap = self._heap
        while heap:
            if is_live(heap[0]):
                return heap[0][0]
            heapq.heappop(heap)
        return None
