"""What consumers are told about our events, derived from the catalogue alone.

Theory of operation: every event type in `catalogue.CATALOGUE` is a frozen dataclass
whose type hints are the payload's contract. This module walks those hints and writes
the contract down three ways, so none of them can drift from the code:

- one JSON Schema (draft 2020-12) per type and version, `<type>.v<VERSION>.json`, for
  the CloudEvents `data`: every field is required (it is always sent, maybe as null)
  and `additionalProperties` stays true, because consumers must ignore fields they do
  not know (a new optional field is not a version change);
- `cloudevent.json`, the structured CloudEvents 1.0 envelope we publish around `data`;
- an AsyncAPI 3.0 document: one channel, message and `receive` operation per type on
  the embedded MQTT 5 broker, its payload referring to the two schema files above.

`rendered()` gives every file as text; `scripts/make-event-docs` writes them under
docs/events/ and a unit test fails when the committed files differ from it. A type
hint this module does not know how to describe raises `TypeError` (a new kind of field
must be described on purpose, not guessed).

Field descriptions come from the comment at the end of the field's line in
catalogue.py: those comments are where the catalogue already explains its fields.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import re
import sys
import textwrap
import tokenize
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from gateway.events.catalogue import CATALOGUE, PREFIX, EventData

Schema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_FILE = "cloudevent.json"
ASYNCAPI_FILE = "asyncapi.yaml"
CONTENT_TYPE = "application/cloudevents+json"
# AsyncAPI's default schema language is its own draft-07 superset; ours are 2020-12.
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
MQTT_BINDING_VERSION = "0.2.0"
DEFAULT_PREFIX = "contactgw"  # mqtt.topic_prefix
EMBEDDED_BROKER = "127.0.0.1:1883"
API_VERSION = "1.0.0"  # of this document; each event type carries its own VERSION


# --------------------------------------------------------------------------- data schemas
def schema_file(cls: type[EventData]) -> str:
    return f"{cls.TYPE}.v{cls.VERSION}.json"


def event_schema(cls: type[EventData]) -> Schema:
    """The JSON Schema of one event type's CloudEvents `data`."""
    defs: dict[str, Schema] = {}
    body = _object_schema(cls, defs)
    schema: Schema = {
        "$schema": DIALECT,
        "$id": schema_file(cls),
        "title": f"{cls.TYPE} v{cls.VERSION}",
        "description": cls.DESCRIPTION,
        **body,
    }
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def _object_schema(cls: type, defs: dict[str, Schema]) -> Schema:
    hints = typing.get_type_hints(cls)
    notes = _field_notes(cls)
    properties: Schema = {}
    for field in dataclasses.fields(cls):
        prop = _type_schema(hints[field.name], defs)
        if field.name in notes:
            prop = {"description": notes[field.name], **prop}
        properties[field.name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": True,
    }


def _type_schema(hint: Any, defs: dict[str, Schema]) -> Schema:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        present = [a for a in args if a is not type(None)]
        if len(present) != 1 or len(args) != 2:
            raise TypeError(f"only `X | None` unions are described, not {hint!r}")
        return _nullable(_type_schema(present[0], defs))
    if origin is Literal:
        return _literal_schema(args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if hint in _SCALARS:  # exact types: a bool hint is not taken for an int
        return dict(_SCALARS[hint])
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        defs.setdefault(hint.__name__, {"title": hint.__name__, **_object_schema(hint, defs)})
        return {"$ref": f"#/$defs/{hint.__name__}"}
    raise TypeError(f"no JSON Schema for type hint {hint!r}")


_SCALARS: dict[Any, Schema] = {
    bool: {"type": "boolean"},
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    datetime: {"type": "string", "format": "date-time"},  # RFC 3339, UTC, `Z`
}


def _literal_schema(values: tuple[Any, ...]) -> Schema:
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"only string Literals are described, not {values!r}")
    return {"type": "string", "enum": list(values)}


def _nullable(schema: Schema) -> Schema:
    # A `$ref` cannot take a sibling `type`: the referenced schema would still reject
    # null. Everything else gains "null" in its type list (and in its enum, which is
    # checked on its own).
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in schema:
        out["enum"] = [*schema["enum"], None]
    return out


