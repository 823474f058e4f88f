"""Settings -> component configuration, on the shipped example file."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.model import QueueTarget, Strategy, TerminalAction, TerminalTarget
from gateway.control import build
from gateway.settings import SettingsError, load_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "contactgw.yaml"


def test_example_queues_map_onto_the_acd() -> None:
    settings = load_settings(EXAMPLE)
    queues = {q.queue_id: q for q in build.queue_configs(settings)}
    sales, support = queues["sales"], queues["support"]
    assert sales.strategy is Strategy.LONGEST_IDLE and sales.offer_timeout == 15
    assert sales.overflow == QueueTarget("support") and sales.announce_every == 30
    assert support.overflow == TerminalTarget(TerminalAction.ANNOUNCE_HANGUP, "all_busy")
    assert dict(support.required_skills) == {"english": 5}
    assert [s.after_seconds for s in support.relax_steps] == [60, 120]


def test_edge_gets_one_destination_per_worker_and_the_trunk_allow_list() -> None:
    settings = load_settings(EXAMPLE)
    edge = build.edge_settings(settings)
    ports = [w.port for w in edge.workers]
    assert ports == list(
        range(
            settings.workers.first_sip_port,
            settings.workers.first_sip_port + settings.workers.count,
        )
    )
    assert {w.maxload for w in edge.workers} == {settings.workers.callers_per_worker}
    assert [(t.network, t.name) for t in edge.trunk_sources] == [("127.0.0.1/32", "sipp")]


def test_registering_trunk_uses_the_edge_as_contact(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("    register: false", "    register: true")
    text = text.replace("data_dir: ../var", f"data_dir: {tmp_path}")
    config = tmp_path / "c.yaml"
    config.write_text(text)
    settings = load_settings(config)
    ((name, reg),) = build.trunk_registers(settings)
    assert name == "sipp" and reg is not None
    assert reg.registrar == "sip:127.0.0.1:5090" and reg.username == "contactgw"
    assert reg.contact == "<sip:contactgw@127.0.0.1:5060>"


def test_a_missing_prompt_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("greeting: greeting ", "greeting: no-such-prompt ")
    text = text.replace("data_dir: ../var", f"data_dir: {tmp_path}")
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(config)
    assert "queues.sales.greeting" in str(err.value) and "no-such-prompt" in str(err.value)
    assert f"{config}:" in str(err.value)
