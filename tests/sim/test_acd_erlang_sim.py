"""The simulator, driving the real engine, against queueing theory.

The simulator is deterministic for a given seed, so these tests cannot flake; the call
counts are chosen so that the seed-to-seed standard deviation is well inside the
tolerance (measured over 8 seeds, see docs/acd.md): Erlang C loads mix slowly (long
busy periods), so they need the most calls; with abandonment the system forgets fast.
"""

from __future__ import annotations

import pytest

from acd.erlang import erlang_a, erlang_c
from acd.simulator import SimConfig, simulate


def test_call_centre_helper_example_matches_erlang_c() -> None:
    # 100 calls / 30 min, AHT 180 s, 14 agents, 20 s: SL 0.888, P(wait) 0.174, occ 0.714
    theory = erlang_c(14, 200, 180, 20)
    sim = simulate(SimConfig(14, 200, 180, 20, calls=250_000, seed=11))
    assert sim.service_level == pytest.approx(theory.service_level, abs=0.015)
    assert sim.p_wait == pytest.approx(theory.p_wait, abs=0.015)
    assert sim.occupancy == pytest.approx(theory.occupancy, abs=0.01)
    assert sim.asa_seconds == pytest.approx(theory.asa_seconds, rel=0.15)
    assert sim.abandon_rate == 0.0 and sim.answered == sim.calls


@pytest.mark.parametrize(
    ("agents", "per_hour", "aht", "sl", "calls", "tol"),
    [
        (5, 100, 120, 30, 100_000, 0.015),  # light: 3.3 erlangs on 5 agents
        (12, 200, 180, 20, 120_000, 0.03),  # heavy: 83 % occupancy, slow mixing, sd 0.007
        (50, 800, 180, 15, 100_000, 0.025),  # larger team, 40 erlangs: P(wait) sd 0.01
    ],
)
def test_other_loads_match_erlang_c(
    agents: int, per_hour: float, aht: float, sl: float, calls: int, tol: float
) -> None:
    theory = erlang_c(agents, per_hour, aht, sl)
    sim = simulate(SimConfig(agents, per_hour, aht, sl, calls=calls, seed=3))
    assert sim.service_level == pytest.approx(theory.service_level, abs=tol)
    assert sim.p_wait == pytest.approx(theory.p_wait, abs=tol)
    assert sim.occupancy == pytest.approx(theory.occupancy, abs=0.01)


@pytest.mark.parametrize(
    ("agents", "per_hour", "aht", "sl", "patience"),
    [
        (14, 200, 180, 20, 120),  # the CCH load with impatient callers
        (10, 250, 180, 20, 60),  # overloaded (12.5 erlangs on 10): only patience saves it
    ],
)
def test_abandonment_matches_erlang_a(
    agents: int, per_hour: float, aht: float, sl: float, patience: float
) -> None:
    theory = erlang_a(agents, per_hour, aht, sl, patience)
    sim = simulate(SimConfig(agents, per_hour, aht, sl, patience=patience, calls=100_000, seed=5))
    assert sim.service_level == pytest.approx(theory.service_level, abs=0.01)
    assert sim.p_wait == pytest.approx(theory.p_wait, abs=0.01)
    assert sim.abandon_rate == pytest.approx(theory.p_abandon, abs=0.01)
    assert sim.asa_seconds == pytest.approx(theory.asa_seconds, rel=0.1, abs=0.5)
    assert sim.occupancy == pytest.approx(theory.occupancy, abs=0.01)


def test_simulation_is_deterministic_per_seed() -> None:
    cfg = SimConfig(3, 60, 120, 20, patience=90, calls=2_000, seed=9)
    first, second = simulate(cfg), simulate(cfg)
    assert first == second
    assert simulate(SimConfig(3, 60, 120, 20, patience=90, calls=2_000, seed=10)) != first
