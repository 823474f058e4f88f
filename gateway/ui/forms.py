"""Reading a page's query string into typed filters, collecting every problem with the
name of its field (a page shows them all at once, next to the form, as a 422)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

MAX_TEXT = 255


@dataclass
class Fields:
    """The raw values (to fill the form again) and the errors, by field label."""

    raw: Mapping[str, str]
    errors: list[str] = field(default_factory=list)

    def text(self, name: str, label: str) -> str | None:
        value = self.raw.get(name, "").strip()
        if not value:
            return None
        if len(value) > MAX_TEXT or "\x00" in value:
            self.errors.append(f"{label}: at most {MAX_TEXT} characters, no NUL")
            return None
        return value

    def choice(self, name: str, label: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(name, label)
        if value is not None and value not in choices:
            self.errors.append(f"{label}: one of {', '.join(choices)}")
            return None
        return value

    def number(
        self, name: str, label: str, *, low: float = 0.0, high: float = math.inf
    ) -> float | None:
        value = self.text(name, label)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (low <= number <= high):
            bound = f"from {low:g} to {high:g}" if high != math.inf else f"{low:g} or more"
            self.errors.append(f"{label}: a number {bound}, not {value!r}")
            return None
        return number

    def when(self, name: str, label: str) -> datetime | None:
        """A `datetime-local` value (or a date), taken as UTC."""
        value = self.text(name, label)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.errors.append(f"{label}: a date and time like 2026-03-02T09:30, not {value!r}")
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    def day(self, name: str, label: str) -> date | None:
        value = self.text(name, label)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors.append(f"{label}: a date like 2026-03-02, not {value!r}")
            return None

    def flag(self, name: str) -> bool:
        return self.raw.get(name, "") in ("1", "on", "true", "yes")
