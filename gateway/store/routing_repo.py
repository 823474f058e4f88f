"""Routing configuration in the database: versioned, audited, idempotent.

:meth:`RoutingRepository.apply_routing_config` replaces the routing tables with a new
:class:`~gateway.settings.RoutingSettings` in one transaction and appends a
``config_versions`` row (source, author, summary, diff, masked snapshot). The content
hash covers everything, secrets included, so applying the same content again returns
the current version and writes nothing; a changed agent password does make a new
version, shown in the diff as "changed" without its value.

On SQLite the read of the current version and the write of the next are serialised by
BEGIN IMMEDIATE (engine.py): two concurrent applies of the same content make one
version, not two.

Read side: :meth:`~RoutingRepository.current_version` is one ``max(version)`` (the
running gateway polls it every second); :meth:`~RoutingRepository.version_settings`
gives a version's content for applying. Secrets are kept for the current version only
(the tables; snapshots are masked), so an older version's agents get their *current*
password, and an agent that exists only in that older version cannot be rebuilt
(:class:`SecretUnavailable`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.settings.routing import RoutingSettings
from gateway.store.engine import Database
from gateway.store.models import (
    Agent,
    AgentQueue,
    AgentSkill,
    ConfigVersion,
    Did,
    Queue,
    RoutingGlobal,
)
from gateway.store.records import RoutingVersion

MASK = "********"
# Routing settings that are single values rather than tables of their own.
_TABLE_KEYS = ("queues", "dids", "agents")
_GLOBAL_KEYS = tuple(key for key in RoutingSettings.model_fields if key not in _TABLE_KEYS)
_MAX_SUMMARY_CHANGES = 10


class VersionNotFound(LookupError):
    """No such routing version."""


class SecretUnavailable(ValueError):
    """An agent's password at an older version is not stored (only the current one is)."""


class RoutingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply_routing_config(
        self,
        routing: RoutingSettings,
        source: str,
        author: str | None = None,
        *,
        at: datetime | None = None,
    ) -> RoutingVersion:
        """Store ``routing`` as the current configuration; returns its version."""
        async with self._db.transaction() as session:
            current = await _latest(session)
            old = await _read_tables(session) if current is not None else None
            return await _store(session, current, old, routing, source, author, at)

    async def apply_change(
        self,
        change: Callable[[int, RoutingSettings], RoutingSettings],
        source: str,
        author: str | None = None,
    ) -> tuple[RoutingVersion, RoutingSettings]:
        """Read-modify-write in one write transaction: ``change(version, content)``
        builds the next content from the current one (version 0, empty content: nothing
        applied yet) or raises to refuse, and nothing is written. The writer lock is held
        from the read to the write, so concurrent changes (the API's) each start from the
        one before: none is lost. Returns the version stored and its content."""
        async with self._db.transaction() as session:
            current = await _latest(session)
            old = await _read_tables(session)
            routing = change(current.version if current is not None else 0, old)
            base = old if current is not None else None
            version = await _store(session, current, base, routing, source, author, None)
            return version, routing

    async def apply_if_source_changed(
        self, routing: RoutingSettings, source: str
    ) -> tuple[RoutingVersion, RoutingSettings]:
        """At start: apply `routing` (the YAML file) only if it differs from what this
        source last applied. A change made since by another writer (the CLI, the API, a
        rollback) is then kept: the database is the truth, the file one way to write it.
        Returns the version that runs and its content."""
        digest = content_hash(full_content(routing))
        async with self._db.reading() as session:
            latest = await _latest(session)
            query = (
                select(ConfigVersion.content_hash)
                .where(ConfigVersion.source == source)
                .order_by(ConfigVersion.version.desc())
                .limit(1)
            )
            last_from_source = await session.scalar(query)
        if latest is not None and last_from_source == digest:
            return _version_record(latest), await self.version_settings(latest.version)
        version = await self.apply_routing_config(routing, source=source)
        return version, routing

    async def load_routing_config(self) -> tuple[RoutingVersion, RoutingSettings] | None:
        """The current version and its content, or None if nothing was ever applied."""
        async with self._db.transaction() as session:
            current = await _latest(session)
            if current is None:
                return None
            return _version_record(current), await _read_tables(session)

    async def current_version(self) -> int | None:
        """The newest version number (one cheap query), None if nothing was applied."""
        async with self._db.reading() as session:
            number: int | None = await session.scalar(select(func.max(ConfigVersion.version)))
            return number

    async def version(self, number: int) -> RoutingVersion:
        async with self._db.reading() as session:
            return _version_record(await _version_row(session, number))

    async def version_snapshot(self, number: int) -> dict[str, Any]:
        """A version's content as stored in the audit trail (secrets masked)."""
        async with self._db.reading() as session:
            return dict((await _version_row(session, number)).snapshot)

    async def version_settings(self, number: int) -> RoutingSettings:
        """A version's full content, secrets revealed, for applying (rollback, live).

        The current version comes from the tables; an older one from its snapshot with
        each agent's current password (SecretUnavailable for an agent gone since).
        """
        async with self._db.reading() as session:
            row = await _version_row(session, number)
            current = await _latest(session)
            tables = await _read_tables(session)
        if current is not None and row.version == current.version:
            return tables
        data: dict[str, Any] = json.loads(json.dumps(row.snapshot))
        for user, agent in data.get("agents", {}).items():
            now = tables.agents.get(user)
            if now is None:
                raise SecretUnavailable(
                    f"agent {user!r} of version {number} no longer exists and its password "
                    "is not stored (only the current version's secrets are): apply a file "
                    "that gives it"
                )
            agent["password"] = now.password.get_secret_value()
        return RoutingSettings.model_validate(data)

    async def preview(self, routing: RoutingSettings) -> list[dict[str, Any]] | None:
        """The diff that applying ``routing`` would record; None if it is the current
        content (no change); every key as added if nothing was applied yet."""
        content = full_content(routing)
        async with self._db.reading() as session:
            current = await _latest(session)
            if current is not None and current.content_hash == content_hash(content):
                return None
            old = full_content(await _read_tables(session)) if current is not None else {}
        return diff(old, content)

    async def versions(self, limit: int = 20) -> tuple[RoutingVersion, ...]:
        """The audit trail, newest first."""
        query = select(ConfigVersion).order_by(ConfigVersion.version.desc()).limit(limit)
        async with self._db.transaction() as session:
            return tuple(_version_record(row) for row in (await session.scalars(query)).all())


