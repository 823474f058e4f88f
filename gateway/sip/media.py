"""What outlives a leg's media for a moment: stopped players and closing recordings.

Both exist because pjmedia finishes asynchronously (ARCHITECTURE.md §5, docs/worker.md):

- A stopped ``AudioMediaPlayer`` is not freed at once: pjsua2 2.15 delivers a player's
  end-of-file event asynchronously, and one still in flight when the player is deleted
  calls into freed memory (pjproject #4812, fixed upstream after our wheel).
  ``RetiredPlayers`` keeps it for ``PLAYER_GRACE_S`` -- far longer than pjmedia takes to
  dispatch an event already published -- and the owner thread drops the last reference
  after that. Retired players still count against pjsua's 32, so at most
  ``MAX_RETIRED`` wait (the oldest is freed first).
- Dropping a recorder removes its conference port asynchronously (from the clock
  thread), and only then is the final WAV header written. ``RecordingWatch`` reports
  ``RecordingClosed`` once the header is final (or after ``tries`` x 50 ms).

Nothing here calls pjsua2; time is passed in, so both are unit-tested.
"""

from __future__ import annotations

import collections
import os
import wave
from collections.abc import Callable
from typing import Any

from gateway.ipc import protocol as p

PLAYER_GRACE_S = 0.25
MAX_RETIRED = 12
RECORDING_POLL_S = 0.05
RECORDING_TRIES = 40
WAV_HEADER = 44
BYTES_PER_SECOND = 16000  # 8 kHz, 16-bit mono


def wav_seconds(path: str) -> float:
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


class RetiredPlayers:
    def __init__(self, grace: float = PLAYER_GRACE_S, limit: int = MAX_RETIRED) -> None:
        self._grace = grace
        self._limit = limit
        self._queue: collections.deque[tuple[float, Any]] = collections.deque()

    def retire(self, player: Any, now: float) -> None:
        self._queue.append((now + self._grace, player))
        while len(self._queue) > self._limit:
            self._queue.popleft()

    def free_due(self, now: float) -> None:
        while self._queue and self._queue[0][0] <= now:
            self._queue.popleft()  # the last reference: pjmedia port destroyed here

    def free_all(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)


def _riff_size(path: str) -> tuple[int, int]:
    """(file size, RIFF chunk size in the header; 0 while the header is not final)."""
    size = os.path.getsize(path) if os.path.exists(path) else 0
    if size < 8:
        return size, 0
    with open(path, "rb") as f:
        f.seek(4)
        return size, int.from_bytes(f.read(4), "little")


class RecordingWatch:
    def __init__(
        self,
        call_later: Callable[[float, Callable[[], None]], None],
        emit: Callable[[p.Event], None],
    ) -> None:
        self._call_later = call_later
        self._emit = emit
        self._left: dict[str, int] = {}  # path -> polls left

    @property
    def pending(self) -> bool:
        return bool(self._left)

    def watch(self, leg_id: str, path: str, tries: int = RECORDING_TRIES) -> None:
        """Emit RecordingClosed once ``path`` has its final header (<= ``tries`` polls)."""
        if self._left.get(path, 0) == 0:
            self._left[path] = tries
        size, riff = _riff_size(path)
        left = self._left[path] - 1
        if riff == 0 and left > 0:
            self._left[path] = left
            self._call_later(RECORDING_POLL_S, lambda: self.watch(leg_id, path))
            return
        del self._left[path]
        duration = max(0, size - WAV_HEADER) / BYTES_PER_SECOND
        self._emit(p.RecordingClosed(leg_id, path, round(duration, 3), size))
