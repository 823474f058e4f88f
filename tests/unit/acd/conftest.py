"""Fixtures for the ACD engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from acd_harness import Acd


@pytest.fixture
def acd() -> Iterator[Acd]:
    yield Acd()
