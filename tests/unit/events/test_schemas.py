"""The generated JSON Schemas accept what the catalogue emits and reject what it cannot."""

from __future__ import annotations

import dataclasses
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from gateway.events import catalogue, schemas
from gateway.events.catalogue import CATALOGUE, CallCompleted, RecordingReady, build, payload
from gateway.events.envelope import to_cloudevent

from .contract import assert_valid_cloudevent, violations
from .samples import AT, every_sample, sample

FORMATS = Draft202012Validator.FORMAT_CHECKER


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)


def errors(schema: dict[str, Any], instance: object) -> list[str]:
    return [e.message for e in validator(schema).iter_errors(instance)]


def test_date_time_format_is_really_checked() -> None:
    # Without rfc3339-validator installed jsonschema skips `date-time` silently.
    assert not FORMATS.conforms("2026-12-01 14:03", "date-time")
    assert FORMATS.conforms("2026-12-01T14:03:27.512Z", "date-time")


@pytest.mark.parametrize(("cls", "data"), every_sample(), ids=lambda v: getattr(v, "TYPE", ""))
def test_every_catalogue_payload_validates_against_its_schema(cls: type, data: Any) -> None:
    assert errors(schemas.event_schema(cls), payload(data)) == []


def test_schema_names_and_describes_its_type() -> None:
    schema = schemas.event_schema(CallCompleted)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "io.contactgw.call.completed.v1.json"
    assert schema["description"] == CallCompleted.DESCRIPTION
    assert schema["required"] == [f.name for f in dataclasses.fields(CallCompleted)]
    assert schema["additionalProperties"] is True
    # the catalogue's field comments become descriptions, in JSON's words
    assert schema["properties"]["recording_id"]["description"] == (
        "the call id when the call was recorded"
    )
    agent = schemas.event_schema(catalogue.AgentStateChanged)["properties"]
    assert agent["seconds_in_previous"]["description"].startswith("null:")


def test_field_types_map_to_json_types() -> None:
    props = schemas.event_schema(CallCompleted)["properties"]
    assert props["call_id"] == {"type": "string"}
    assert props["caller"] == {"type": ["string", "null"]}
    assert props["arrived_at"] == {"type": "string", "format": "date-time"}
    assert props["caller_sip_code"] == {"type": ["integer", "null"]}
    assert props["hangup_by"]["enum"] == ["caller", "agent", "system", None]
    assert props["rtp_caller"] == {"anyOf": [{"$ref": "#/$defs/RtpSummary"}, {"type": "null"}]}
    rtp = schemas.event_schema(CallCompleted)["$defs"]["RtpSummary"]
    assert rtp["required"] == ["rx_packets", "rx_loss", "rx_jitter_ms", "tx_packets", "tx_loss"]
    files = schemas.event_schema(RecordingReady)["properties"]["files"]
    assert files == {"type": "array", "items": {"$ref": "#/$defs/RecordingFile"}}


def test_unknown_fields_are_accepted_because_consumers_must_ignore_them() -> None:
    data = payload(sample(CallCompleted)) | {"added_in_a_later_release": {"x": 1}}
    rtp = data["rtp_caller"]
    assert isinstance(rtp, dict)
    data["rtp_caller"] = rtp | {"mos": 4.1}
    assert errors(schemas.event_schema(CallCompleted), data) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("arrived_at", "yesterday"),  # not RFC 3339
        ("caller_sip_code", "486"),  # a string where an integer is due
        ("wait_seconds", True),  # booleans are not numbers
        ("hangup_by", "carrier"),  # not in the Literal
        ("call_id", None),  # not optional
        ("rtp_agent", {"rx_packets": 1}),  # nested object missing fields
    ],
)
def test_wrong_values_are_rejected(field: str, value: object) -> None:
    data = payload(sample(CallCompleted)) | {field: value}
    assert errors(schemas.event_schema(CallCompleted), data) != []


