"""A worker without its control plane: what it keeps, when it retries, when it gives up.

Theory of operation
-------------------
When the control connection is lost (EOF or error, not a Shutdown), the worker keeps
its calls and recordings and waits for a control plane to come back (issue 14,
docs/reliability.md "Control-plane loss: the workers"). This is the policy of that
wait, pure and clock-driven (``now`` is passed in; unit tests step it)::

    CONNECTED --lose(now)--> SNAPSHOT --LegSnapshot*, SnapshotDone--> ORPHANED
        ^                       (other events dropped: the            |  buffer events
        |                        snapshot already holds them)         |  retry every 0.5 s
        +------------------------- resume(now) <----------------------+
                                                      give_up(now): timeout or overflow

- The owner thread takes the snapshot (``gateway/sip/snapshot.py``) and emits it through
  the ordinary event path, ending with a ``SnapshotDone`` marker, so the loop sees the
  events emitted before the snapshot (folded into it, dropped here) and after it
  (buffered) in the owner thread's order.
- Buffered events are replayed in order after the snapshot: snapshot + events = now.
  Two kinds are not kept: ``CallRejected`` (an INVITE nobody was offered, reported
  nowhere else either) and all but the latest ``Capacity`` (a load report: the last
  one wins). So a flood of INVITEs while orphaned cannot fill the buffer.
- The wait is bounded by ``timeout`` seconds; the buffer by ``max_events``. Past either,
  the worker gives up: it hangs up every leg, closes every recording and exits 0
  (never holding ports or calls forever, nor dropping an event it could not replay).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.ipc import protocol as p

RETRY_S = 0.5
MAX_EVENTS = 10_000


class Phase(enum.Enum):
    CONNECTED = "connected"
    SNAPSHOT = "snapshot"  # lost; waiting for the owner thread's snapshot
    ORPHANED = "orphaned"  # snapshot taken; buffering events


@dataclass(frozen=True, slots=True)
class Resume:
    """What a resumed worker sends after Welcome, in this order."""

    snapshot: tuple[p.LegSnapshot, ...]
    done: p.SnapshotDone
    events: tuple[p.Event, ...]

    def messages(self) -> list[p.Event]:
        return [*self.snapshot, self.done, *self.events]


class Orphanage:
    def __init__(
        self, timeout: float, retry_s: float = RETRY_S, max_events: int = MAX_EVENTS
    ) -> None:
        self.timeout = timeout
        self.retry_s = retry_s
        self.max_events = max_events
        self.phase = Phase.CONNECTED
        self.lost_at = 0.0
        self._snapshot: list[p.LegSnapshot] = []
        self._events: list[p.Event | None] = []  # None: a Capacity superseded later
        self._kept = 0
        self._capacity_at = -1  # index of the buffered Capacity, -1 none
        self.overflowed = False

    @property
    def enabled(self) -> bool:
        """0 keeps the old behaviour: no control plane, no calls."""
        return self.timeout > 0

    @property
    def orphaned(self) -> bool:
        return self.phase is not Phase.CONNECTED

    @property
    def snapshot_taken(self) -> bool:
        return self.phase is Phase.ORPHANED

    @property
    def deadline(self) -> float:
        return self.lost_at + self.timeout

    def lose(self, now: float) -> None:
        """The control connection is gone: wait for the owner thread's snapshot."""
        if self.orphaned:
            return
        self.phase = Phase.SNAPSHOT
        self.lost_at = now
        self._snapshot.clear()
        self._events.clear()
        self._kept = 0
        self._capacity_at = -1
        self.overflowed = False

    def accept(self, event: p.Event) -> None:
        """An event from the owner thread while orphaned (in its order)."""
        if self.phase is Phase.SNAPSHOT:
            if isinstance(event, p.LegSnapshot):
                self._snapshot.append(event)
            elif isinstance(event, p.SnapshotDone):
                self.phase = Phase.ORPHANED
            # anything else happened before the snapshot was taken: the snapshot holds it
            return
        if self.phase is not Phase.ORPHANED or isinstance(event, p.CallRejected):
            return
        if isinstance(event, p.Capacity):
            if self._capacity_at >= 0:
                self._events[self._capacity_at] = None
                self._kept -= 1
            self._capacity_at = len(self._events)
        if self._kept >= self.max_events:
            self.overflowed = True
            return
        self._events.append(event)
        self._kept += 1

    def retry_in(self, now: float) -> float:
        """Seconds to wait before the next reconnect attempt (never past the deadline)."""
        return max(0.0, min(self.retry_s, self.deadline - now))

    def give_up(self, now: float) -> str | None:
        """Why the worker must end its calls now, or None to keep waiting."""
        if self.overflowed:
            return f"more than {self.max_events} events to replay"
        if now >= self.deadline:
            return f"no control plane within {self.timeout:g} s"
        return None

    def resume(self, now: float) -> Resume:
        """A control plane welcomed the resumed hello: what to send, and back to normal."""
        if self.phase is not Phase.ORPHANED:
            raise RuntimeError(f"cannot resume in phase {self.phase.value}")
        events = tuple(e for e in self._events if e is not None)
        snapshot = tuple(self._snapshot)
        done = p.SnapshotDone(len(snapshot), round(now - self.lost_at, 3), len(events))
        self.phase = Phase.CONNECTED
        self._snapshot.clear()
        self._events.clear()
        self._kept = 0
        self._capacity_at = -1
        return Resume(snapshot, done, events)
