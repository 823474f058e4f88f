"""What the daemon gets from EventsService.from_settings for each mqtt configuration."""

from __future__ import annotations

from pathlib import Path

from gateway.events.service import EventsService
from gateway.settings import parse_settings
from gateway.store import Database


def service(tmp_path: Path, mqtt: str) -> EventsService:
    text = f"api: {{host: 127.0.0.1, port: 8081}}\nmqtt: {mqtt}\n"
    settings = parse_settings(text, file="gw.yaml", base_dir=tmp_path, environ={})
    return EventsService.from_settings(settings, Database.open("sqlite+aiosqlite://"))


def test_the_default_runs_the_embedded_broker_in_the_run_dir(tmp_path: Path) -> None:
    events = service(tmp_path, "{port: 23001, instance: gw1}")
    assert events.broker is not None and events.publisher is not None
    assert events.broker.config.port == 23001
    assert events.broker.config.directory == tmp_path / "var" / "run" / "mqtt"
    assert events.state is not None and not events.state.connected


def test_an_external_broker_starts_nothing_of_ours(tmp_path: Path) -> None:
    events = service(tmp_path, "{url: 'mqtt://broker.example:1884'}")
    assert events.broker is None and events.publisher is not None


def test_disabled_publishes_nothing_but_replay_still_serves(tmp_path: Path) -> None:
    events = service(tmp_path, "{enabled: false}")
    assert events.broker is None and events.publisher is None and events.state is None
    assert events.replay is not None
    events.notify()  # harmless