def _field_notes(cls: type) -> dict[str, str]:
    """`name: hint  # note` lines of the class body, as {name: note}."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (frozen install): schemas lose notes only
        return {}
    notes: dict[str, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        name, colon, _ = token.line.strip().partition(":")
        if colon and name.isidentifier():
            # The comments speak Python; the schema's readers see JSON.
            notes[name] = re.sub(r"\bNone\b", "null", token.string.lstrip("#").strip())
    return notes


# --------------------------------------------------------------------------- envelope
def envelope_schema() -> Schema:
    """The structured-mode CloudEvents 1.0 JSON object every event is published as."""
    required = [
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "dataschema",
        "sequence",
        "data",
    ]
    properties: Schema = {
        "specversion": {"const": "1.0"},
        "id": {
            "description": "Unique per event (a UUID); redeliveries keep it: dedupe on it.",
            "type": "string",
            "minLength": 1,
        },
        "source": {
            "description": "The gateway instance that produced the event.",
            "type": "string",
            "format": "uri-reference",
            "minLength": 1,
        },
        "type": {
            "description": "The event type; the schema of `data` is named after it.",
            "type": "string",
            "pattern": "^" + PREFIX.replace(".", "\\.") + "[a-z_]+\\.[a-z_]+$",
        },
        "subject": {
            "description": "What the event is about: the call id, agent, queue, trunk or worker.",
            "type": "string",
            "minLength": 1,
        },
        "time": {
            "description": "When the state change happened (UTC).",
            "type": "string",
            "format": "date-time",
        },
        "datacontenttype": {"const": "application/json"},
        "dataschema": {
            "description": "The schema of `data`: <base>/<type>.v<VERSION>.json.",
            "type": "string",
            "format": "uri",
        },
        "sequence": {
            # The CloudEvents sequence extension is a string compared lexicographically;
            # envelope.py zero-pads the store's per-subject counter so that works.
            "description": (
                "Per subject: 1, 2, 3... in the order the changes happened, zero-padded to"
                " 20 digits (string order is number order)."
            ),
            "type": "string",
            "pattern": "^[0-9]{20}$",
        },
        "queue": {
            "description": "The queue the event concerns; absent when none.",
            "type": "string",
        },
        "data": {"description": "The payload: see `dataschema`.", "type": "object"},
    }
    return {
        "$schema": DIALECT,
        "$id": ENVELOPE_FILE,
        "title": "contactgw CloudEvent",
        "description": (
            "A contactgw event: CloudEvents 1.0, structured JSON (" + CONTENT_TYPE + ")."
            " Consumers must ignore attributes and data fields they do not know."
        ),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
    }


# --------------------------------------------------------------------------- AsyncAPI
def kind_and_name(cls: type[EventData]) -> tuple[str, str]:
    """`io.contactgw.call.answered` -> ("call", "answered"): the topic's 2nd and 3rd levels."""
    kind, _, name = cls.TYPE.removeprefix(PREFIX).partition(".")
    return kind, name


def channel_address(cls: type[EventData], prefix: str = DEFAULT_PREFIX) -> str:
    kind, name = kind_and_name(cls)
    return f"{prefix}/{kind}/{name}/{{queue}}/{{subject}}"


def _key(cls: type[EventData]) -> str:
    """`io.contactgw.call.offer_failed` -> `callOfferFailed` (channel and message key)."""
    words = "_".join(kind_and_name(cls)).split("_")
    return words[0] + "".join(w.capitalize() for w in words[1:])


