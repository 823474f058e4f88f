"""Queue alert levels: each KPI against its warning and critical thresholds.

Pure: `observe(queue, kpis, recent)` is given the sampled KPIs (`kpis` over the KPI
window, `recent` over the last 30 minutes) and returns the crossings since the last
sample (to warning, to critical, or back to normal: `cleared`). The one tracker drives
the `queue.threshold_crossed` events, the `contactgw_queue_alert_level` gauge and the
wallboard's colours, so the three always agree. For the service levels lower is worse;
for the others higher is worse. A KPI with no value yet (no calls in the window) keeps
its level. The rules are read on every sample (a callable), so thresholds edited in the
routing data apply live; a KPI whose thresholds were removed goes back to `cleared`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, get_args

from acd.kpi import QueueKpis
from gateway.events import catalogue as ce

LOWER_IS_WORSE: Final = frozenset({"service_level", "service_level_30m"})
KPIS: Final[tuple[ce.QueueKpi, ...]] = get_args(ce.QueueKpi)
RECENT_WINDOW: Final = 1800.0  # seconds behind `service_level_30m`
SEVERITY: Final[dict[ce.AlertLevel, int]] = {"cleared": 0, "warning": 1, "critical": 2}

Rules = Mapping[str, Mapping[ce.QueueKpi, "Thresholds"]]


@dataclass(frozen=True, slots=True)
class Thresholds:
    warning: float | None = None
    critical: float | None = None


def kpi_values(k: QueueKpis, recent: QueueKpis | None = None) -> dict[ce.QueueKpi, float | None]:
    """The value of every KPI the thresholds apply to (None: nothing to measure yet)."""
    return {
        "waiting": float(k.waiting),
        "longest_wait": k.longest_waiting_seconds,
        "service_level": k.service_level,
        "service_level_30m": recent.service_level if recent is not None else None,
        "asa": k.asa_seconds,
        "aht": k.aht_seconds,
        "abandon_rate": k.abandoned / k.offered if k.offered else None,
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
    def __init__(self, rules: Rules | Callable[[], Rules]) -> None:
        """`rules`: queue -> KPI name -> thresholds, or a callable returning the
        current ones (read on every sample: live routing changes)."""
        self._rules: Callable[[], Rules] = rules if callable(rules) else (lambda: rules)
        self._levels: dict[tuple[str, ce.QueueKpi], ce.AlertLevel] = {}

    def level(self, queue: str, kpi: ce.QueueKpi) -> ce.AlertLevel:
        return self._levels.get((queue, kpi), "cleared")

    def levels(self, queue: str) -> dict[ce.QueueKpi, ce.AlertLevel]:
        """Every KPI's current level in `queue` (`cleared` for those without rules)."""
        return {kpi: self.level(queue, kpi) for kpi in KPIS}

    def thresholds(self, queue: str) -> dict[ce.QueueKpi, Thresholds]:
        """The thresholds now configured for `queue`, by KPI (only those with any)."""
        return dict(self._rules().get(queue, {}))

    def observe(
        self, queue: str, kpis: QueueKpis, recent: QueueKpis | None = None
    ) -> list[ce.QueueThresholdCrossed]:
        crossings = []
        values = kpi_values(kpis, recent)
        rules = self._rules().get(queue, {})
        for kpi in KPIS:
            value = values[kpi]
            if value is None:
                continue
            thresholds = rules.get(kpi)
            level: ce.AlertLevel
            if thresholds is None:
                level, threshold = "cleared", None  # no rule (any more): nothing to alert on
            else:
                level, threshold = level_of(kpi, value, thresholds)
            if level != self.level(queue, kpi):
                self._levels[queue, kpi] = level
                crossings.append(ce.QueueThresholdCrossed(queue, kpi, level, value, threshold))
        return crossings

    def forget(self, queue: str) -> None:
        """Drop a removed queue's levels."""
        for kpi in KPIS:
            self._levels.pop((queue, kpi), None)
