"""/health's database_ok is measured, not assumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from acd.engine import Engine
from gateway.control.observer import Observer
from gateway.metrics import Metrics
from gateway.store.engine import Database


def observer(db: Database) -> Observer:
    fake: Any = object()  # pool and edge are not touched by the database probe
    return Observer(
        engine=Engine(),
        clock=fake,
        metrics=Metrics(),
        pool=fake,
        edge=fake,
        db=db,
        callers_per_worker=2,
        kpi_window=900,
    )


async def test_database_probe_tells_a_working_database_from_an_unreachable_one(
    tmp_path: Path,
) -> None:
    good = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    (tmp_path / "a-directory").mkdir()  # SQLite cannot open a directory as a database
    bad = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'a-directory'}")
    try:
        assert await observer(good)._database_answers() is True
        probe = observer(bad)
        assert await probe._database_answers() is False
    finally:
        await good.close()
        await bad.close()
