"""The Prometheus rules and the Grafana dashboard shipped in config/: they parse, every
expression names only metrics the gateway exports (its own registry, exercised), and
`promtool` both checks the rules and runs them on series: a critical alert level, a
long queue and a low service level fire their alerts, a quiet queue fires nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from acd.kpi import QueueKpis
from gateway.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "config/prometheus/contactgw-alerts.yml"
DASHBOARD = ROOT / "config/grafana/contactgw-dashboard.json"
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, labels, keywords removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # range selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", e):
        if e[m.end() :].lstrip().startswith("(") or m.group().lower() in KEYWORDS:
            continue  # a function or an aggregation
        names.add(m.group())
    return names


def test_metric_names_are_found_and_only_them() -> None:
    expr = 'sum by (queue) (rate(a_total{x="b(c)"}[5m])) / on (queue) max(b) > bool 0.5'
    assert metric_names(expr) == {"a_total", "b"}


def exported() -> set[str]:
    """Every sample name the gateway's registry exposes once each kind of value is set."""
    m = Metrics()
    m.declare_queue("sales")
    m.observe_kpis(QueueKpis("sales", 3600, 1, 1, 0, 0, 0, 1.0, 1.0, 1.0, 2.0, 30.0, 0.0, 0,
                             0.5))  # fmt: skip
    m.set_alert_levels("sales", {"longest_wait": 2})
    m.call_ended(disposition="abandoned", queue="sales")
    m.set_worker("w1", up=True, slots_in_use=0, slots_total=2)
    m.set_trunk_registration("carrier", "registered")
    m.set_edge_up(True)
    text = m.render()[0].decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1].isalpha()}


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_every_rule_reads_only_exported_metrics_and_covers_the_queue_kpis() -> None:
    names = exported()
    assert "contactgw_queue_alert_level" in names and "contactgw_calls_total" in names
    read: set[str] = set()
    for rule in rules():
        assert rule["alert"].startswith("Contactgw") and rule["labels"]["severity"] in (
            "warning", "critical",
        )  # fmt: skip
        used = metric_names(rule["expr"])
        assert used and used <= names, (rule["alert"], used - names)
        read |= used
    assert read >= {
        "contactgw_queue_alert_level", "contactgw_queue_calls_waiting",
        "contactgw_queue_longest_wait_seconds", "contactgw_queue_service_level_ratio",
        "contactgw_calls_total",
    }  # fmt: skip


def test_the_dashboard_queries_exported_metrics_with_thresholds() -> None:
    names = exported()
    dash = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) >= 6
    titles = set()
    for p in dash["panels"]:
        assert p["targets"] and p["gridPos"]["w"] > 0, p["title"]
        for target in p["targets"]:
            used = metric_names(target["expr"])
            assert used and used <= names, (p["title"], used - names)
        titles.add(p["title"])
        steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["value"] is None  # Grafana's base step
    assert {"Calls waiting", "Longest wait", "Alert level per queue KPI"} <= titles
    (var,) = [v for v in dash["templating"]["list"] if v["name"] == "queue"]
    metric = re.match(r"label_values\((\w+),", var["definition"])
    assert metric and metric.group(1) in names


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not installed (Debian package prometheus: scripts/setup)")
    return found


def test_promtool_checks_the_rules() -> None:
    command = [promtool(), "check", "rules", str(RULES)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_promtool_fires_the_alerts_on_series(tmp_path: Path) -> None:
    """15 s steps: the level goes critical at 30 s; 6 calls wait from the start; SL 0.5."""
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [
                    {
                        "series": 'contactgw_queue_alert_level{queue="sales",kpi="longest_wait"}',
                        "values": "0 0 2 2 2 2",
                    },
                    {
                        "series": 'contactgw_queue_alert_level{queue="quiet",kpi="longest_wait"}',
                        "values": "0x10",
                    },
                    {"series": 'contactgw_queue_calls_waiting{queue="sales"}', "values": "6x10"},
                    {
                        "series": 'contactgw_queue_service_level_ratio{queue="sales"}',
                        "values": "0.5x40",
                    },
                    {
                        "series": 'contactgw_queue_service_level_ratio{queue="quiet"}',
                        "values": " ".join(["NaN"] * 41),
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "15s",
                        "alertname": "ContactgwQueueKpiCritical",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "1m",
                        "alertname": "ContactgwQueueKpiCritical",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "queue": "sales",
                                    "kpi": "longest_wait",
                                },
                                "exp_annotations": {
                                    "summary": "Queue sales: longest_wait is critical",
                                    "description": "The longest_wait KPI of queue sales is beyond "
                                    "its critical threshold (routing data, queues.sales.alerts).",
                                },
                            }
                        ],
                    },
                    {
                        "eval_time": "2m",
                        "alertname": "ContactgwQueueCallsWaiting",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", "queue": "sales"},
                                "exp_annotations": {"summary": "Queue sales: 6 calls waiting"},
                            }
                        ],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "ContactgwQueueServiceLevelLow",
                        "exp_alerts": [
                            {  # not "quiet": NaN (nothing answered) does not alert
                                "exp_labels": {"severity": "warning", "queue": "sales"},
                                "exp_annotations": {"summary": "Queue sales: service level 50%"},
                            }
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "tests.yml"
    path.write_text(yaml.safe_dump(tests))
    command = [promtool(), "test", "rules", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