async def _store(
    session: AsyncSession,
    current: ConfigVersion | None,
    old: RoutingSettings | None,
    routing: RoutingSettings,
    source: str,
    author: str | None,
    at: datetime | None,
) -> RoutingVersion:
    """Append the version of ``routing`` and replace the tables (``old``: the tables'
    content now, None if nothing was applied); the same content writes nothing."""
    content = full_content(routing)
    digest = content_hash(content)
    if current is not None and current.content_hash == digest:
        return _version_record(current)
    changes = diff(full_content(old), content) if old is not None else []
    row = ConfigVersion(
        applied_at=at or datetime.now(UTC),
        source=source,
        author=author,
        content_hash=digest,
        summary=_summary(routing, changes, initial=current is None),
        diff={"changes": changes},
        snapshot=masked(content),
    )
    session.add(row)
    await session.flush()
    await _replace_tables(session, routing, row.version)
    return _version_record(row)


async def _latest(session: AsyncSession) -> ConfigVersion | None:
    query = select(ConfigVersion).order_by(ConfigVersion.version.desc()).limit(1)
    return (await session.scalars(query)).first()


async def _version_row(session: AsyncSession, number: int) -> ConfigVersion:
    row = await session.get(ConfigVersion, number)
    if row is None:
        newest = await session.scalar(select(func.max(ConfigVersion.version)))
        known = f"versions 1..{newest}" if newest else "no version applied yet"
        raise VersionNotFound(f"no routing version {number} ({known})")
    return row


async def _read_tables(session: AsyncSession) -> RoutingSettings:
    data: dict[str, Any] = {
        row.key: row.value["value"] for row in (await session.scalars(select(RoutingGlobal))).all()
    }
    queues = (await session.scalars(select(Queue).order_by(Queue.position, Queue.name))).all()
    data["queues"] = {q.name: q.config for q in queues}
    dids = (await session.scalars(select(Did).order_by(Did.position))).all()
    data["dids"] = [
        {"number": d.number, "queue": d.queue, "priority": d.priority, **d.config} for d in dids
    ]
    data["agents"] = await _agents(session)
    # keys stored as null were left out of the file (actions must not be given as null)
    return RoutingSettings.model_validate({k: v for k, v in data.items() if v is not None})


