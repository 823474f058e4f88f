"""`contactgw simulate`: run the ACD engine in a discrete-event simulation (acd.simulator)
and print its KPIs, with the Erlang C (or, with --patience, Erlang A) prediction."""

from __future__ import annotations

import argparse
import json
import sys
import time

from acd.erlang import erlang_a, erlang_c
from acd.simulator import SimConfig, simulate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, required=True, help="agents logged in")
    parser.add_argument("--arrivals-per-hour", type=float, required=True, help="Poisson rate")
    parser.add_argument("--aht", type=float, required=True, help="mean handle time, seconds")
    parser.add_argument("--sl-seconds", type=float, default=20.0, help="service-level target")
    parser.add_argument("--patience", type=float, default=None, help="mean patience, seconds")
    parser.add_argument("--calls", type=int, default=100_000, help="calls to measure")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON (the default output)")


def _theory(args: argparse.Namespace) -> dict[str, object] | None:
    """Erlang C (no patience) or Erlang A prediction; None if Erlang C is undefined
    (an overloaded queue without abandonment)."""
    try:
        if args.patience is None:
            t = erlang_c(args.agents, args.arrivals_per_hour, args.aht, args.sl_seconds)
        else:
            t = erlang_a(
                args.agents, args.arrivals_per_hour, args.aht, args.sl_seconds, args.patience
            )
    except ValueError:
        return None
    return {
        "model": "erlang-c" if args.patience is None else "erlang-a",
        "service_level": t.service_level,
        "p_wait": t.p_wait,
        "asa_seconds": t.asa_seconds,
        "occupancy": t.occupancy,
        "abandon_rate": t.p_abandon,
    }


def main(args: argparse.Namespace) -> int:
    cfg = SimConfig(
        agents=args.agents,
        arrivals_per_hour=args.arrivals_per_hour,
        aht=args.aht,
        sl_seconds=args.sl_seconds,
        patience=args.patience,
        calls=args.calls,
        seed=args.seed,
    )
    output: dict[str, object] = dict(simulate(cfg, clock=time.perf_counter).as_dict())
    output["theory"] = _theory(args)
    json.dump(output, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="contactgw simulate")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
