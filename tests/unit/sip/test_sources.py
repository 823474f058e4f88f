"""Who may send SIP requests to a worker (gateway/sip/sources.py) and the config key
``workers.sip_allow`` that feeds it (docs/worker.md, "Who may send to a worker")."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.control.build import pool_config
from gateway.settings import SettingsError, parse_settings
from gateway.sip.sources import (
    RefusalLog,
    RefusalPacer,
    Sources,
    edge_entry,
    parse_entry,
    parse_list,
)
from gateway.sip.worker import parse_args

EDGE = Sources(parse_list("127.0.0.1:5060"))


def test_on_one_host_the_edge_is_its_address_and_port() -> None:
    assert EDGE.allows("127.0.0.1:5060")
    assert not EDGE.allows("127.0.0.1:5061")  # a sipp, a scanner, another process
    assert not EDGE.allows("127.0.0.2:5060")


def test_networks_ports_and_ipv6() -> None:
    allow = Sources(parse_list("10.0.0.0/8, [2001:db8::]/32:5060, 192.0.2.7"))
    assert allow.allows("10.9.8.7:40000")
    assert allow.allows("192.0.2.7:1")
    assert allow.allows("[2001:db8::5]:5060")
    assert not allow.allows("[2001:db8::5]:5061")
    assert not allow.allows("[2001:db9::5]:5060")
    assert not allow.allows("11.0.0.1:5060")
    assert allow.allows("[::ffff:10.1.1.1]:5060"), "a dual-stack socket's IPv4 peer"


def test_an_unreadable_source_is_refused_and_no_list_checks_nothing() -> None:
    assert not EDGE.allows("")
    assert not EDGE.allows("garbage")
    assert not EDGE.allows("127.0.0.1:x")
    assert Sources().allows("203.0.113.9:5060") and not Sources().checked


@pytest.mark.parametrize("bad", ["bogus", "10.0.0.0/33", "127.0.0.1:0", "127.0.0.1:70000"])
def test_a_bad_entry_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad).replace(".", r"\.").replace("[", r"\[")):
        parse_entry(bad)


def test_the_edge_entry_is_its_listening_socket() -> None:
    assert edge_entry("127.0.0.1", 5060) == "127.0.0.1:5060"
    assert edge_entry("::1", 5070) == "[::1]:5070"
    any_v4 = Sources(parse_list(edge_entry("0.0.0.0", 5060)))  # listens everywhere
    assert any_v4.allows("198.51.100.1:5060") and not any_v4.allows("198.51.100.1:5080")
    assert Sources(parse_list(edge_entry("::", 5060))).allows("[2001:db8::1]:5060")


def test_refusals_are_logged_once_a_minute_and_all_counted() -> None:
    log = RefusalLog(every=60.0)
    assert log.refused("127.0.0.1:4000", now=100.0) is not None  # the first one, at once
    lines = [log.refused(f"127.0.0.1:{4001 + i}", now=100.0 + i * 0.01) for i in range(999)]
    assert lines == [None] * 999
    assert log.take_unreported() == 1000 and log.take_unreported() == 0
    line = log.refused("127.0.0.1:5000", now=160.0)
    assert line is not None and "refused 1000 SIP request(s)" in line and "127.0.0.1:5000" in line
    assert log.total == 1001


def parse(text: str) -> list[str]:
    try:
        settings = parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})
    except SettingsError as exc:
        return [str(issue) for issue in exc.issues]
    return list(pool_config(settings, Path("/tmp/fs")).sip_allow)


def test_the_edge_is_always_allowed_and_sip_allow_adds_to_it() -> None:
    assert parse("") == ["127.0.0.1:5060"]
    text = "sip: {listen_port: 5070}\nworkers:\n  sip_allow: [10.0.0.0/8, '192.0.2.7:5060']\n"
    assert parse(text) == ["127.0.0.1:5070", "10.0.0.0/8", "192.0.2.7/32:5060"]
    # what the pool hands each worker parses back to the same check
    args = parse_args(["--id", "w1", "--control", "h:1", "--sip-port", "1", "--rtp-port", "2",
                       "--sip-allow", ",".join(parse(text))])  # fmt: skip
    allow = Sources(tuple(args.sip_allow))
    assert allow.allows("127.0.0.1:5070") and allow.allows("192.0.2.7:5060")
    assert not allow.allows("127.0.0.1:5071") and not allow.allows("192.0.2.7:5061")


def test_a_bad_sip_allow_entry_names_the_key() -> None:
    assert parse("workers:\n  sip_allow:\n    - 10.0.0.0/8\n    - edge\n") == [
        "gw.yaml:4: workers.sip_allow[1]: 'edge' is not an address or CIDR network"
    ]


def test_refusals_are_paced_so_a_flood_cannot_exhaust_pjlibs_socket_handles() -> None:
    pacer = RefusalPacer(rate=20.0)
    assert pacer.delay(now=10.0) == 0.0  # a lone one at once
    burst = [pacer.delay(now=10.0) for _ in range(4)]  # (pjsua has only 4 slots)
    assert burst == pytest.approx([0.05, 0.10, 0.15, 0.20])
    assert pacer.delay(now=60.0) == 0.0  # the pace forgets a quiet past
