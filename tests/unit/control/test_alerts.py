"""Queue alert levels: crossings to warning and critical and back, in both directions,
and the thresholds as configured (with a clear error when they are the wrong way round)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from acd.kpi import QueueKpis
from gateway.control import build
from gateway.control.alerts import AlertTracker, Thresholds
from gateway.settings import SettingsError, parse_settings

QUIET = QueueKpis(
    queue_id="sales", window_seconds=900, offered=10, answered=10, abandoned=0,
    short_abandoned=0, overflowed=0, service_level=0.95, service_level2=None,
    service_level_offered=None, asa_seconds=5.0, aht_seconds=120.0,
    longest_waiting_seconds=0.0, waiting=0, occupancy=0.5,
)  # fmt: skip


def kpis(**changes: object) -> QueueKpis:
    return dataclasses.replace(QUIET, **changes)  # type: ignore[arg-type]


def test_higher_is_worse_kpi_crosses_up_and_clears() -> None:
    tracker = AlertTracker({"sales": {"longest_wait": Thresholds(warning=60, critical=120)}})
    assert tracker.observe("sales", kpis(longest_waiting_seconds=30)) == []
    (warn,) = tracker.observe("sales", kpis(longest_waiting_seconds=61))
    assert (warn.kpi, warn.level, warn.value, warn.threshold) == ("longest_wait", "warning", 61, 60)
    assert tracker.observe("sales", kpis(longest_waiting_seconds=90)) == []  # still warning
    (crit,) = tracker.observe("sales", kpis(longest_waiting_seconds=125))
    assert (crit.level, crit.threshold) == ("critical", 120)
    (clear,) = tracker.observe("sales", kpis(longest_waiting_seconds=0))
    assert (clear.level, clear.threshold) == ("cleared", None)
    assert tracker.level("sales", "longest_wait") == "cleared"


def test_service_level_is_worse_when_lower_and_an_empty_window_keeps_the_level() -> None:
    tracker = AlertTracker({"sales": {"service_level": Thresholds(warning=0.8, critical=0.6)}})
    (crit,) = tracker.observe("sales", kpis(service_level=0.5))
    assert crit.level == "critical"
    assert tracker.observe("sales", kpis(service_level=None)) == []
    assert tracker.level("sales", "service_level") == "critical"
    (warn,) = tracker.observe("sales", kpis(service_level=0.7))
    assert warn.level == "warning"


def test_abandon_rate_is_computed_from_the_window() -> None:
    tracker = AlertTracker({"sales": {"abandon_rate": Thresholds(warning=0.1)}})
    (warn,) = tracker.observe("sales", kpis(offered=10, abandoned=2))
    assert warn.value == pytest.approx(0.2) and warn.level == "warning"
    assert tracker.observe("other", kpis()) == []  # a queue without rules


def test_alert_rules_come_from_the_queue_settings() -> None:
    text = (
        "queues:\n  sales:\n    alerts:\n"
        "      longest_wait: {warning: 60, critical: 120}\n"
        "      service_level: {warning: 0.8}\n  support: {}\n"
    )
    settings = parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})
    assert build.alert_rules(settings) == {
        "sales": {"longest_wait": Thresholds(60, 120), "service_level": Thresholds(0.8, None)}
    }


def test_thresholds_the_wrong_way_round_name_the_key() -> None:
    text = "queues:\n  sales:\n    alerts:\n      service_level: {warning: 0.6, critical: 0.8}\n"
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})
    (issue,) = caught.value.issues
    assert "queues.sales.alerts" in str(issue) and "critical must be below warning" in str(issue)
