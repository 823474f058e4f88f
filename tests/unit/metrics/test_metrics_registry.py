"""Metrics render with the values the control plane set."""

from __future__ import annotations

import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from acd.kpi import QueueKpis
from gateway.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_each_instance_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.call_ended(disposition="answered", queue="sales")
    assert value(first, "contactgw_calls_total", queue="sales", disposition="answered") == 1
    assert (
        "contactgw_calls_total",
        (("disposition", "answered"), ("queue", "sales")),
    ) not in samples(second)


def test_calls_by_queue_and_disposition() -> None:
    metrics = Metrics()
    metrics.declare_queue("sales")
    for disposition in ("answered", "answered", "abandoned"):
        metrics.call_ended(disposition=disposition, queue="sales")
    metrics.call_ended(disposition="unknown_did", queue=None)
    assert value(metrics, "contactgw_calls_total", queue="sales", disposition="answered") == 2
    assert value(metrics, "contactgw_calls_total", queue="sales", disposition="abandoned") == 1
    assert value(metrics, "contactgw_calls_total", queue="sales", disposition="overflow") == 0
    assert value(metrics, "contactgw_calls_total", queue="", disposition="unknown_did") == 1
    with pytest.raises(ValueError):
        metrics.call_ended(disposition="hung", queue="sales")


def test_queue_gauges_from_an_acd_kpi_snapshot() -> None:
    metrics = Metrics()
    kpis = QueueKpis(
        queue_id="support",
        window_seconds=3600,
        offered=10,
        answered=8,
        abandoned=1,
        short_abandoned=1,
        overflowed=0,
        service_level=0.75,
        service_level2=0.7,
        service_level_offered=0.66,
        asa_seconds=12.5,
        aht_seconds=180.0,
        longest_waiting_seconds=42.0,
        waiting=3,
        occupancy=None,
    )
    metrics.observe_kpis(kpis)
    assert value(metrics, "contactgw_queue_calls_waiting", queue="support") == 3
    assert value(metrics, "contactgw_queue_longest_wait_seconds", queue="support") == 42
    assert value(metrics, "contactgw_queue_service_level_ratio", queue="support") == 0.75
    assert value(metrics, "contactgw_queue_asa_seconds", queue="support") == 12.5
    assert value(metrics, "contactgw_queue_aht_seconds", queue="support") == 180
    assert math.isnan(value(metrics, "contactgw_queue_occupancy_ratio", queue="support"))


def test_agents_by_state_resets_states_not_reported() -> None:
    metrics = Metrics()
    metrics.set_agents("sales", {"available": 2, "on-call": 1})
    metrics.set_agents("sales", {"available": 1})
    assert value(metrics, "contactgw_queue_agents", queue="sales", state="available") == 1
    assert value(metrics, "contactgw_queue_agents", queue="sales", state="on-call") == 0
    assert value(metrics, "contactgw_queue_agents", queue="sales", state="paused") == 0


def test_removed_queue_gauges_disappear_and_its_call_counts_stay() -> None:
    metrics = Metrics()
    metrics.declare_queue("old")
    metrics.remove_queue("old")
    names = {name for name, labels in samples(metrics) if ("queue", "old") in labels}
    assert names == {"contactgw_calls_total", "contactgw_calls_created"}


def test_workers_trunks_and_edge() -> None:
    metrics = Metrics()
    metrics.set_worker("1", up=True, slots_in_use=2, slots_total=2)
    metrics.set_worker("2", up=False, slots_in_use=0, slots_total=2)
    metrics.set_trunk_registration("sipp", "registering")
    metrics.set_trunk_registration("sipp", "registered")
    metrics.set_edge_up(True)
    assert value(metrics, "contactgw_worker_up", worker="1") == 1
    assert value(metrics, "contactgw_worker_up", worker="2") == 0
    assert value(metrics, "contactgw_worker_slots_in_use", worker="1") == 2
    assert value(metrics, "contactgw_worker_slots", worker="2") == 2
    assert value(metrics, "contactgw_trunk_registered", trunk="sipp") == 1
    assert value(metrics, "contactgw_trunk_registration", trunk="sipp", state="registered") == 1
    assert value(metrics, "contactgw_trunk_registration", trunk="sipp", state="registering") == 0
    assert value(metrics, "contactgw_edge_up") == 1
    metrics.remove_worker("2")
    assert ("contactgw_worker_up", (("worker", "2"),)) not in samples(metrics)
    with pytest.raises(ValueError):
        metrics.set_trunk_registration("sipp", "confused")
