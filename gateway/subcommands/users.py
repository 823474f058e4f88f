"""`contactgw users add|list|remove|token` and `contactgw tokens revoke`: API users.

They work on the configured database (``--config`` as for ``contactgw run``), also
while the gateway runs: the API sees a new or revoked token within a second. A new
token is printed once, on stdout alone; it is stored hashed and cannot be shown again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from gateway.settings import DEFAULT_CONFIG, SettingsError, load_settings
from gateway.subcommands import cli_actor

if TYPE_CHECKING:
    from gateway.auth.users import UserAdmin
    from gateway.store.users import UserRecord

ROLES = ("admin", "supervisor", "qa", "agent")


def _config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="default: %(default)s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a user; prints its token once")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--agent", help="for --role agent: the agent (SIP user) it acts as")
    _config(add)
    _config(sub.add_parser("list", help="users, roles and their tokens (ids only)"))
    remove = sub.add_parser("remove", help="remove a user and all its tokens")
    remove.add_argument("name")
    _config(remove)
    token = sub.add_parser("token", help="another token for a user; prints it once")
    token.add_argument("name")
    _config(token)


def add_tokens_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    revoke = sub.add_parser("revoke", help="revoke a token by its id (see `users list`)")
    revoke.add_argument("token_id")
    _config(revoke)


def main(args: argparse.Namespace) -> int:
    command = args.users_command
    if command == "add":
        return _run(args, lambda admin: _add(admin, args.name, args.role, args.agent, args))
    if command == "list":
        return _run(args, _list)
    if command == "remove":
        return _run(args, lambda admin: _remove(admin, args.name))
    return _run(args, lambda admin: _issue(admin, args.name))


def tokens_main(args: argparse.Namespace) -> int:
    return _run(args, lambda admin: _revoke(admin, args.token_id))


def _run(args: argparse.Namespace, work: Callable[[UserAdmin], Awaitable[int]]) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"contactgw: {exc}", file=sys.stderr)
        return 2
    assert settings.database.url is not None  # resolved by the loader
    args.known_agents = set(settings.routing.agents)
    return asyncio.run(_with_admin(settings.database.url, work))


async def _with_admin(url: str, work: Callable[[UserAdmin], Awaitable[int]]) -> int:
    from gateway.auth.errors import InvalidUser
    from gateway.auth.users import UserAdmin
    from gateway.store import Database, migrate

    db = Database.open(url)
    try:
        await migrate(db.engine)  # a no-op when the gateway has run on it
        try:
            return await work(UserAdmin(db, actor=cli_actor()))
        except InvalidUser as exc:
            print(f"contactgw: {exc}", file=sys.stderr)
            return 1
    finally:
        await db.close()


async def _add(
    admin: UserAdmin, name: str, role: str, agent: str | None, args: argparse.Namespace
) -> int:
    if agent is not None and agent not in args.known_agents:
        print(f"contactgw: warning: {agent!r} is not an agent of {args.config}", file=sys.stderr)
    issued = await admin.add(name, role, agent)
    _print_token(issued.user, issued.token_id, issued.token)
    return 0


async def _issue(admin: UserAdmin, name: str) -> int:
    issued = await admin.issue(name)
    _print_token(issued.user, issued.token_id, issued.token)
    return 0


def _print_token(user: str, token_id: str, token: str) -> None:
    print(f"token {token_id} for {user} (shown once, store it now):", file=sys.stderr)
    print(token)


async def _remove(admin: UserAdmin, name: str) -> int:
    await admin.remove(name)
    print(f"removed {name} and its tokens", file=sys.stderr)
    return 0


async def _revoke(admin: UserAdmin, token_id: str) -> int:
    owner = await admin.revoke(token_id)
    print(f"revoked token {token_id} of {owner}", file=sys.stderr)
    return 0


async def _list(admin: UserAdmin) -> int:
    print_users(await admin.list(), sys.stdout)
    return 0


def print_users(users: list[UserRecord], out: TextIO) -> None:
    def when(at: datetime | None) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else "-"

    print(
        f"{'USER':<20} {'ROLE':<10} {'AGENT':<12} TOKENS (id created last-used revoked)", file=out
    )
    for user in users:
        print(f"{user.name:<20} {user.role:<10} {user.agent_id or '-':<12}", file=out)
        for t in user.tokens:
            state = f"revoked {when(t.revoked_at)}" if t.revoked_at else "active"
            print(f"{'':<44} {t.id} {when(t.created_at)} {when(t.last_used_at)} {state}", file=out)
