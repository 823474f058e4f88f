"""Errors raised while loading the configuration.

::

    SettingsError        the file cannot be used; ``issues`` lists every problem found,
                         each naming file, line and key path

Every problem is collected before raising, so one run of ``contactgw run`` shows them
all instead of one per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem: ``file:line: key: message``.

    ``line`` is 0 when the value came from an environment variable; ``file`` then
    names the variable (``$CONTACTGW_DATABASE__URL``).
    """

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class SettingsError(Exception):
    """The configuration is invalid; ``str()`` has one line per issue."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))
