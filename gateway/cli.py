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
    "users": "API users and roles: `users add NAME --role ROLE` prints a token once",
    "tokens": "API tokens: `tokens revoke TOKEN_ID`",
}
# a command implemented in another command's module, as `add_<command>_arguments` and
# `<command>_main`
MODULE_OF: dict[str, str] = {"tokens": "users"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contactgw", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"gateway.subcommands.{MODULE_OF.get(name, name)}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        own = name in MODULE_OF
        getattr(module, f"add_{name}_arguments" if own else "add_arguments")(command_parser)
        command_parser.set_defaults(_main=getattr(module, f"{name}_main" if own else "main"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._main(args))


if __name__ == "__main__":
    sys.exit(main())
