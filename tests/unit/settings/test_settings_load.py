"""load_settings: the shipped example, defaults, path resolution, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings, parse_settings

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "config" / "contactgw.yaml"


def parse(text: str, environ: dict[str, str] | None = None, base: Path = Path("/srv/gw/etc")):
    return parse_settings(text, file="gw.yaml", base_dir=base, environ=environ or {})


def test_shipped_example_loads() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.sip.listen_port == 5060
    assert settings.workers.count == 4
    assert [t.name for t in settings.trunks] == ["sipp"]
    assert set(settings.routing.queues) == {"sales", "support"}
    assert set(settings.routing.agents) == {"alice", "bob", "carol"}
    assert settings.routing.queues["support"].schedule == "office"
    assert settings.routing.queues["sales"].schedule is None  # 24/7
    assert settings.routing.default_route is not None
    assert all(d.number.startswith("+") for d in settings.routing.dids)
    assert settings.data_dir == REPO / "var"
    assert settings.database.url == f"sqlite+aiosqlite:///{REPO / 'var' / 'contactgw.db'}"


def test_empty_file_gets_single_machine_defaults() -> None:
    settings = parse("")
    assert (settings.sip.listen_address, settings.sip.listen_port) == ("127.0.0.1", 5060)
    assert settings.sip.domain == "127.0.0.1"
    assert (settings.api.host, settings.api.port) == ("127.0.0.1", 8080)
    assert settings.workers.callers_per_worker == 2
    assert settings.worker_slots == 8
    assert settings.data_dir == Path("/srv/gw/etc/var")
    assert settings.run_dir == Path("/srv/gw/etc/var/run")
    assert settings.recordings.directory == Path("/srv/gw/etc/var/recordings")
    assert settings.database.url == "sqlite+aiosqlite:////srv/gw/etc/var/contactgw.db"
    assert settings.mqtt.enabled is True


def test_relative_sqlite_url_is_under_data_dir_and_others_are_kept() -> None:
    relative = parse("data_dir: /data\ndatabase: {url: 'sqlite+aiosqlite:///cdr.db'}")
    assert relative.database.url == "sqlite+aiosqlite:////data/cdr.db"
    pg = "postgresql+asyncpg://gw@db/contactgw"
    assert parse(f"database: {{url: '{pg}'}}").database.url == pg


def test_env_overrides_secrets_by_name() -> None:
    text = """
trunks:
  - {name: my-itsp, registrar: "sip:itsp.example", username: gw, password: from-file}
queues: {sales: {}}
agents:
  alice: {password: file-secret, queues: [sales]}
"""
    environ = {
        "CONTACTGW_TRUNKS__MY_ITSP__PASSWORD": "env-trunk",
        "CONTACTGW_AGENTS__ALICE__PASSWORD": "env-alice",
        "CONTACTGW_DATABASE__URL": "postgresql+asyncpg://gw:pw@db/gw",
        "CONTACTGW_API__ADMIN_TOKEN": "tok",
        "CONTACTGW_API__PORT": "9090",
        "CONTACTGW_CONFIG": "ignored: no double underscore",
        "UNRELATED__X": "1",
    }
    settings = parse(text, environ)
    password = settings.trunks[0].password
    assert password is not None and password.get_secret_value() == "env-trunk"
    assert settings.routing.agents["alice"].password.get_secret_value() == "env-alice"
    assert settings.database.url == "postgresql+asyncpg://gw:pw@db/gw"
    token = settings.api.admin_token
    assert token is not None and token.get_secret_value() == "tok"
    assert settings.api.port == 9090


def test_env_can_supply_a_secret_missing_from_the_file() -> None:
    settings = parse(
        "queues: {q: {}}\nagents:\n  bob: {queues: [q]}\n", {"CONTACTGW_AGENTS__BOB__PASSWORD": "s"}
    )
    assert settings.routing.agents["bob"].password.get_secret_value() == "s"


def test_env_naming_an_unknown_trunk_is_an_error() -> None:
    with pytest.raises(SettingsError) as caught:
        parse("trunks: []", {"CONTACTGW_TRUNKS__NOPE__PASSWORD": "x"})
    assert str(caught.value) == "$CONTACTGW_TRUNKS__NOPE__PASSWORD: trunks: no item named 'nope'"


def test_secrets_do_not_show_in_repr() -> None:
    settings = parse("queues: {q: {}}\nagents: {a: {password: hunter2}}")
    assert "hunter2" not in repr(settings)


def test_merge_keys_share_queue_options() -> None:
    text = """
queues:
  base: &base {ring_timeout: 25, wrapup: 5}
  sales: {<<: *base, wrapup: 7}
"""
    queues = parse(text).routing.queues
    assert (queues["sales"].ring_timeout, queues["sales"].wrapup) == (25, 7)


def test_routing_data_is_accepted_by_the_routing_package() -> None:
    from routing import build_routing_table

    table = build_routing_table(load_settings(EXAMPLE, environ={}).routing.routing_data())
    assert table.dids["+15550100201"].priority == 5


def test_a_top_level_key_the_file_sets_can_be_overridden_without_double_underscore() -> None:
    text = "data_dir: var\nlog_level: info\n"
    settings = parse(text, {"CONTACTGW_DATA_DIR": "/data/gw", "CONTACTGW_LOG_LEVEL": "debug",
                            "CONTACTGW_CONFIG": "not a key: ignored"})
    assert settings.data_dir == Path("/data/gw") and settings.log_level == "debug"
