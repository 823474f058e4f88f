"""In Chromium: the reports page shows today's queue rows and the charts, the CSV
downloads with the right header; on a 1080p TV the layout holds."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.browser.conftest import Login, Site
from tests.support.browser import TV, shot

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_reports_table_charts_and_csv(site: Site, login: Login) -> None:
    page = await login("sup")
    await page.goto(site.url("/ui/reports"))
    rows = page.locator("#queue-table tbody tr")
    queues = {(await r.locator("th").inner_text()) for r in await rows.all()}
    assert {"sales", "support"} <= queues
    sales = rows.filter(has_text="sales").first
    cells = await sales.locator("td").all_inner_texts()
    assert int(cells[1]) >= 1 and int(cells[2]) >= 1  # received, answered
    heads = await page.locator("#queue-table thead th").all_inner_texts()
    assert heads[-2:] == ["Held", "Avg hold (s)"] and cells[-2].isdigit()
    for chart in ("chart-volume", "chart-sl", "chart-abandon", "chart-occupancy"):
        assert await page.locator(f"svg#{chart} rect").count() > 0, chart
    agents = await page.locator("#agent-table tbody th").all_inner_texts()
    assert {"alice", "bob"} <= set(agents)
    await shot(page, "supervisor-reports")

    async with page.expect_download() as info:
        await page.get_by_role("link", name="Queues CSV").click()
    download = await info.value
    assert download.suggested_filename.startswith("contactgw-queues-")
    text = Path(await download.path()).read_text(encoding="utf-8")
    assert text.startswith("queue,start,end,sl_threshold,short_abandon,received,answered,")
    table = list(csv.DictReader(io.StringIO(text)))
    assert {"sales", "support"} <= {t["queue"] for t in table}


async def test_reports_on_a_tv(site: Site, login: Login) -> None:
    page = await login("qa", TV)
    await page.goto(site.url("/ui/reports"))
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= TV["width"]  # nothing sticks out sideways
    await shot(page, "qa-reports-tv")