def test_a_missing_field_is_rejected_even_when_it_may_be_null() -> None:
    data = payload(sample(CallCompleted, nulls=True))
    del data["agent"]
    assert errors(schemas.event_schema(CallCompleted), data) == ["'agent' is a required property"]


def test_a_type_hint_without_a_json_schema_is_an_error_not_a_guess() -> None:
    @dataclasses.dataclass(frozen=True)
    class Odd:
        TYPE = "io.contactgw.test.odd"
        VERSION = 1
        SUBJECT = "name"
        DESCRIPTION = "test"
        name: str
        counts: dict[str, int]

    with pytest.raises(TypeError, match="dict"):
        schemas.event_schema(Odd)  # type: ignore[arg-type]


def envelope(event_data: Any, **overrides: object) -> dict[str, object]:
    msg = build(event_data, at=AT)
    event: dict[str, object] = {
        "specversion": "1.0",
        "id": str(msg.id),
        "source": "contactgw://test",
        "type": msg.type,
        "subject": msg.subject,
        "time": "2026-12-01T14:03:27.512Z",
        "datacontenttype": "application/json",
        "dataschema": "https://example.test/events/" + schemas.schema_file(type(event_data)),
        "sequence": "00000000000000000001",
        "data": dict(msg.payload),
    }
    if msg.queue is not None:
        event["queue"] = msg.queue
    return event | overrides


def test_envelope_schema_accepts_our_cloudevents() -> None:
    for _, data in every_sample():
        assert errors(schemas.envelope_schema(), envelope(data)) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"specversion": "0.3"},
        {"sequence": 7},  # an integer: string comparison is the extension's rule
        {"sequence": "7"},  # unpadded: "10" < "7" as strings
        {"type": "com.example.other"},
        {"time": "now"},
        {"data": "not an object"},
    ],
)
def test_envelope_schema_rejects_what_we_never_send(overrides: dict[str, object]) -> None:
    event = envelope(sample(CallCompleted), **overrides)
    assert errors(schemas.envelope_schema(), event) != []


def test_envelope_requires_the_attributes_consumers_rely_on() -> None:
    event = envelope(sample(CallCompleted))
    for name in ("id", "subject", "sequence", "type", "data"):
        incomplete = {k: v for k, v in event.items() if k != name}
        assert errors(schemas.envelope_schema(), incomplete) == [f"'{name}' is a required property"]


def test_the_envelopes_we_publish_validate_and_name_their_data_schema() -> None:
    for cls in CATALOGUE:
        msg = dataclasses.replace(build(sample(cls), at=AT), sequence=1)
        event = to_cloudevent(
            msg, source="contactgw://test", dataschema_base="https://example.test/events/"
        )
        assert errors(schemas.envelope_schema(), event) == [], cls.TYPE
        assert errors(schemas.event_schema(cls), event["data"]) == [], cls.TYPE
        assert str(event["dataschema"]).endswith(schemas.schema_file(cls))
        assert_valid_cloudevent(event)  # and by the committed files


def test_the_contract_check_reports_what_is_wrong() -> None:
    event = to_cloudevent(
        dataclasses.replace(build(sample(CallCompleted), at=AT), sequence=1),
        source="urn:contactgw:test",
        dataschema_base="http://127.0.0.1:8080/events/schemas",
    )
    assert violations(event) == []
    broken = event | {"sequence": 1, "data": dict(event["data"], queue=7)}
    assert violations(broken) == [
        "envelope: 1 is not of type 'string'",
        "data: 7 is not of type 'string', 'null'",
    ]
    assert violations(event | {"dataschema": "http://x/nope.v1.json"}) == [
        "dataschema 'http://x/nope.v1.json' names no file in docs/events/"
    ]


def test_jsonschema_is_the_2020_12_validator() -> None:
    assert jsonschema.validators.validator_for(schemas.envelope_schema()) is Draft202012Validator
