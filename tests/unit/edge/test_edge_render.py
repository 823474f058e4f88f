"""render.py and settings.py: what goes into Kamailio's files, and what is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.edge import EdgeConfigError, EdgeSettings, TrunkSource, WorkerDestination
from gateway.edge.render import (
    digest_ha1,
    load_template,
    render,
    render_address_list,
    render_config,
    render_dispatcher_list,
)
from gateway.edge.settings import scanner_regex

RUNDIR = Path("/run/contactgw/edge")


def settings(**overrides: object) -> EdgeSettings:
    values: dict[str, object] = {
        "rundir": RUNDIR,
        "listen_address": "192.0.2.10",
        "listen_port": 5070,
        "sip_domain": "CC.Example.com",
        "trunk_sources": (TrunkSource("203.0.113.7", 5060, "itsp"), TrunkSource("198.51.100.0/24")),
        "workers": (
            WorkerDestination("w1", "127.0.0.1", 23010, 2),
            WorkerDestination("w2", "127.0.0.1", 23011, 2),
        ),
    }
    values.update(overrides)
    return EdgeSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def template() -> str:
    return load_template()


def test_dispatcher_list_has_one_alg10_line_per_worker() -> None:
    text = render_dispatcher_list(settings().workers)
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert lines == [
        "1 sip:127.0.0.1:23010 0 0 duid=w1;maxload=2",
        "1 sip:127.0.0.1:23011 0 0 duid=w2;maxload=2",
    ]


def test_ipv6_worker_uri_is_bracketed() -> None:
    worker = WorkerDestination("w6", "::1", 23012, 1)
    assert worker.uri == "sip:[::1]:23012"


def test_address_list_has_ip_cidr_port_and_tag() -> None:
    text = render_address_list(settings().trunk_sources)
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert lines == ["1 203.0.113.7 32 5060 itsp", "1 198.51.100.0 24 0 trunk"]


def test_cidr_host_bits_are_normalised() -> None:
    assert TrunkSource("10.1.2.3/8").network == "10.0.0.0/8"


def test_config_is_fully_rendered(template: str) -> None:
    cfg = render_config(settings(), template)
    assert not re.search(r"@@[A-Z_]+@@", cfg)
    assert "listen=udp:192.0.2.10:5070\n" in cfg
    assert f'modparam("jsonrpcs", "dgram_socket", "{RUNDIR}/kamailio_rpc.sock")' in cfg
    assert f'modparam("dispatcher", "list_file", "{RUNDIR}/dispatcher.list")' in cfg
    assert f'modparam("permissions", "address_file", "{RUNDIR}/address.list")' in cfg
    assert 'ds_select_dst("1", "10")' in cfg  # call-load algorithm
    assert 'ds_is_from_list("1", "2")' in cfg  # workers matched on IP and port
    assert 'modparam("tm", "fr_timer", 2000)' in cfg
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in cfg
    assert 'modparam("dispatcher", "ds_hash_expire", 3600)' in cfg
    # domain compared lower-cased; realm defaults to the domain
    assert '$(rd{s.tolower}) == "cc.example.com"' in cfg
    assert 'www_challenge("CC.Example.com", "1")' in cfg
    assert "disable_tcp=yes" in cfg and "xhttp" not in cfg  # RPC only on the unix socket


def test_dialogs_are_tracked_and_tagged_with_the_worker(template: str) -> None:
    cfg = render_config(settings(), template)
    assert 'loadmodule "dialog.so"' in cfg
    assert 'modparam("dialog", "db_mode", 0)' in cfg  # in memory
    assert 'modparam("dialog", "profiles_with_value", "worker")' in cfg
    assert 'modparam("dispatcher", "attrs_pvname", "$avp(ds_attrs)")' in cfg
    # trunk -> worker: the chosen destination's duid; worker -> anywhere: the matched one's
    to_workers = cfg[cfg.index("route[TO_WORKERS]") :].split("\n}\n")[0]
    assert "dlg_manage();" in to_workers and "$xavp(_dsdst_=>dstid)" in to_workers
    from_worker = cfg[cfg.index("route[DLG_FROM_WORKER]") :].split("\n}\n")[0]
    assert "dlg_manage();" in from_worker
    assert "$(avp(ds_attrs){param.value,duid})" in from_worker
    assert cfg.count("route(DLG_FROM_WORKER);") == 2  # agent legs and other worker INVITEs
    assert 'set_dlg_profile("worker", "$var(worker)");' in cfg
    # a failed-over call leaves the failed worker's profile
    failover = cfg[cfg.index("failure_route[WORKER_FAILOVER]") :].split("\n}\n")[0]
    assert 'unset_dlg_profile("worker", "$dlg_var(worker)");' in failover
    # the edge's own BYEs (dlg.end_dlg) release the trunk call's load slot, once
    local = cfg[cfg.index("event_route[tm:local-request]") :].split("\n}\n")[0]
    assert '$dlg_var(load) == "1"' in local and "ds_load_update();" in local


def test_advertised_address(template: str) -> None:
    cfg = render_config(settings(advertised_address="sip.example.com"), template)
    assert "listen=udp:192.0.2.10:5070 advertise sip.example.com:5070\n" in cfg


def test_scanner_patterns_are_escaped_and_lowercased(template: str) -> None:
    regex = scanner_regex(("friendly-scanner", "Foo.Bar (x)", "a|b"))
    assert regex == r"(friendly-scanner|foo\.bar \(x\)|a\|b)"
    cfg = render_config(settings(scanner_user_agents=("Foo.Bar",)), template)
    assert r'$(ua{s.tolower}) =~ "(foo\.bar)"' in cfg


def test_scanner_action(template: str) -> None:
    drop = render_config(settings(scanner_action="drop"), template)
    reject = render_config(settings(scanner_action="reject"), template)

    def block(cfg: str) -> str:
        return cfg[cfg.index("$(ua{s.tolower})") :].split("\n\t}")[0]

    assert 'sl_send_reply("403", "Forbidden");' in block(reject)
    assert "sl_send_reply" not in block(drop) and "exit;" in block(drop)
    off = render_config(settings(scanner_user_agents=()), template)
    assert "scanner User-Agent ban disabled" in off


def test_pike_parameters(template: str) -> None:
    cfg = render_config(settings(pike_sampling_s=3, pike_density=12), template)
    assert 'modparam("pike", "sampling_time_unit", 3)' in cfg
    assert 'modparam("pike", "reqs_density_per_unit", 12)' in cfg


def test_render_returns_three_files(template: str) -> None:
    s = settings()
    files = render(s, template).files(s)
    assert set(files) == {
        RUNDIR / "kamailio.cfg",
        RUNDIR / "dispatcher.list",
        RUNDIR / "address.list",
    }


def test_template_and_renderer_must_agree(template: str) -> None:
    with pytest.raises(EdgeConfigError, match="unknown markers: NOPE"):
        render_config(settings(), template + "\n# @@NOPE@@\n")
    with pytest.raises(EdgeConfigError, match="lacks markers: .*LISTEN"):
        render_config(settings(), template.replace("@@LISTEN@@", "127.0.0.1:5060"))


def test_ha1() -> None:
    # RFC 2617, section 3.5: HA1 = MD5("Mufasa:testrealm@host.com:Circle Of Life")
    assert digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life") == (
        "939e7578ed9e3c518a452acee763bce9"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rundir": Path("relative/dir")}, "rundir: .* absolute"),
        ({"rundir": Path("/tmp/" + "x" * 90)}, "rundir: .* too long"),
        ({"rundir": Path('/tmp/a"b')}, "rundir: .* quotes"),
        ({"listen_address": "edge.example.com"}, "listen_address"),
        ({"listen_port": 70000}, "listen_port: port 70000 out of range"),
        ({"sip_domain": 'evil"; exit; "'}, "sip_domain"),
        ({"sip_domain": "a..b"}, "sip_domain"),
        ({"realm": "bad realm"}, "realm"),
        ({"pike_density": 0}, "pike_density: 0 out of range"),
        ({"pike_sampling_s": "2"}, "pike_sampling_s: must be an integer"),
        ({"scanner_user_agents": ('bad"quote',)}, "scanner_user_agents"),
        ({"scanner_user_agents": ("x",)}, "scanner_user_agents"),
        ({"scanner_action": "tarpit"}, "scanner_action"),
        ({"log_level": "loud"}, "log_level"),
        ({"worker_timeout_ms": 5}, "worker_timeout_ms"),
        (
            {
                "workers": (
                    WorkerDestination("w1", "127.0.0.1", 1, 1),
                    WorkerDestination("w1", "127.0.0.1", 2, 1),
                )
            },
            "duplicate id 'w1'",
        ),
        (
            {
                "workers": (
                    WorkerDestination("w1", "127.0.0.1", 1, 1),
                    WorkerDestination("w2", "127.0.0.1", 1, 1),
                )
            },
            "duplicate address",
        ),
        ({"workers": (WorkerDestination("w1", "192.0.2.10", 5070, 1),)}, "edge's own"),
    ],
)
def test_invalid_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(EdgeConfigError, match=message):
        settings(**overrides)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "w 1", "host": "127.0.0.1", "port": 1}, "workers.id"),
        ({"id": "w;x", "host": "127.0.0.1", "port": 1}, "workers.id"),
        ({"id": "w1", "host": "worker.local", "port": 1}, "must be an IP"),
        ({"id": "w1", "host": "127.0.0.1", "port": 0}, "port 0 out of range"),
        ({"id": "w1", "host": "127.0.0.1", "port": 1, "maxload": -1}, "maxload"),
    ],
)
def test_invalid_workers_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(EdgeConfigError, match=message):
        WorkerDestination(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network": "not-an-ip"}, "not an IP address or CIDR"),
        ({"network": "10.0.0.0/33"}, "not an IP address or CIDR"),
        ({"network": "10.0.0.1", "port": -1}, "out of range"),
        ({"network": "10.0.0.1", "name": "two words"}, "name"),
    ],
)
def test_invalid_trunk_sources_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(EdgeConfigError, match=message):
        TrunkSource(**kwargs)  # type: ignore[arg-type]


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        settings(listen_port=0)
