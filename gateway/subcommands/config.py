"""`contactgw config apply|export|history|rollback`: the routing versions in the database.

Works against the database the gateway's configuration names (``--config``; for
``apply`` the FILE itself by default), also while the gateway runs: a running gateway
sees a new version within about a second and applies it live (docs/administration.md).
Exit codes: 0 done (or no change), 1 the file does not validate, 2 a usage error
(unknown version, a secret that is not stored, no database).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.settings import DEFAULT_CONFIG, RoutingSettings, SettingsError, load_settings
from gateway.store.engine import Database
from gateway.store.migrate import migrate
from gateway.store.routing_repo import (
    MASK,
    RoutingRepository,
    SecretUnavailable,
    VersionNotFound,
    full_content,
)
from gateway.store.users import AuditEntry, AuditStore
from gateway.subcommands import cli_actor


class CliError(Exception):
    """A usage error: printed, exit 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    apply = sub.add_parser("apply", help="validate FILE, show the diff, apply it as a version")
    apply.add_argument("file", metavar="FILE", help="a configuration YAML (its routing part)")
    apply.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    apply.add_argument("--author", help="recorded in the version's audit row")
    apply.add_argument("--config", help="the gateway's configuration (database); default FILE")
    export = sub.add_parser("export", help="write a version's routing as YAML")
    export.add_argument("--version", type=int, help="default: the current version")
    export.add_argument("--with-secrets", action="store_true", help="agent passwords in clear")
    export.add_argument("-o", "--output", help="write here instead of stdout")
    history = sub.add_parser("history", help="the versions: time, source, author, summary")
    history.add_argument("--limit", type=int, default=50)
    rollback = sub.add_parser("rollback", help="a new version with VERSION's content")
    rollback.add_argument("target", metavar="VERSION", type=int)
    rollback.add_argument("--author")
    for p in (export, history, rollback):
        p.add_argument("--config", default=str(DEFAULT_CONFIG), help="default: %(default)s")


def main(args: argparse.Namespace) -> int:
    actions: dict[str, Action] = {
        "apply": _apply,
        "export": _export,
        "history": _history,
        "rollback": _rollback,
    }
    config = args.config or args.file
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        print(f"contactgw: {exc}", file=sys.stderr)
        return 1 if config == getattr(args, "file", None) else 2
    assert settings.database.url is not None  # the loader fills in the SQLite default
    try:
        return asyncio.run(_with_repo(settings.database.url, actions[args.config_command], args))
    except (CliError, VersionNotFound, SecretUnavailable) as exc:
        print(f"contactgw config {args.config_command}: {exc}", file=sys.stderr)
        return 2


@dataclass(frozen=True, slots=True)
class Store:
    """What a `config` command works on: the routing versions and the audit log."""

    repo: RoutingRepository
    audit: AuditStore


Action = Callable[[Store, argparse.Namespace], Awaitable[int]]


async def _with_repo(url: str, action: Action, args: argparse.Namespace) -> int:
    await migrate(url)  # creates the database on first use; a no-op when it is current
    db = Database.open(url)
    try:
        return await action(Store(RoutingRepository(db), AuditStore(db)), args)
    finally:
        await db.close()


# ---------------------------------------------------------------------- apply / rollback
async def _apply(store: Store, args: argparse.Namespace) -> int:
    repo = store.repo
    try:
        routing = load_settings(args.file).routing
    except SettingsError as exc:
        print(f"contactgw: {exc}", file=sys.stderr)
        return 1
    routing = await keep_masked_passwords(repo, routing)
    return await _write(store, routing, f"file:{args.file}", args.author, dry_run=args.dry_run)


async def _rollback(store: Store, args: argparse.Namespace) -> int:
    routing = await store.repo.version_settings(args.target)
    return await _write(store, routing, f"rollback:{args.target}", args.author, dry_run=False)


async def _write(
    store: Store,
    routing: RoutingSettings,
    source: str,
    author: str | None,
    *,
    dry_run: bool,
) -> int:
    repo = store.repo
    changes = await repo.preview(routing)
    if changes is None:
        print(f"no change (version {await repo.current_version()})")
        return 0
    for line in format_diff(changes):
        print(line)
    if dry_run:
        print(f"dry run: {len(changes)} changes not applied")
        return 0
    version = await repo.apply_routing_config(routing, source=source, author=author)
    # every configuration change is in the audit log, from the CLI as from the API
    await store.audit.add(
        AuditEntry(
            at=version.applied_at,
            user=cli_actor(),
            role="cli",
            action="routing.rollback" if source.startswith("rollback:") else "routing.apply",
            outcome="ok",
            target=f"version {version.version}",
            details={"source": source, "author": author, "changes": len(changes)},
        )
    )
    print(f"applied as version {version.version}")
    return 0


async def keep_masked_passwords(
    repo: RoutingRepository, routing: RoutingSettings
) -> RoutingSettings:
    """An agent password given as the mask (an exported file) keeps the stored one."""
    masked_users = [u for u, a in routing.agents.items() if a.password.get_secret_value() == MASK]
    if not masked_users:
        return routing
    current = await repo.load_routing_config()
    stored = current[1].agents if current is not None else {}
    data = full_content(routing)
    for user in masked_users:
        if user not in stored:
            raise CliError(f"agents.{user}.password: masked, and no stored password to keep")
        data["agents"][user]["password"] = stored[user].password.get_secret_value()
    return RoutingSettings.model_validate(data)


def format_diff(changes: list[dict[str, Any]]) -> list[str]:
    signs = {"add": "+", "remove": "-", "change": "~"}
    lines = []
    for c in changes:
        if c["op"] == "change":
            lines.append(f"~ {c['path']}: {c['old']!r} -> {c['new']!r}")
        else:
            value = c["new"] if c["op"] == "add" else c["old"]
            lines.append(f"{signs[c['op']]} {c['path']}: {value!r}")
    return lines


# ---------------------------------------------------------------------- export / history
async def _export(store: Store, args: argparse.Namespace) -> int:
    repo = store.repo
    number = args.version if args.version is not None else await repo.current_version()
    if number is None:
        raise CliError("no routing version applied yet")
    if args.with_secrets:
        content = full_content(await repo.version_settings(number))
    else:
        content = await repo.version_snapshot(number)
    text = f"# routing version {number}\n" + export_yaml(content)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def export_yaml(content: dict[str, Any]) -> str:
    """The routing keys of a configuration file, defaults left out; passwords as given
    in ``content`` (masked or not)."""
    passwords = {u: a["password"] for u, a in content.get("agents", {}).items()}
    data = RoutingSettings.model_validate(content).model_dump(mode="json", exclude_defaults=True)
    for user, agent in data.get("agents", {}).items():
        agent["password"] = passwords[user]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


async def _history(store: Store, args: argparse.Namespace) -> int:
    repo = store.repo
    versions = await repo.versions(limit=args.limit)
    if not versions:
        print("no routing version applied yet")
        return 0
    print(f"{'version':>7}  {'applied at (UTC)':<19}  {'source':<28}  {'author':<12}  summary")
    for v in versions:
        at = v.applied_at.strftime("%Y-%m-%d %H:%M:%S")
        source = v.source if len(v.source) <= 28 else "…" + v.source[-27:]
        print(f"{v.version:>7}  {at:<19}  {source:<28}  {v.author or '-':<12}  {v.summary}")
    return 0
