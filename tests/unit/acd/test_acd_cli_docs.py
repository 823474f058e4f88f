"""`contactgw simulate` prints the promised JSON; docs/acd.md shows the current tables."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from acd.states import mermaid_agent_diagram, mermaid_call_diagram
from gateway.subcommands import simulate as command

ROOT = Path(__file__).resolve().parents[3]


def test_simulate_command_prints_kpis_and_theory(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(
        [
            "--agents",
            "3",
            "--arrivals-per-hour",
            "60",
            "--aht",
            "120",
            "--sl-seconds",
            "20",
            "--patience",
            "60",
            "--calls",
            "500",
            "--seed",
            "4",
            "--json",
        ]
    )
    assert command.main(args) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("service_level", "p_wait", "asa_seconds", "occupancy", "abandon_rate",
                "calls", "engine_events_per_second"):  # fmt: skip
        assert key in out
    assert out["calls"] == 500 and out["engine_events_per_second"] > 0
    assert 0 <= out["service_level"] <= 1 and out["abandoned"] > 0
    assert out["theory"]["model"] == "erlang-a"


def test_simulate_command_without_a_stable_erlang_c(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(
        ["--agents", "1", "--arrivals-per-hour", "60", "--aht", "30", "--calls", "50"]
    )
    assert command.main(args) == 0
    assert json.loads(capsys.readouterr().out)["theory"]["model"] == "erlang-c"
    args = parser.parse_args(
        ["--agents", "1", "--arrivals-per-hour", "200", "--aht", "30", "--calls", "50"]
    )
    assert command.main(args) == 0  # 1.7 erlangs on 1 agent: no steady state
    assert json.loads(capsys.readouterr().out)["theory"] is None


def test_docs_show_the_generated_state_diagrams() -> None:
    doc = (ROOT / "docs" / "acd.md").read_text()
    assert mermaid_agent_diagram() in doc
    assert mermaid_call_diagram() in doc
