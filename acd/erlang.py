"""Staffing formulas: Erlang C (M/M/n) and Erlang A (M/M/n+M, exponential patience).

Notation: lam = arrivals per second, aht = mean handle time (1/mu), n = agents,
A = lam * aht (offered load, erlangs), t = service-level threshold (s).

Erlang C (callers never abandon; needs n > A):
    B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1))                 Erlang B, stable recursion
    P(wait) = C = n B(n) / (n - A (1 - B(n)))
    SL(t) = P(W <= t) = 1 - C exp(-(n - A) t / aht)
    ASA = C aht / (n - A);  occupancy = A / n

Erlang A (patience ~ Exp(theta), theta = 1/mean patience), Palm's birth-death chain on
k = calls in system: birth lam; death k mu (k <= n), n mu + (k - n) theta (k > n).
    pi_k ~ A^k / k!                                     k <= n
    pi_k ~ pi_n prod_{j=1..k-n} lam / (n mu + j theta)   k > n   (summed until negligible)
An arrival sees pi_k (PASTA). One who finds j = k - n callers ahead moves up at rate
n mu + i theta (i ahead) while abandoning at rate theta, so, telescoping,
    P(served | j) = n mu / (n mu + (j + 1) theta)
and its wait, given served, is a sum of Exp(n mu + i theta), i = 1..j+1. Hence
    P(wait) = sum_{k>=n} pi_k,   P(abandon) = 1 - sum_k pi_k P(served | k)
    ASA (answered calls) = sum_j pi_{n+j} P(served|j) sum_{i=1..j+1} 1/(n mu + i theta) / P(served)
    SL(t) = P(answered and W <= t), from the tagged caller's chain by uniformisation
    occupancy = lam (1 - P(abandon)) aht / n
SL here counts abandoned callers as failures (answered within t / all offered).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StaffingResult:
    agents: int
    load_erlangs: float
    p_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float
    p_abandon: float = 0.0


def erlang_b(n: int, load: float) -> float:
    b = 1.0
    for k in range(1, n + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(
    agents: int, arrivals_per_hour: float, aht: float, sl_seconds: float
) -> StaffingResult:
    """Erlang C metrics; raises ValueError when the queue is unstable (n <= A)."""
    lam = arrivals_per_hour / 3600.0
    load = lam * aht
    if agents <= load:
        raise ValueError(f"{agents} agents cannot carry {load:.2f} erlangs without abandonment")
    b = erlang_b(agents, load)
    c = agents * b / (agents - load * (1.0 - b))
    return StaffingResult(
        agents=agents,
        load_erlangs=load,
        p_wait=c,
        service_level=1.0 - c * math.exp(-(agents - load) * sl_seconds / aht),
        asa_seconds=c * aht / (agents - load),
        occupancy=load / agents,
    )


def _erlang_a_states(n: int, lam: float, mu: float, theta: float) -> list[float]:
    """Normalised pi_k for k = 0 .. K (K where the tail is negligible)."""
    load = lam / mu
    weights = [1.0]
    for k in range(1, n + 1):
        weights.append(weights[-1] * load / k)
    j = 0
    while True:
        j += 1
        w = weights[-1] * lam / (n * mu + j * theta)
        weights.append(w)
        if w < 1e-16 * sum(weights[-50:]) or j > 100_000:
            break
    total = sum(weights)
    return [w / total for w in weights]


def _served_within(n: int, mu: float, theta: float, ahead: list[float], t: float) -> float:
    """P(served by time t) for a tagged caller with `ahead[j]` = P(j callers ahead),
    by uniformisation of its pure-death chain (stage s = callers ahead + 1)."""
    stages = len(ahead)
    rate = n * mu + stages * theta  # >= every total exit rate
    # v[s]: probability at stage s (s = 1..stages); served mass accumulates separately.
    v = [0.0] + ahead[:]
    served = 0.0
    poisson = math.exp(-rate * t)
    result = poisson * served
    m = 0
    tail = 1.0 - poisson
    while tail > 1e-12 and m < 100_000:
        m += 1
        new = [0.0] * (stages + 1)
        for s in range(1, stages + 1):
            p = v[s]
            if p == 0.0:
                continue
            move = (n * mu + (s - 1) * theta) / rate
            stay = 1.0 - move - theta / rate
            if s == 1:
                served += p * move
            else:
                new[s - 1] += p * move
            new[s] += p * stay
        v = new
        poisson *= rate * t / m
        result += poisson * served
        tail -= poisson
    return result + tail * served


def erlang_a(
    agents: int, arrivals_per_hour: float, aht: float, sl_seconds: float, patience: float
) -> StaffingResult:
    """Erlang A metrics with exponential patience of mean `patience` seconds."""
    n, lam, mu, theta = agents, arrivals_per_hour / 3600.0, 1.0 / aht, 1.0 / patience
    pi = _erlang_a_states(n, lam, mu, theta)
    p_wait = sum(pi[n:])
    ahead = pi[n:]  # j callers ahead of the arrival, j = 0..
    p_served_j = [n * mu / (n * mu + (j + 1) * theta) for j in range(len(ahead))]
    p_served = sum(pi[:n]) + sum(a * s for a, s in zip(ahead, p_served_j, strict=True))
    wait_sum, cum = 0.0, 0.0
    for j, a in enumerate(ahead):
        cum += 1.0 / (n * mu + (j + 1) * theta)
        wait_sum += a * p_served_j[j] * cum
    within = sum(pi[:n]) + _served_within(n, mu, theta, ahead, sl_seconds)
    return StaffingResult(
        agents=n,
        load_erlangs=lam * aht,
        p_wait=p_wait,
        service_level=within,
        asa_seconds=wait_sum / p_served,
        occupancy=lam * p_served * aht / n,
        p_abandon=1.0 - p_served,
    )


def agents_needed(
    arrivals_per_hour: float,
    aht: float,
    sl_seconds: float,
    target: float,
    patience: float | None = None,
    max_agents: int = 10_000,
) -> StaffingResult:
    """Fewest agents whose service level reaches `target` (e.g. 0.8 for 80/20)."""
    load = arrivals_per_hour / 3600.0 * aht
    n = max(1, math.floor(load) + (1 if patience is None else 0))
    while n <= max_agents:
        if patience is None:
            result = erlang_c(n, arrivals_per_hour, aht, sl_seconds)
        else:
            result = erlang_a(n, arrivals_per_hour, aht, sl_seconds, patience)
        if result.service_level >= target:
            return result
        n += 1
    raise ValueError(f"target {target} not reachable with {max_agents} agents")
