"""Managing users and tokens (what ``contactgw users`` / ``tokens`` call).

Every change is written to the audit log as done by ``cli:<login>`` (role ``cli``:
whoever can write the database). A new token is returned once, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gateway.auth.errors import InvalidUser
from gateway.auth.permissions import Role
from gateway.auth.service import utcnow
from gateway.auth.tokens import new_token
from gateway.store.engine import Database
from gateway.store.records import NotFoundError
from gateway.store.users import AuditEntry, AuditStore, DuplicateUser, UserRecord, UserStore

NAME = re.compile(r"^[\w.@-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Issued:
    user: str
    token_id: str
    token: str


class UserAdmin:
    def __init__(self, db: Database, *, actor: str, now: Callable[[], datetime] = utcnow) -> None:
        self._users, self._audit = UserStore(db), AuditStore(db)
        self._actor, self._now = actor, now

    async def add(self, name: str, role: str, agent_id: str | None = None) -> Issued:
        checked = _validate(name, role, agent_id)
        token = new_token()
        try:
            await self._users.add_user(
                name, checked, agent_id, token_id=token.id, sha256=token.sha256, now=self._now()
            )
        except DuplicateUser as exc:
            await self._record("user.add", name, "refused", {"reason": str(exc)})
            raise InvalidUser(str(exc)) from None
        details = {"role": checked.value, "agent_id": agent_id, "token_id": token.id}
        await self._record("user.add", name, "ok", details)
        return Issued(name, token.id, token.token)

    async def issue(self, name: str) -> Issued:
        """Another token for an existing user (e.g. to rotate one, then revoke the old)."""
        token = new_token()
        try:
            await self._users.add_token(
                name, token_id=token.id, sha256=token.sha256, now=self._now()
            )
        except NotFoundError as exc:
            raise InvalidUser(str(exc)) from None
        await self._record("token.add", name, "ok", {"token_id": token.id})
        return Issued(name, token.id, token.token)

    async def remove(self, name: str) -> None:
        try:
            await self._users.remove_user(name)
        except NotFoundError as exc:
            raise InvalidUser(str(exc)) from None
        await self._record("user.remove", name, "ok", {})

    async def revoke(self, token_id: str) -> str:
        try:
            owner = await self._users.revoke_token(token_id, self._now())
        except NotFoundError as exc:
            raise InvalidUser(str(exc)) from None
        await self._record("token.revoke", token_id, "ok", {"user": owner})
        return owner

    async def list(self) -> list[UserRecord]:
        return await self._users.users()

    async def _record(
        self, action: str, target: str, outcome: str, details: Mapping[str, object]
    ) -> None:
        await self._audit.add(
            AuditEntry(
                at=self._now(),
                user=self._actor,
                role="cli",
                action=action,
                outcome=outcome,
                target=target,
                details=dict(details),
            )
        )


def _validate(name: str, role: str, agent_id: str | None) -> Role:
    if not NAME.match(name):
        raise InvalidUser(f"{name!r}: a name is 1-64 letters, digits, or . @ _ -")
    try:
        checked = Role(role)
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise InvalidUser(f"unknown role {role!r}: one of {valid}") from None
    if checked is Role.AGENT and not agent_id:
        raise InvalidUser("role agent needs --agent ID (the agent it acts as)")
    if checked is not Role.AGENT and agent_id:
        raise InvalidUser(f"--agent is for role agent only, not {checked}")
    return checked
