"""Queue alert levels: each KPI against its warning and critical thresholds.

Pure: `observe(queue, kpis)` is given the sampled KPIs and returns the crossings since
the last sample (to warning, to critical, or back to normal: `cleared`), so the same
tracker drives `queue.threshold_crossed` events and the wallboard's colours. For
`service_level` lower is worse; for the others higher is worse. A KPI with no value yet
(no calls in the window) keeps its level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from acd.kpi import QueueKpis
from gateway.events import catalogue as ce

LOWER_IS_WORSE: Final = frozenset({"service_level"})
KPIS: Final[tuple[ce.QueueKpi, ...]] = ("waiting", "longest_wait", "service_level", "abandon_rate")


@dataclass(frozen=True, slots=True)
class Thresholds:
    warning: float | None = None
    critical: float | None = None


def kpi_values(k: QueueKpis) -> dict[ce.QueueKpi, float | None]:
    abandon = k.abandoned / k.offered if k.offered else None
    return {
        "waiting": float(k.waiting),
        "longest_wait": k.longest_waiting_seconds,
        "service_level": k.service_level,
        "abandon_rate": abandon,
    }


def level_of(kpi: ce.QueueKpi, value: float, t: Thresholds) -> tuple[ce.AlertLevel, float | None]:
    """The level `value` is at, and the threshold that put it there."""

    def worse(limit: float | None) -> bool:
        if limit is None:
            return False
        return value <= limit if kpi in LOWER_IS_WORSE else value >= limit

    if worse(t.critical):
        return "critical", t.critical
    if worse(t.warning):
        return "warning", t.warning
    return "cleared", None


class AlertTracker:
    def __init__(self, rules: Mapping[str, Mapping[ce.QueueKpi, Thresholds]]) -> None:
        """`rules`: queue -> KPI name -> thresholds."""
        self._rules = {q: dict(r) for q, r in rules.items() if r}
        self._levels: dict[tuple[str, ce.QueueKpi], ce.AlertLevel] = {}

    def level(self, queue: str, kpi: ce.QueueKpi) -> ce.AlertLevel:
        return self._levels.get((queue, kpi), "cleared")

    def observe(self, queue: str, kpis: QueueKpis) -> list[ce.QueueThresholdCrossed]:
        crossings = []
        values = kpi_values(kpis)
        for kpi, thresholds in self._rules.get(queue, {}).items():
            value = values.get(kpi)
            if value is None:
                continue
            level, threshold = level_of(kpi, value, thresholds)
            if level != self.level(queue, kpi):
                self._levels[queue, kpi] = level
                crossings.append(ce.QueueThresholdCrossed(queue, kpi, level, value, threshold))
        return crossings
