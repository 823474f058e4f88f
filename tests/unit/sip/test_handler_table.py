"""The worker's handler table is derived from the registry: one handler per command."""

from __future__ import annotations

import pytest

from gateway.ipc import protocol as p
from gateway.sip import handlers


def test_every_command_has_exactly_one_handler() -> None:
    assert set(handlers.HANDLERS) == set(p.COMMANDS.values())


def test_a_second_handler_for_a_command_is_refused() -> None:
    with pytest.raises(TypeError, match="already has a handler"):
        handlers.handles(p.Ping)(lambda state, c: {})
