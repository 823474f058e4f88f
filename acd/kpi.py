"""Per-queue KPIs over rolling windows.

The engine records each arrival, answer, abandon, overflow and handled call with its
timestamp; `QueueStats.snapshot(now, window)` computes the KPIs over `[now - window, now]`
for any window up to `EngineSettings.kpi_retention_seconds` (older records are pruned).

Definitions (T = the queue's `service_level_seconds`, waits from the original arrival):

- offered: calls that entered the queue (arrivals and overflow-ins).
- answered / abandoned: outcomes recorded in the window. Abandons with a wait under
  `short_abandon_seconds` are counted in `short_abandoned` and excluded from `abandoned`.
- service_level (Asterisk `ServicelevelPerf`): answered within T / answered.
- service_level2 (Asterisk `ServicelevelPerf2`):
  (answered within T + abandoned within T) / (answered + abandoned), short abandons included.
- service_level_offered (the Erlang/"80/20" definition, used by the simulator):
  answered within T / (answered + abandoned), short abandons excluded.
- asa: mean wait of answered calls. aht: mean talk + wrap-up of finished calls.
- longest_waiting: the oldest call still waiting, now (the engine fills it in).
- occupancy: time members spent offered/talking/in wrap-up divided by the time they were
  logged in and not paused, integrated exactly between state changes and windowed by
  checkpoints taken every `CHECKPOINT_SECONDS`.
Ratios with an empty denominator are None.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

CHECKPOINT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class QueueKpis:
    queue_id: str
    window_seconds: float
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    overflowed: int
    service_level: float | None
    service_level2: float | None
    service_level_offered: float | None
    asa_seconds: float | None
    aht_seconds: float | None
    longest_waiting_seconds: float
    waiting: int
    occupancy: float | None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


class QueueStats:
    """Rolling records of one queue (see the module docstring)."""

    __slots__ = (
        "abandons",
        "answers",
        "arrivals",
        "busy_area",
        "checkpoints",
        "handles",
        "last_t",
        "overflows",
        "retention",
        "short_abandon",
        "sl_seconds",
        "staffed_area",
    )  # fmt: skip

    def __init__(self, retention: float, sl_seconds: float, short_abandon: float) -> None:
        self.retention = retention
        self.sl_seconds = sl_seconds
        self.short_abandon = short_abandon
        self.arrivals: deque[float] = deque()
        self.answers: deque[tuple[float, float]] = deque()  # (t, wait)
        self.abandons: deque[tuple[float, float]] = deque()
        self.overflows: deque[float] = deque()
        self.handles: deque[tuple[float, float]] = deque()  # (t, talk + wrap)
        self.staffed_area = 0.0
        self.busy_area = 0.0
        self.last_t: float | None = None
        self.checkpoints: deque[tuple[float, float, float]] = deque()

    # --- recording -----------------------------------------------------------------
    def integrate(self, now: float, n_staffed: int, n_busy: int) -> None:
        """Account for the head counts that held since the last call."""
        last = self.last_t
        if last is not None and now < last:
            now = last  # timers act at their (earlier) deadline: never integrate backwards
        cps = self.checkpoints
        # close the previous stretch first, so the counts are constant between any two
        # checkpoints more than CHECKPOINT_SECONDS apart: interpolation is then exact
        if (
            last is not None
            and cps
            and now - cps[-1][0] >= CHECKPOINT_SECONDS
            and last > cps[-1][0]
        ):
            cps.append((last, self.staffed_area, self.busy_area))
        if last is not None and now > last:
            self.staffed_area += n_staffed * (now - last)
            self.busy_area += n_busy * (now - last)
        self.last_t = now
        if not cps or now - cps[-1][0] >= CHECKPOINT_SECONDS:
            cps.append((now, self.staffed_area, self.busy_area))
            while cps and cps[0][0] < now - self.retention - 2 * CHECKPOINT_SECONDS:
                cps.popleft()

    def _prune(self, q: deque[float], now: float) -> None:
        horizon = now - self.retention
        while q and q[0] < horizon:
            q.popleft()

    def _prune_pairs(self, q: deque[tuple[float, float]], now: float) -> None:
        horizon = now - self.retention
        while q and q[0][0] < horizon:
            q.popleft()

    def arrival(self, now: float) -> None:
        self.arrivals.append(now)
        self._prune(self.arrivals, now)

    def answer(self, now: float, wait: float) -> None:
        self.answers.append((now, wait))
        self._prune_pairs(self.answers, now)

    def abandon(self, now: float, wait: float) -> None:
        self.abandons.append((now, wait))
        self._prune_pairs(self.abandons, now)

    def overflow(self, now: float) -> None:
        self.overflows.append(now)
        self._prune(self.overflows, now)

    def handled(self, now: float, handle_seconds: float) -> None:
        self.handles.append((now, handle_seconds))
        self._prune_pairs(self.handles, now)

    def _areas_since(self, start: float) -> tuple[float, float]:
        """Staffed and busy agent-seconds since `start`, interpolating linearly between
        the checkpoints around it (exact when the head counts did not change there)."""
        before: tuple[float, float, float] | None = None
        after: tuple[float, float, float] | None = None
        for cp in self.checkpoints:
            if cp[0] <= start:
                before = cp
            else:
                after = cp
                break
        if before is None:
            return self.staffed_area, self.busy_area  # no data before the window
        if after is None:
            after = (self.last_t or start, self.staffed_area, self.busy_area)
        span = after[0] - before[0]
        f = (start - before[0]) / span if span > 0 else 1.0
        staffed0 = before[1] + f * (after[1] - before[1])
        busy0 = before[2] + f * (after[2] - before[2])
        return self.staffed_area - staffed0, self.busy_area - busy0

    # --- reading -------------------------------------------------------------------
    def snapshot(
        self, queue_id: str, now: float, window: float, *, longest: float, waiting: int,
        n_staffed: int, n_busy: int,
    ) -> QueueKpis:  # fmt: skip
        start = now - min(window, self.retention)
        t_sl = self.sl_seconds
        waits = [w for t, w in self.answers if t >= start]
        abandons = [w for t, w in self.abandons if t >= start]
        long_ab = [w for w in abandons if w >= self.short_abandon]
        in_sl = sum(1 for w in waits if w <= t_sl)
        ab_in_sl = sum(1 for w in abandons if w <= t_sl)
        handles = [h for t, h in self.handles if t >= start]
        self.integrate(now, n_staffed, n_busy)
        staffed, busy = self._areas_since(start)
        return QueueKpis(
            queue_id=queue_id,
            window_seconds=window,
            offered=sum(1 for t in self.arrivals if t >= start),
            answered=len(waits),
            abandoned=len(long_ab),
            short_abandoned=len(abandons) - len(long_ab),
            overflowed=sum(1 for t in self.overflows if t >= start),
            service_level=_ratio(in_sl, len(waits)),
            service_level2=_ratio(in_sl + ab_in_sl, len(waits) + len(abandons)),
            service_level_offered=_ratio(in_sl, len(waits) + len(long_ab)),
            asa_seconds=_ratio(sum(waits), len(waits)),
            aht_seconds=_ratio(sum(handles), len(handles)),
            longest_waiting_seconds=longest,
            waiting=waiting,
            occupancy=_ratio(busy, staffed),
        )
