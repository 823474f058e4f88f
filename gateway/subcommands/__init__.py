"""Sub-commands of the contactgw CLI (see gateway.cli)."""

from __future__ import annotations

import getpass


def cli_actor() -> str:
    """Who a CLI change is recorded as in the audit log: ``cli:<login>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
