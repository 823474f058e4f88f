"""The bridge relation: symmetric, edited in one place, and the hang-up policy's source."""

from __future__ import annotations

import pytest

from gateway.sip.bridges import Bridges


def test_a_bridge_is_symmetric_and_split_removes_both_sides() -> None:
    b = Bridges()
    b.join("caller", "agent", linked=True)
    assert b.peers("caller") == ["agent"] and b.peers("agent") == ["caller"]
    assert b.split("agent", "caller") is True
    assert b.peers("caller") == [] and b.peers("agent") == []
    assert b.split("agent", "caller") is False


def test_a_leg_that_ends_releases_its_bridges_and_names_its_linked_peers() -> None:
    b = Bridges()
    b.join("caller", "agent", linked=True)
    b.join("caller", "monitor", linked=False)
    assert b.remove("caller") == ["agent"]  # only linked peers are hung up
    assert b.peers("agent") == [] and b.peers("monitor") == []
    assert b.remove("caller") == []


def test_joining_again_updates_the_link() -> None:
    b = Bridges()
    b.join("a", "b", linked=True)
    b.join("b", "a", linked=False)
    assert b.remove("a") == [] and b.peers("b") == []


def test_a_leg_cannot_be_bridged_to_itself() -> None:
    with pytest.raises(ValueError):
        Bridges().join("a", "a", linked=True)
