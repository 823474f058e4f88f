"""Token lookup, the short cache, revocation, open/closed mode, and the audit trail,
on a real SQLite database with a stepped monotonic clock."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from gateway.auth import ANONYMOUS, Authenticator, InvalidUser, Principal, Role, UserAdmin
from gateway.auth.errors import AuthUnavailable, Unauthenticated
from gateway.auth.service import ADMIN_TOKEN, CACHE_TTL
from gateway.store import Database
from gateway.store.engine import create_engine
from gateway.store.users import AuditEntry, AuditStore

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def auth_for(db: Database, clock: Clock, admin_token: str | None = None) -> Authenticator:
    return Authenticator(db, admin_token, monotonic=clock, now=lambda: T0)


async def test_a_users_token_authenticates_as_that_user_with_its_role(db: Database) -> None:
    admin = UserAdmin(db, actor="cli:test", now=lambda: T0)
    issued = await admin.add("ana", "agent", "alice")
    auth = auth_for(db, Clock())
    who = await auth.authenticate(issued.token)
    assert who == Principal("ana", Role.AGENT, "alice", issued.token_id)
    await auth.settled()
    (user,) = await admin.list()
    assert user.tokens[0].last_used_at == T0  # written in the background


async def test_no_unknown_or_malformed_token_gets_in_once_auth_is_on(db: Database) -> None:
    issued = await UserAdmin(db, actor="cli:test").add("sam", "supervisor")
    auth = auth_for(db, Clock())
    forged = issued.token[:-4] + "AAAA"
    for token in (None, "", "nope", forged):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(token)


async def test_a_revoked_token_stops_working_once_the_cache_entry_expires(db: Database) -> None:
    admin = UserAdmin(db, actor="cli:test")
    issued = await admin.add("qa1", "qa")
    clock = Clock()
    auth = auth_for(db, clock)
    assert (await auth.authenticate(issued.token)).name == "qa1"
    assert await admin.revoke(issued.token_id) == "qa1"
    clock.t += CACHE_TTL / 2
    assert (await auth.authenticate(issued.token)).name == "qa1"  # still cached
    clock.t += CACHE_TTL / 2
    with pytest.raises(Unauthenticated):
        await auth.authenticate(issued.token)
    assert CACHE_TTL < 1.0


async def test_removing_a_user_revokes_all_its_tokens(db: Database) -> None:
    admin = UserAdmin(db, actor="cli:test")
    first = await admin.add("ops", "admin")
    second = await admin.issue("ops")
    await UserAdmin(db, actor="cli:test").add("other", "qa")  # auth stays on
    await admin.remove("ops")
    auth = auth_for(db, Clock())
    for token in (first.token, second.token):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(token)
    assert [u.name for u in await admin.list()] == ["other"]


async def test_with_no_user_and_no_admin_token_the_api_is_open_until_a_user_exists(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    auth = auth_for(db, clock)
    await auth.announce()
    assert "authentication is off" in caplog.text
    assert await auth.authenticate(None) is ANONYMOUS
    await UserAdmin(db, actor="cli:test").add("first", "admin")
    clock.t += CACHE_TTL
    with pytest.raises(Unauthenticated):
        await auth.authenticate(None)


async def test_the_admin_token_is_a_builtin_admin_alongside_users(db: Database) -> None:
    issued = await UserAdmin(db, actor="cli:test").add("qa1", "qa")
    auth = auth_for(db, Clock(), admin_token="t0k")
    assert await auth.authenticate("t0k") is ADMIN_TOKEN
    assert (await auth.authenticate(issued.token)).role is Role.QA
    with pytest.raises(Unauthenticated):
        await auth.authenticate(None)
    no_db = Authenticator(None, "t0k")
    assert await no_db.authenticate("t0k") is ADMIN_TOKEN
    with pytest.raises(Unauthenticated):
        await no_db.authenticate("wrong")


@pytest.mark.parametrize(
    ("name", "role", "agent", "error"),
    [
        ("a b", "qa", None, "a name is"),
        ("x", "root", None, "unknown role 'root': one of admin, supervisor, qa, agent"),
        ("x", "agent", None, "needs --agent"),
        ("x", "qa", "alice", "for role agent only"),
    ],
)
async def test_bad_users_are_refused_with_the_reason(
    db: Database, name: str, role: str, agent: str | None, error: str
) -> None:
    with pytest.raises(InvalidUser, match=error):
        await UserAdmin(db, actor="cli:test").add(name, role, agent)


async def test_every_cli_change_is_audited(db: Database) -> None:
    admin = UserAdmin(db, actor="cli:ops", now=lambda: T0)
    issued = await admin.add("ana", "agent", "alice")
    with pytest.raises(InvalidUser, match="exists"):
        await admin.add("ana", "qa")
    await admin.revoke(issued.token_id)
    await admin.remove("ana")
    rows = await AuditStore(db).page()
    assert [(r.user, r.role, r.action, r.target, r.outcome) for r in rows] == [
        ("cli:ops", "cli", "user.add", "ana", "ok"),
        ("cli:ops", "cli", "user.add", "ana", "refused"),
        ("cli:ops", "cli", "token.revoke", issued.token_id, "ok"),
        ("cli:ops", "cli", "user.remove", "ana", "ok"),
    ]
    assert rows[0].details == {"role": "agent", "agent_id": "alice", "token_id": issued.token_id}
    assert issued.token not in str(rows)  # the token itself is never written


async def test_audit_pages_and_filters(db: Database) -> None:
    store = AuditStore(db)
    for n in range(5):
        await store.add(AuditEntry(T0 + timedelta(minutes=n), f"u{n % 2}", "admin", f"a{n}", "ok"))
    first = await store.page(limit=2)
    rest = await store.page(after=first[-1].id, limit=10)
    assert [r.action for r in first + rest] == ["a0", "a1", "a2", "a3", "a4"]
    assert [r.action for r in await store.page(user="u1")] == ["a1", "a3"]
    assert [r.action for r in await store.page(action="a2")] == ["a2"]
    since = await store.page(since=T0 + timedelta(minutes=3))
    assert [r.action for r in since] == ["a3", "a4"]


async def test_an_audit_write_waits_out_a_briefly_locked_database(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock for 0.3 s, past a 20 ms busy_timeout:
    the entry is retried and stored, not lost."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"
    setup = Database.open(url)
    from gateway.store import migrate

    await migrate(setup.engine)
    await setup.close()
    db = Database(create_engine(url, busy_timeout_ms=20))
    locker = sqlite3.connect(tmp_path / "gw.db", isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, locker.commit)
    release.start()
    try:
        await AuditStore(db, retries=8, delay=0.02).add(
            AuditEntry(T0, "ana", "agent", "agent.pause", "ok", target="alice")
        )
        assert [r.action for r in await AuditStore(db).page()] == ["agent.pause"]
    finally:
        release.join()
        locker.close()
        await db.close()


class _Unreachable:
    """The user store of a database that cannot be asked (PostgreSQL away)."""

    async def any_user(self) -> bool:
        raise sqlite3_error()

    async def token_owner(self, _tid: str) -> None:
        raise sqlite3_error()


def sqlite3_error() -> Exception:
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))


async def test_a_database_outage_keeps_known_tokens_and_answers_503_for_new_ones(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = UserAdmin(db, actor="cli:test")
    known = await admin.add("sup", "supervisor")
    unseen = await admin.add("qa2", "qa")
    clock = Clock()
    auth = auth_for(db, clock)
    assert (await auth.authenticate(known.token)).name == "sup"
    monkeypatch.setattr(auth, "_users", _Unreachable())
    clock.t += CACHE_TTL * 10  # every cache entry expired: the store would be asked
    assert (await auth.authenticate(known.token)).name == "sup"  # last known principal
    with pytest.raises(AuthUnavailable, match="unreachable"):
        await auth.authenticate(unseen.token)
    with pytest.raises(Unauthenticated):  # no token is still no token
        await auth.authenticate(None)


async def test_a_database_that_cannot_be_asked_at_all_is_503_not_500(tmp_path: Path) -> None:
    broken = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'gw.db'}")
    try:
        with pytest.raises(AuthUnavailable):
            await auth_for(broken, Clock()).authenticate("cgw_x.y")
    finally:
        await broken.close()
