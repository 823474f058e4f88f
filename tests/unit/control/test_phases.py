"""The session table: what it allows, and that the documented diagram is generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.control.phases import (
    LIVE,
    TRANSITIONS,
    Phase,
    PhaseError,
    Trigger,
    advance,
    mermaid_diagram,
)
from gateway.control.session import CallSession

DOC = Path(__file__).resolve().parents[3] / "docs" / "control-plane.md"


def session(phase: Phase) -> CallSession:
    from datetime import UTC, datetime

    s = CallSession("c1", "sip-1", "w1", "w1-in-1", "", "", None, datetime.now(UTC))
    s.phase = phase
    return s


def test_every_phase_is_reachable_and_every_live_phase_can_end() -> None:
    reached, frontier = {Phase.ROUTING}, [Phase.ROUTING]
    while frontier:
        src = frontier.pop()
        for (a, _), b in TRANSITIONS.items():
            if a is src and b not in reached:
                reached.add(b)
                frontier.append(b)
    assert reached == set(Phase)
    for phase in LIVE:
        assert TRANSITIONS[phase, Trigger.CALLER_GONE] is Phase.ENDED


def test_a_pair_outside_the_table_is_a_phase_error_naming_the_table() -> None:
    s = session(Phase.ENDED)
    with pytest.raises(PhaseError, match="TRANSITIONS in gateway/control/phases.py"):
        advance(s, Trigger.CONNECT)
    assert s.phase is Phase.ENDED
    s = session(Phase.QUEUED)
    assert advance(s, Trigger.CONNECT) is Phase.QUEUED and s.phase is Phase.CONNECTED


def test_the_documented_diagram_is_the_generated_one() -> None:
    text = DOC.read_text()
    start = text.index("<!-- session-diagram:start -->")
    end = text.index("<!-- session-diagram:end -->")
    assert f"```mermaid\n{mermaid_diagram()}\n```" in text[start:end]
