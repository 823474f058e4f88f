"""docs/events/ and docs/events.md say what the code does: the committed files are what
scripts/make-event-docs generates now, and the AsyncAPI document is complete."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.events import schemas
from gateway.events.catalogue import CATALOGUE, build
from gateway.events.envelope import topic_for

from .samples import AT, sample

DOCS = Path(__file__).resolve().parents[3] / "docs"
EVENTS = DOCS / "events"
REGENERATE = "stale: run scripts/make-event-docs and commit the result"


@functools.cache
def rendered() -> dict[str, str]:
    return schemas.rendered()


@pytest.mark.parametrize("name", sorted(rendered()))
def test_committed_file_is_what_the_generator_writes(name: str) -> None:
    path = EVENTS / name
    assert path.exists(), f"docs/events/{name} missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == rendered()[name], REGENERATE


def test_no_committed_schema_belongs_to_no_type() -> None:
    # A schema of an older VERSION stays (consumers on it still need it); anything else
    # in docs/events/ is a leftover of a renamed or removed type.
    current = {cls.TYPE: cls.VERSION for cls in CATALOGUE}
    for path in EVENTS.glob("*.json"):
        if path.name in rendered():
            continue
        match = re.fullmatch(r"(.+)\.v(\d+)\.json", path.name)
        assert match, f"docs/events/{path.name} is not <type>.v<N>.json"
        event_type, version = match.group(1), int(match.group(2))
        assert event_type in current and version < current[event_type], path.name


def test_events_page_lists_every_type_in_a_current_table() -> None:
    page = (DOCS / "events.md").read_text(encoding="utf-8")
    assert schemas.with_table(page) == page, REGENERATE
    for cls in CATALOGUE:
        assert f"[`{cls.TYPE}`](events/{schemas.schema_file(cls)})" in page


def load_asyncapi() -> dict[str, Any]:
    doc = yaml.safe_load((EVENTS / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_asyncapi_has_a_channel_message_and_receive_operation_per_type() -> None:
    doc = load_asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["servers"]["embedded"] == doc["servers"]["embedded"] | {
        "host": "127.0.0.1:1883",
        "protocol": "mqtt",
        "protocolVersion": "5",
    }
    by_channel = {op["channel"]["$ref"]: op for op in doc["operations"].values()}
    assert len(doc["channels"]) == len(doc["operations"]) == len(CATALOGUE)
    for cls in CATALOGUE:
        kind, name = schemas.kind_and_name(cls)
        [(key, channel)] = [(k, c) for k, c in doc["channels"].items() if c["title"] == cls.TYPE]
        assert channel["address"] == f"contactgw/{kind}/{name}/{{queue}}/{{subject}}"
        assert set(re.findall(r"{(\w+)}", channel["address"])) == set(channel["parameters"])
        operation = by_channel[f"#/channels/{key}"]
        assert operation["action"] == "receive"
        assert operation["bindings"]["mqtt"]["qos"] == 1
        message = doc["components"]["messages"][key]
        assert message["name"] == cls.TYPE
        assert message["contentType"] == "application/cloudevents+json"
        refs = [part["$ref"] for part in message["payload"]["schema"]["allOf"] if "$ref" in part]
        data_ref = message["payload"]["schema"]["allOf"][1]["properties"]["data"]["$ref"]
        assert refs == ["cloudevent.json"]
        assert data_ref == schemas.schema_file(cls)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _pointer(doc: Any, pointer: str) -> Any:
    for part in pointer.removeprefix("#/").split("/"):
        doc = doc[part.replace("~1", "/").replace("~0", "~")]
    return doc


def test_every_ref_resolves_to_a_committed_file_or_a_place_in_it() -> None:
    doc = load_asyncapi()
    refs = _refs(doc)
    assert refs
    for ref in refs:
        if ref.startswith("#/"):
            assert _pointer(doc, ref) is not None, ref
        else:
            assert (EVENTS / ref).is_file(), f"{ref} is not a file in docs/events/"
    for path in EVENTS.glob("*.json"):  # and inside the schemas themselves
        schema = json.loads(path.read_text(encoding="utf-8"))
        for ref in _refs(schema):
            assert ref.startswith("#/$defs/") and _pointer(schema, ref), (path.name, ref)


def test_channel_addresses_match_the_topics_the_publisher_uses() -> None:
    for cls in CATALOGUE:
        topic = topic_for(build(sample(cls), at=AT), "contactgw")
        pattern = schemas.channel_address(cls).replace("{queue}", "[^/]+")
        assert re.fullmatch(pattern.replace("{subject}", "[^/]+"), topic), topic
