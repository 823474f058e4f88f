"""The reports page in process: tables, charts, filters and their errors, the two CSV
downloads (header row, Content-Disposition), an agent user's own agent row only."""

from __future__ import annotations

import csv
import io
import re

import pytest

from gateway.store import CdrStore
from gateway.ui.charts import Series, bar_chart, nice_max
from tests.unit.api.rows import DAY, add_call, add_queue, add_states, at
from tests.unit.ui.conftest import Ui

HTML = {"Accept": "text/html"}
DAY_Q = {"from": "2026-03-02", "to": "2026-03-02"}


@pytest.fixture
async def traffic(ui: Ui) -> None:
    cdr = CdrStore(ui.db)
    await add_queue(ui.db, "sales", sl_threshold=20, short_abandon=5)
    await add_queue(ui.db, "support", sl_threshold=30, short_abandon=5)
    await add_call(cdr, at(9, 5), answered=10, ended=70, agent="alice")  # within SL
    await add_call(cdr, at(9, 20), answered=40, ended=100, agent="bob")  # late
    await add_call(cdr, at(9, 40), disposition="abandoned", ended=60)
    await add_call(cdr, at(10, 5), queue="support", answered=5, ended=65, agent="alice")
    for agent in ("alice", "bob"):
        await add_states(
            cdr, agent, [(at(9), "available", None), (at(9, 30), "paused", "lunch"),
                         (at(10), "available", None), (at(11), "logged_out", None)],
        )  # fmt: skip


async def test_tables_and_charts_of_a_day(ui: Ui, traffic: None) -> None:
    async with ui.login("sup") as c:
        r = await c.get("/ui/reports", params=DAY_Q, headers=HTML)
    assert r.status_code == 200
    rows = re.findall(r'<th scope="row">(\w+)</th><td>([\d-]+ [\d:]+)</td>', r.text)
    assert rows == [("sales", "2026-03-02 09:00"), ("support", "2026-03-02 10:00")]
    assert ">50% <" in r.text  # sales 09:00: 1 of 2 answered within 20 s
    for chart in ("chart-volume", "chart-sl", "chart-abandon", "chart-occupancy"):
        assert f'<svg class="chart" id="{chart}"' in r.text
    assert "09:00 abandon rate: 33%" in r.text  # 1 of 3 received
    assert re.findall(r'<th scope="row">(alice|bob)</th>', r.text) == ["alice", "bob"]
    assert 'href="/ui/reports.csv?from=2026-03-02&amp;to=2026-03-02&amp;interval=hour"' in r.text


async def test_filters_by_queue_and_day_interval(ui: Ui, traffic: None) -> None:
    async with ui.login("qa") as c:
        r = await c.get(
            "/ui/reports", params={**DAY_Q, "queue": "support", "interval": "day"}, headers=HTML
        )
    rows = re.findall(r'<th scope="row">(\w+)</th><td>([\d-]+ [\d:]+)</td>', r.text)
    assert rows == [("support", "2026-03-02 00:00")]


async def test_bad_filters_are_named(ui: Ui) -> None:
    async with ui.login("qa") as c:
        r = await c.get("/ui/reports", params={"from": "March", "interval": "week"}, headers=HTML)
        assert r.status_code == 422
        assert "From: a date like" in r.text and "Interval: one of hour, day" in r.text
        r = await c.get("/ui/reports", params={"from": "2026-03-03", "to": "2026-03-01"})
        assert r.status_code == 422 and "To: on or after From" in r.text
        r = await c.get("/ui/reports", params={"from": "2024-01-01", "to": "2026-03-01"})
        assert r.status_code == 422 and "at most 366 days" in r.text
        r = await c.get("/ui/reports.csv", params={"from": "x"})
        assert r.status_code == 422 and "From" in r.json()["detail"]


async def test_queue_csv_has_a_header_row_and_is_an_attachment(ui: Ui, traffic: None) -> None:
    async with ui.login("qa") as c:
        r = await c.get("/ui/reports.csv", params=DAY_Q)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        'attachment; filename="contactgw-queues-2026-03-02-2026-03-02-hour.csv"'
    )
    assert r.text.startswith("queue,start,end,sl_threshold,short_abandon,received,answered,")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [(t["queue"], t["start"], t["received"], t["service_level"]) for t in table] == [
        ("sales", DAY.replace(hour=9).isoformat(), "3", "0.5"),
        ("support", DAY.replace(hour=10).isoformat(), "1", "1"),
    ]


async def test_an_agent_user_gets_its_own_agent_only(ui: Ui, traffic: None) -> None:
    async with ui.login("ana") as c:
        page = (await c.get("/ui/reports", params=DAY_Q, headers=HTML)).text
        r = await c.get("/ui/reports/agents.csv", params=DAY_Q)
    assert re.findall(r'<th scope="row">(alice|bob)</th>', page) == ["alice"]
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert {t["agent"] for t in table} == {"alice"}
    assert "pause:lunch" in table[0]
    assert r.headers["content-disposition"].startswith('attachment; filename="contactgw-agents-')


def test_charts_escape_text_and_scale_to_a_round_top() -> None:
    assert [nice_max(v) for v in (0, 0.7, 3, 7, 11, 240)] == [1, 1, 5, 10, 20, 250]
    svg = bar_chart("c", "<b>x</b>", ["<09>"], [Series("a&b", [3], "s-received")])
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "a&amp;b" in svg
    assert 'height="108.0"' in svg  # 3 on an axis topped at 5: 0.6 of the 180 px plot
