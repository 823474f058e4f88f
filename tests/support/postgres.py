"""A throwaway PostgreSQL server for the tests, from Debian's ``postgresql`` package.

    server = PostgresServer.start()        # initdb + pg_ctl start in a temp dir
    url = await server.create_database()  # postgresql+asyncpg://postgres@127.0.0.1:PORT/db_1
    await server.drop_database(url)
    server.stop()                          # pg_ctl stop -m immediate; the dir is removed

Theory of operation: ``initdb`` makes a cluster in a fresh directory under the system
temp dir, with trust authentication (it listens on 127.0.0.1 only, on a free port from
tests/support/ports.py, and on a unix socket inside that directory) and ``fsync=off``
(a crash loses a throwaway database, nothing else). initdb and the server refuse to run
as root, so under root they run as the ``postgres`` system user the Debian package
creates (``runuser -u postgres --``), which owns the directory. ``pg_ctl start -w`` and
``stop -w`` wait for the server with a bound (``-t``), and every subprocess has a timeout.

Each test gets a database of its own (``CREATE DATABASE``, dropped afterwards), so tests
stay independent while the server is started once per session.

The fixtures: ``pg_server`` (session) and ``pg_url`` (a fresh database per test). Where
the binaries are missing they skip, naming what to install; with ``CI`` set they fail,
since CI installs the package (scripts/setup) and a silent skip would hide the backend.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from tests.support.ports import tcp_port

SUPERUSER = "postgres"
RUN_AS = "postgres"  # the system user Debian's postgresql-common creates
START_TIMEOUT_S = 30
COMMAND_TIMEOUT_S = 60
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<ver>/bin`` with initdb and pg_ctl (or PATH's)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (/usr/lib/postgresql/<ver>/bin/initdb): "
        "apt-get install postgresql (scripts/setup does)"
    )


@dataclass
class PostgresServer:
    bindir: Path
    base: Path  # the temp dir: data/, the socket, the log
    port: int
    user: str | None  # run the binaries as this user (None: as ourselves)
    templates: dict[str, str] = field(default_factory=dict)  # e.g. a database at head
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log_path(self) -> Path:
        return self.base / "postgres.log"

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = find_bindir()
        user = RUN_AS if os.geteuid() == 0 else None
        base = Path(tempfile.mkdtemp(prefix="contactgw-pg-"))
        server = cls(bindir=bindir, base=base, port=tcp_port(), user=user)
        try:
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(base, entry.pw_uid, entry.pw_gid)
            server._initdb()
            server._pg_ctl("start", "-w", "-t", str(START_TIMEOUT_S), "-l", str(server.log_path))
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is worth a checkpoint) and remove
        its directory. Safe to call on a server that never started."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", str(START_TIMEOUT_S))
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, template: str = "template1") -> str:
        """A new database, empty or a copy of ``template``; returns its SQLAlchemy URL."""
        name = f"db_{next(self._names)}"
        async with self._admin() as connection:
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    async def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        if not re.fullmatch(r"db_\d+", name):
            raise ValueError(f"not a database this harness created: {url}")
        async with self._admin() as connection:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # ------------------------------------------------------------------ internals
    @asynccontextmanager
    async def _admin(self) -> AsyncIterator[asyncpg.Connection]:
        """A superuser connection to the ``postgres`` database (CREATE/DROP DATABASE)."""
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, database="postgres", timeout=10
        )
        try:
            yield connection
        finally:
            await connection.close()

    def _initdb(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        lines = [f"{key} = {value}" for key, value in SETTINGS.items()]
        lines += [f"port = {self.port}", f"unix_socket_directories = '{self.base}'"]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/postgres.py\n" + "\n".join(lines) + "\n")

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args)

    def _run(self, *command: str) -> None:
        argv = list(command)
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        try:
            done = subprocess.run(
                argv,
                cwd=self.base,  # the postgres user may not enter our cwd
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"{argv[0]} timed out after {e.timeout}s\n{self._log()}") from e
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
                f"{self._log()}"
            )

    def _log(self) -> str:
        if not self.log_path.exists():
            return ""
        return "--- postgres.log ---\n" + self.log_path.read_text(errors="replace")[-4000:]


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI, which must have the server (scripts/setup)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: PostgreSQL must be installed)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as e:
        unavailable(str(e))
        raise  # unreachable: skip/fail raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pg_url(pg_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    url = await pg_server.create_database()
    try:
        yield url
    finally:
        await pg_server.drop_database(url)
