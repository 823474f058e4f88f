"""A throwaway PostgreSQL server for the standby tests (tests/support/postgres.py)."""

from tests.support.postgres import pg_server, pg_url  # noqa: F401  (fixtures)
