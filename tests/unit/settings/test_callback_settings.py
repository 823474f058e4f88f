"""queues.<q>.callback: every bad value is an error naming file:line: key; the options
survive the database's routing version (what the routing API edits); a queue offering
callbacks is dialled through its trunk's address, in the routing timezone."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.control.build import callback_plans
from gateway.settings import RoutingSettings, SettingsError, parse_settings
from gateway.store.engine import Database
from gateway.store.migrate import migrate
from gateway.store.routing_repo import RoutingRepository

BASE = """trunks:
  - {name: carrier, registrar: "sip:sbc.example.net:5080"}
timezone: Europe/Berlin
queues:
  sales:
    callback:
"""


def errors_of(callback: str) -> list[str]:
    text = BASE + "".join(f"      {line}\n" for line in callback.splitlines())
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize(
    ("callback", "line", "key"),
    [
        ('key: "12"', 7, "key"),
        ("offer_after: 0", 7, "offer_after"),
        ("retries: 11", 7, "retries"),
        ('window: "9-17"', 7, "window"),
        ('window: "09:00-09:00"', 7, "window"),
        ('caller_id: "0301234"', 7, "caller_id"),
        ("retry_intervall: 60", 7, "retry_intervall"),
    ],
)
def test_a_bad_callback_option_names_its_line_and_key(callback: str, line: int, key: str) -> None:
    (error,) = errors_of(callback)
    assert error.startswith(f"gw.yaml:{line}: queues.sales.callback.{key}:"), error


def test_a_plan_per_queue_through_its_trunk() -> None:
    text = BASE + '      {window: "09:00-18:00", caller_id: "+4930123456"}\n'
    settings = parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})
    plan = callback_plans(settings)["sales"]
    assert plan.dial_uri("+15551230000") == "sip:+15551230000@sbc.example.net:5080"
    assert plan.caller_id(None, "gw.test") == "sip:+4930123456@gw.test"
    assert str(plan.timezone) == "Europe/Berlin"


async def test_the_options_survive_a_routing_version(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    await migrate(url)
    db = Database.open(url)
    try:
        routing = RoutingSettings.model_validate(
            {"queues": {"sales": {"callback": {"offer_after": 45, "window": "08:00-20:00"}}}}
        )
        repo = RoutingRepository(db)
        version = await repo.apply_routing_config(routing, source="test")
        again = await repo.version_settings(version.version)
        callback = again.queues["sales"].callback
        assert callback is not None and (callback.offer_after, callback.window) == (
            45,
            "08:00-20:00",
        )
    finally:
        await db.close()
