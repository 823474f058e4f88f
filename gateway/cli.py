"""`contactgw` command line: one sub-command per module in gateway.subcommands.

Each command module exposes `add_arguments(parser)` and `main(args) -> int`; they are
imported lazily so `contactgw simulate` never loads pjsua2 or the web stack.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "run": "start the gateway: edge, worker pool, control plane and API",
    "simulate": "run the ACD engine in a discrete-event simulation and print KPIs",
    "events": "call events: `events tail` prints them live from the broker",
    "config": "routing versions in the database: apply, export, history, rollback",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contactgw", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"gateway.subcommands.{name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._main(args))


if __name__ == "__main__":
    sys.exit(main())
