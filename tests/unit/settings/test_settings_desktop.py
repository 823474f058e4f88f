"""The agent desktop's settings: a queue's wrap-up codes and the API's public URL; a bad
value names file:line: key."""

from __future__ import annotations

from tests.unit.settings.test_settings_mqtt import errors_of, parse


def test_wrapup_codes_and_public_url() -> None:
    s = parse(
        "api:\n  public_url: https://cc.example.com/gw/\nqueues:\n  sales:\n"
        "    wrapup_codes: [sale, no-sale, callback.later]\n"
    )
    assert s.routing.queues["sales"].wrapup_codes == ("sale", "no-sale", "callback.later")
    assert s.api.base_url() == "https://cc.example.com/gw"
    assert parse("{}").api.base_url() == "http://127.0.0.1:8080"
    assert parse("api: {host: '::1', port: 81}").api.base_url() == "http://[::1]:81"
    assert parse("api: {host: 0.0.0.0}").api.base_url() is None  # no Call-Info then


def test_bad_wrapup_codes_and_url_name_the_key() -> None:
    [twice] = errors_of("queues:\n  sales:\n    wrapup_codes: [sale, sale]\n")
    assert twice.startswith("gw.yaml:3: queues.sales.wrapup_codes: ") and "twice: sale" in twice
    [bad] = errors_of("queues:\n  sales:\n    wrapup_codes: [sale, 'no sale']\n")
    assert bad.startswith("gw.yaml:3: queues.sales.wrapup_codes[1]: 'no sale'")
    [url] = errors_of("api:\n  public_url: ftp://x\n")
    assert url.startswith("gw.yaml:2: api.public_url: ")
