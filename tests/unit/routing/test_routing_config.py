"""build_routing_table(): accepted shapes and errors that name the key path."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from routing import (
    Announce,
    Holiday,
    RoutingConfigError,
    TimeRange,
    ToOtherQueue,
    Voicemail,
    build_routing_table,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "routing.md"


def base() -> dict[str, Any]:
    return {
        "region": "US",
        "queues": {"sales": {"strategy": "longest-idle"}, "support": None},
        "dids": [{"number": "+14155550100", "queue": "sales"}],
    }


def error(data: dict[str, Any]) -> str:
    with pytest.raises(RoutingConfigError) as info:
        build_routing_table(data)
    return str(info.value)


def test_docs_example_builds() -> None:
    text = DOC.read_text()
    example = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert example is not None
    table = build_routing_table(yaml.safe_load(example.group(1)))
    assert table.dids and table.queues


def test_shapes() -> None:
    data = base()
    data["timezone"] = "Europe/Paris"
    data["closed_action"] = {"hangup": True}
    data["holidays"] = [
        dt.date(2026, 12, 25),
        "01-01",
        {"date": "2026-12-24", "closed": ["14:00-24:00"]},
    ]
    data["schedules"] = {
        "office": {"hours": {"mon-fri": ["09:00-12:00", "14:00-18:00"], "sat": ["22:00-02:00"]}}
    }
    data["queues"]["sales"] = {"schedule": "office", "closed_action": {"queue": "support"}}
    data["queues"]["support"] = {
        "schedule": {
            "timezone": "America/New_York",
            "hours": {"fri-mon": ["00:00-24:00"]},
            "holidays": ["07-04"],
        },
        "closed_action": {"voicemail": "box"},
    }
    data["dids"].append(
        {"number": 4155550101, "queue": "support", "priority": 2, "skills": ["fr"], "tags": ["t"]}
    )
    data["default_route"] = {"queue": "support"}
    t = build_routing_table(data)
    sales, support = t.queues["sales"], t.queues["support"]
    assert sales.closed_action == ToOtherQueue("support")
    assert support.closed_action == Voicemail("box")
    assert sales.schedule is not None and support.schedule is not None
    assert str(sales.schedule.timezone) == "Europe/Paris"
    assert sales.schedule.hours[0] == (TimeRange(540, 720), TimeRange(840, 1080))
    assert sales.schedule.hours[5] == (TimeRange(1320, 120),)
    assert sales.schedule.holidays == (
        Holiday(12, 25, 2026),
        Holiday(1, 1),
        Holiday(12, 24, 2026, closed=(TimeRange(840, 1440),)),
    )
    assert support.schedule.holidays[-1] == Holiday(7, 4)
    assert [bool(d) for d in support.schedule.hours] == [
        True,
        False,
        False,
        False,
        True,
        True,
        True,
    ]
    assert t.dids["+14155550101"].skills == frozenset({"fr"})
    assert t.default_route == ToOtherQueue("support")


def test_queue_closed_action_defaults_to_top_level() -> None:
    data = base()
    data["closed_action"] = {"announcement": "closed"}
    assert build_routing_table(data).queues["sales"].closed_action == Announce("closed")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["dids"].append({"number": "+14155550101", "queue": "sales2"}),
            "dids[1].queue: unknown queue 'sales2'",
        ),
        (
            lambda d: d["queues"].update(sales={"schedule": {"hours": {"mon": ["25:00-26:00"]}}}),
            "queues.sales.schedule.hours.mon[0]: '25:00' is not a time HH:MM",
        ),
        (
            lambda d: d["queues"].update(sales={"schedule": {"hours": {"mon": [930]}}}),
            "queues.sales.schedule.hours.mon[0]: expected a string",
        ),
        (
            lambda d: d["queues"].update(sales={"schedule": {"hours": {"mond": []}}}),
            "queues.sales.schedule.hours.mond: expected a weekday",
        ),
        (
            lambda d: d["queues"].update(sales={"schedule": {"hourz": {}}}),
            "queues.sales.schedule.hourz: unknown key",
        ),
        (
            lambda d: d["queues"].update(sales={"schedule": "office"}),
            "queues.sales.schedule: unknown schedule 'office'",
        ),
        (
            lambda d: d["queues"].update(
                sales={"schedule": {"timezone": "Mars/Base", "hours": {}}}
            ),
            "queues.sales.schedule.timezone: unknown IANA time zone 'Mars/Base'",
        ),
        (lambda d: d.update(timezone="Europe/Pariss"), "timezone: unknown IANA time zone"),
        (lambda d: d.update(region="XX"), "region: unknown region 'XX'"),
        (
            lambda d: d["dids"].append({"number": "(415) 555-0100", "queue": "support"}),
            "dids[1].number: +14155550100 is already routed by dids[0]",
        ),
        (
            lambda d: d["dids"].append({"number": "12", "queue": "sales"}),
            "dids[1].number: '12' is not a phone number",
        ),
        (lambda d: d["dids"][0].update(priority="high"), "dids[0].priority: expected an integer"),
        (lambda d: d["dids"][0].pop("queue"), "dids[0].queue: required"),
        (lambda d: d["dids"][0].update(skill=["x"]), "dids[0].skill: unknown key"),
        (
            lambda d: d.update(default_route={"queue": "nope"}),
            "default_route.queue: unknown queue 'nope'",
        ),
        (
            lambda d: d.update(default_route={"voicemail": "x"}),
            "default_route: expected exactly one of announcement, hangup, queue",
        ),
        (
            lambda d: d["queues"].update(sales={"closed_action": {"queue": "support", "x": 1}}),
            "queues.sales.closed_action: expected exactly one of",
        ),
        (
            lambda d: d["queues"].update(
                sales={"closed_action": {"queue": "support"}},
                support={"closed_action": {"queue": "sales"}},
            ),
            "queues.sales.closed_action.queue: closed-action cycle sales -> support -> sales",
        ),
        (lambda d: d.update(holidays=["2026-13-01"]), "holidays[0]: '2026-13-01' is not a date"),
        (
            lambda d: d.update(holidays=[{"date": "12-24", "closed": ["22:00-02:00"]}]),
            "holidays[0].closed[0]: a holiday closure may not cross midnight",
        ),
        (lambda d: d.update(holidays=[{"name": "x"}]), "holidays[0].date: required"),
        (lambda d: d.update(dids={"+1": "sales"}), "dids: expected a list, got dict"),
        (lambda d: d.update(sip={}), "sip: unknown key"),
    ],
)
def test_errors_name_the_key_path(mutate: Any, message: str) -> None:
    data = base()
    mutate(data)
    assert error(data).startswith(message)
