"""Every kind of configuration error names file:line: key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings, parse_settings


def errors_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ=environ or {})
    return [str(issue) for issue in caught.value.issues]


def test_wrong_type_names_file_line_key_and_value() -> None:
    text = "queues:\n  sales:\n    ring_timeout: abc\n"
    assert errors_of(text) == [
        "gw.yaml:3: queues.sales.ring_timeout: must be a positive number, got 'abc'"
    ]


def test_out_of_range() -> None:
    assert errors_of("workers:\n  callers_per_worker: 3\n") == [
        "gw.yaml:2: workers.callers_per_worker: must be at most 2, got 3"
    ]


def test_unknown_key_is_rejected_with_a_suggestion() -> None:
    assert errors_of("api:\n  prot: 80\n") == [
        "gw.yaml:2: api.prot: unknown key; did you mean 'port'?"
    ]


def test_unknown_top_level_key() -> None:
    [error] = errors_of("sip: {}\nqueuez: {}\n")
    assert error == "gw.yaml:2: queuez: unknown key; did you mean 'queues'?"


def test_missing_required_key_points_at_its_parent() -> None:
    text = "queues: {q: {}}\nagents:\n  alice:\n    queues: [q]\n"
    assert errors_of(text) == ["gw.yaml:3: agents.alice.password: is required"]


def test_all_errors_are_reported_in_line_order() -> None:
    text = "api:\n  port: 0\nsip:\n  listen_port: x\n"
    assert errors_of(text) == [
        "gw.yaml:2: api.port: must be at least 1, got 0",
        "gw.yaml:4: sip.listen_port: must be a positive integer, got 'x'",
    ]


def test_list_item_errors_name_the_index() -> None:
    text = "trunks:\n  - name: a\n    registrar: sip:a\n  - name: b\n    registrar: http://b\n"
    [error] = errors_of(text)
    assert error.startswith("gw.yaml:5: trunks[1].registrar: 'http://b' does not match")


def test_bad_network_in_allow_list() -> None:
    text = "trunks:\n  - name: a\n    registrar: sip:a\n    allowed_sources:\n      - 10.0.0.0/8\n      - bogus\n"
    assert errors_of(text) == [
        "gw.yaml:6: trunks[0].allowed_sources[1]: 'bogus' is not an address or CIDR network"
    ]


def test_model_rule_violation() -> None:
    text = "trunks:\n  - name: a\n    registrar: sip:a\n    register: true\n"
    assert errors_of(text) == ["gw.yaml:2: trunks[0]: register: true needs username and password"]


def test_unknown_queue_reference() -> None:
    text = "queues:\n  sales: {}\nagents:\n  bob:\n    password: x\n    queues: [sales, salse]\n"
    assert errors_of(text) == [
        "gw.yaml:6: agents.bob.queues[1]: unknown queue 'salse' (known: sales)"
    ]


def test_overflow_into_itself() -> None:
    text = "queues:\n  q:\n    overflow:\n      queue: q\n"
    assert errors_of(text) == [
        "gw.yaml:4: queues.q.overflow.queue: a queue cannot overflow into itself"
    ]


def test_action_needs_exactly_one_key() -> None:
    [error] = errors_of("default_route:\n  queue: a\n  hangup: true\nqueues: {a: {}}\n")
    assert (
        error
        == "gw.yaml:1: default_route: give exactly one of queue, announcement, hangup, voicemail"
    )


def test_errors_found_by_the_routing_package_get_a_line() -> None:
    text = "queues: {q: {}}\ndids:\n  - number: '+15550100100'\n    queue: q\n  - number: 'abc'\n    queue: q\n"
    [error] = errors_of(text)
    assert error.startswith("gw.yaml:5: dids[1].number: 'abc' is not a phone number")


def test_bad_hours_in_schedule_found_by_routing() -> None:
    text = "schedules:\n  office:\n    hours:\n      mon-fri: ['8h-18h']\n"
    [error] = errors_of(text)
    assert error.startswith("gw.yaml:4: schedules.office.hours.mon-fri[0]:")


def test_unquoted_did_number() -> None:
    [error] = errors_of("queues: {q: {}}\ndids:\n  - number: +15550100100\n    queue: q\n")
    assert (
        error
        == "gw.yaml:3: dids[0].number: write the number in quotes: YAML read 15550100100 as an integer"
    )


def test_worker_ports_must_not_overlap_the_edge() -> None:
    assert errors_of("workers:\n  first_sip_port: 5058\n") == [
        "gw.yaml:2: workers.first_sip_port: worker SIP ports 5058-5061 overlap the edge port 5060"
    ]


def test_duplicate_key_is_an_error() -> None:
    assert errors_of("api:\n  port: 1\n  port: 2\n") == ["gw.yaml:3: api.port: duplicate key"]


def test_yaml_syntax_error_has_a_line() -> None:
    [error] = errors_of("sip:\n  domain: [unclosed\n")
    assert error.startswith("gw.yaml:3: invalid YAML")


def test_bad_env_value_names_the_variable() -> None:
    assert errors_of("", {"CONTACTGW_SIP__LISTEN_PORT": "http"}) == [
        "$CONTACTGW_SIP__LISTEN_PORT: sip.listen_port: must be a positive integer, got 'http'"
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "missing.yaml")
    assert "missing.yaml: cannot read" in str(caught.value)


def test_real_file_name_is_used(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text("mqtt:\n  port: -1\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, environ={})
    assert str(caught.value) == f"{path}:2: mqtt.port: must be at least 1, got -1"


def test_bind_addresses_must_be_ip_addresses() -> None:
    assert errors_of("sip:\n  listen_address: localhost\n") == [
        "gw.yaml:2: sip.listen_address: 'localhost' is not an IP address (sockets bind to addresses)"
    ]
