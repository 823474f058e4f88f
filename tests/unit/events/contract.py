"""Check an event against the published contract: the committed files in docs/events/
(not schemas regenerated from the code), for any test that sees real events."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

EVENTS = Path(__file__).resolve().parents[3] / "docs" / "events"


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The validator of docs/events/<name> (format checks on: `date-time` is checked)."""
    schema = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def violations(event: Mapping[str, Any]) -> list[str]:
    """What is wrong with a CloudEvents JSON object by our contract ([] if nothing)."""
    found = [f"envelope: {e.message}" for e in validator("cloudevent.json").iter_errors(event)]
    schema_name = str(event.get("dataschema", "")).rsplit("/", 1)[-1]
    if not (EVENTS / schema_name).is_file():
        return [*found, f"dataschema {event.get('dataschema')!r} names no file in docs/events/"]
    data = validator(schema_name).iter_errors(event.get("data"))
    return found + [f"data: {e.message}" for e in data]


def assert_valid_cloudevent(event: Mapping[str, Any]) -> None:
    problems = violations(event)
    assert not problems, f"{event.get('type')} #{event.get('sequence')}: {problems}"