def asyncapi(prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The AsyncAPI 3.0 document: what a subscriber to the gateway's broker receives."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in CATALOGUE:
        key = _key(cls)
        channels[key] = _channel(cls, key, prefix)
        operations["receive" + key[0].upper() + key[1:]] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": cls.DESCRIPTION,
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "bindings": {"mqtt": {"qos": 1, "bindingVersion": MQTT_BINDING_VERSION}},
        }
        messages[key] = _message(cls)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "contactgw call events",
            "version": API_VERSION,
            "description": (
                "Call, agent, queue and platform events of a contactgw gateway: CloudEvents"
                " 1.0 (structured JSON) over MQTT 5, QoS 1, at least once. Dedupe on `id`;"
                " order each subject's events on `sequence`; catch up with"
                " `GET /events?after=<id>`. Consumers must ignore unknown fields."
                " Topics: `<mqtt.topic_prefix>/<kind>/<name>/<queue or ->/<subject or ->`"
                f" (prefix `{prefix}` here). See docs/events.md."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "embedded": {
                "host": EMBEDDED_BROKER,
                "protocol": "mqtt",
                "protocolVersion": "5",
                "description": "The mosquitto `contactgw run` starts (unless mqtt.url is set).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _channel(cls: type[EventData], key: str, prefix: str) -> dict[str, Any]:
    has_queue = "queue" in {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    queue: dict[str, Any] = {
        "description": "The event's queue; `-` when it has none (`/`, `+`, `#` sent as `_`)."
    }
    if not has_queue:
        queue = {"description": "This event concerns no queue.", "enum": ["-"]}
    return {
        "address": channel_address(cls, prefix),
        "title": cls.TYPE,
        "description": cls.DESCRIPTION,
        "parameters": {
            "queue": queue,
            "subject": {
                "description": f"The CloudEvents subject, the `{cls.SUBJECT}` field"
                " (`/`, `+`, `#` sent as `_`)."
            },
        },
        "messages": {key: {"$ref": f"#/components/messages/{key}"}},
    }


def _message(cls: type[EventData]) -> dict[str, Any]:
    return {
        "name": cls.TYPE,
        "title": f"{cls.TYPE} v{cls.VERSION}",
        "summary": cls.DESCRIPTION,
        "contentType": CONTENT_TYPE,
        "headers": _user_properties(),
        "payload": {
            "schemaFormat": SCHEMA_FORMAT,
            "schema": {
                "allOf": [
                    {"$ref": ENVELOPE_FILE},
                    {
                        "properties": {
                            "type": {"const": cls.TYPE},
                            "data": {"$ref": schema_file(cls)},
                        }
                    },
                ]
            },
        },
        "bindings": {"mqtt": {"contentType": CONTENT_TYPE, "bindingVersion": MQTT_BINDING_VERSION}},
    }


def _user_properties() -> dict[str, Any]:
    # MQTT 5 user properties repeat the envelope's attributes (all but `data`, names
    # unchanged, values as strings) so a consumer can route without parsing the payload.
    names = [name for name in envelope_schema()["properties"] if name != "data"]
    return {
        "type": "object",
        "description": "MQTT 5 user properties: the CloudEvents attributes, as strings.",
        "properties": {name: {"type": "string"} for name in names},
    }


# --------------------------------------------------------------------------- docs
TABLE_BEGIN = "<!-- catalogue table: generated by scripts/make-event-docs -->"
TABLE_END = "<!-- end of catalogue table -->"


def catalogue_table() -> str:
    """The Markdown table of every event type for docs/events.md (between the markers)."""
    rows = [
        "| type | v | emitted when | subject (a `data` field too) | other `data` fields |",
        "|---|---|---|---|---|",
    ]
    for cls in CATALOGUE:
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        fields = ", ".join(f"`{n}`" for n in names if n != cls.SUBJECT)
        link = f"[`{cls.TYPE}`](events/{schema_file(cls)})"
        rows.append(f"| {link} | {cls.VERSION} | {cls.DESCRIPTION} | `{cls.SUBJECT}` | {fields} |")
    return "\n".join([TABLE_BEGIN, *rows, TABLE_END])


def with_table(page: str) -> str:
    """`page` with its generated catalogue table replaced by the current one."""
    head, begin, rest = page.partition(TABLE_BEGIN)
    _, end, tail = rest.partition(TABLE_END)
    if not begin or not end:
        raise ValueError("docs/events.md lacks the catalogue table markers")
    return head + catalogue_table() + tail


# --------------------------------------------------------------------------- files
def _json_text(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """Every generated file of docs/events/, name -> text."""
    files = {schema_file(cls): _json_text(event_schema(cls)) for cls in CATALOGUE}
    files[ENVELOPE_FILE] = _json_text(envelope_schema())
    files[ASYNCAPI_FILE] = yaml.safe_dump(
        asyncapi(), sort_keys=False, allow_unicode=True, width=100
    )
    return files


def write(events_dir: Path, page: Path) -> list[Path]:
    """Write the schema files into `events_dir` and refresh the table in `page`."""
    events_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = events_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    page.write_text(with_table(page.read_text(encoding="utf-8")), encoding="utf-8")
    return [*written, page]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")
    for path in write(root / "events", root / "events.md"):
        print(path)
