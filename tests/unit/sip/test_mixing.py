"""The mix matrix per mode (pure), and the directional bridges the worker keeps."""

from __future__ import annotations

import pytest

from gateway.sip.bridges import Bridges
from gateway.sip.mixing import DTMF_MODES, MonitorMode, Party, flows, heard

C, A, S = Party.CALLER, Party.AGENT, Party.SUPERVISOR


def hears(matrix: frozenset[tuple[Party, Party]], who: Party) -> set[Party]:
    return {src for src, dst in matrix if dst is who}


@pytest.mark.parametrize(
    ("mode", "caller", "agent", "supervisor"),
    [
        (None, {A}, {C}, set()),
        (MonitorMode.LISTEN, {A}, {C}, {C, A}),
        (MonitorMode.WHISPER, {A}, {C, S}, {C, A}),  # FreeSWITCH #2460: the caller must not
        (MonitorMode.BARGE, {A, S}, {C, S}, {C, A}),
    ],
)
def test_who_hears_whom_per_mode(
    mode: MonitorMode | None, caller: set[Party], agent: set[Party], supervisor: set[Party]
) -> None:
    matrix = heard(False, mode)
    assert (hears(matrix, C), hears(matrix, A), hears(matrix, S)) == (caller, agent, supervisor)
    assert all(src is not dst for src, dst in matrix)


@pytest.mark.parametrize("mode", [None, *MonitorMode])
def test_held_cuts_the_caller_from_everyone_both_ways(mode: MonitorMode | None) -> None:
    matrix = heard(True, mode)
    assert hears(matrix, C) == set() and all(C not in pair for pair in matrix)
    assert hears(matrix, S) == ({A} if mode else set())  # still hears the agent
    whispering = mode in (MonitorMode.WHISPER, MonitorMode.BARGE)
    assert hears(matrix, A) == ({S} if whispering else set())


def test_flows_name_both_directions_of_one_bridge() -> None:
    assert flows(False, MonitorMode.LISTEN, C, S) == (False, True)
    assert flows(False, MonitorMode.WHISPER, A, S) == (True, True)
    assert flows(False, MonitorMode.WHISPER, C, S) == (False, True)
    assert flows(True, None, C, A) == (False, False)
    assert flows(False, None, C, A) == (True, True)


def test_supervisor_digits_are_asterisks() -> None:
    assert DTMF_MODES == {"4": MonitorMode.LISTEN, "5": MonitorMode.WHISPER,
                          "6": MonitorMode.BARGE}  # fmt: skip


def test_bridges_keep_a_muted_direction_until_split() -> None:
    b = Bridges()
    b.join("c", "s", linked=False, a_hears_b=False, b_hears_a=True)
    assert (b.hears("c", "s"), b.hears("s", "c")) == (False, True)
    assert b.mix("c", "s", True, True) and b.hears("c", "s")
    assert b.mix("c", "s", False, False) and not b.hears("s", "c")
    assert not b.mix("c", "x", True, True), "no such bridge"
    assert not b.hears("c", "x")
    b.split("c", "s")
    b.join("c", "s", linked=False)  # a new bridge hears both ways again
    assert b.hears("c", "s") and b.hears("s", "c")
    b.mix("c", "s", False, False)
    assert b.remove("c") == [] and not b.hears("s", "c")
    b.join("c", "s", linked=True)
    assert b.hears("s", "c"), "a leg's end forgets its muted directions"