async def _replace_tables(session: AsyncSession, routing: RoutingSettings, version: int) -> None:
    for table in (Did, AgentSkill, AgentQueue, Agent, Queue, RoutingGlobal):
        await session.execute(delete(table))
    data = routing.model_dump(mode="json")
    session.add_all(RoutingGlobal(key=key, value={"value": data[key]}) for key in _GLOBAL_KEYS)
    session.add_all(
        Queue(
            name=name,
            strategy=queue.strategy,
            config=data["queues"][name],
            position=position,
            version=version,
        )
        for position, (name, queue) in enumerate(routing.queues.items())
    )
    await session.flush()  # queues before the rows that reference them
    for position, (user, agent) in enumerate(routing.agents.items()):
        session.add(
            Agent(
                sip_user=user,
                display_name=agent.display_name,
                password=agent.password.get_secret_value(),
                config={"rank": agent.rank, "uri": agent.uri},
                position=position,
                version=version,
            )
        )
    await session.flush()
    for user, agent in routing.agents.items():
        session.add_all(
            AgentQueue(agent=user, queue=q, position=i) for i, q in enumerate(agent.queues)
        )
        session.add_all(
            AgentSkill(agent=user, skill=s, level=lvl, position=i)
            for i, (s, lvl) in enumerate(agent.skills.items())
        )
    for position, did in enumerate(routing.dids):
        session.add(
            Did(
                number=did.number,
                queue=did.queue,
                priority=did.priority,
                position=position,
                config={"skills": list(did.skills), "tags": list(did.tags)},
            )
        )


async def _agents(session: AsyncSession) -> dict[str, Any]:
    agents: dict[str, Any] = {}
    rows = select(Agent).order_by(Agent.position, Agent.sip_user)
    for row in (await session.scalars(rows)).all():
        agents[row.sip_user] = {
            "password": row.password,
            "display_name": row.display_name,
            "queues": [],
            "skills": {},
            **row.config,
        }
    memberships = select(AgentQueue).order_by(AgentQueue.agent, AgentQueue.position)
    for membership in (await session.scalars(memberships)).all():
        agents[membership.agent]["queues"].append(membership.queue)
    skills = select(AgentSkill).order_by(AgentSkill.agent, AgentSkill.position, AgentSkill.skill)
    for skill in (await session.scalars(skills)).all():
        agents[skill.agent]["skills"][skill.skill] = skill.level
    return agents


def full_content(routing: RoutingSettings) -> dict[str, Any]:
    """JSON-ready content with secrets revealed (for hashing and diffing only)."""
    data = routing.model_dump(mode="json")
    for user, agent in routing.agents.items():
        data["agents"][user]["password"] = agent.password.get_secret_value()
    return data


def masked(content: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(content))
    for agent in data.get("agents", {}).values():
        agent["password"] = MASK
    return data


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Changes between two contents as ``{"op", "path", "old", "new"}``; secrets masked."""
    flat_old, flat_new = _flatten(old), _flatten(new)
    changes: list[dict[str, Any]] = []
    for path in sorted(flat_old.keys() | flat_new.keys()):
        before, after = flat_old.get(path, _ABSENT), flat_new.get(path, _ABSENT)
        secret = path.endswith(".password")
        if before == after:
            continue
        op = "add" if before is _ABSENT else "remove" if after is _ABSENT else "change"
        change: dict[str, Any] = {"op": op, "path": path}
        if before is not _ABSENT:
            change["old"] = MASK if secret else before
        if after is not _ABSENT:
            change["new"] = MASK if secret else after
        changes.append(change)
    return changes


_ABSENT: Any = object()


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _summary(routing: RoutingSettings, changes: list[dict[str, Any]], *, initial: bool) -> str:
    if initial:
        return (
            f"initial: {len(routing.queues)} queues, {len(routing.agents)} agents, "
            f"{len(routing.dids)} DIDs"
        )
    shown = [f"{c['op']} {c['path']}" for c in changes[:_MAX_SUMMARY_CHANGES]]
    more = len(changes) - len(shown)
    return f"{len(changes)} changes: " + "; ".join(shown) + (f"; and {more} more" if more else "")


def _version_record(row: ConfigVersion) -> RoutingVersion:
    return RoutingVersion(
        version=row.version,
        applied_at=row.applied_at,
        source=row.source,
        author=row.author,
        content_hash=row.content_hash,
        summary=row.summary,
        changes=tuple(row.diff.get("changes", ())),
    )
