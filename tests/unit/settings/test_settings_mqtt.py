"""The mqtt section: embedded or external broker, TLS files, event identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import SettingsError, parse_settings
from gateway.settings.models import Settings


def parse(text: str) -> Settings:
    return parse_settings(text, file="gw.yaml", base_dir=Path("/etc/gw"), environ={})


def errors_of(text: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse(text)
    return [str(issue) for issue in caught.value.issues]


def test_defaults_run_the_embedded_broker_and_name_the_host() -> None:
    mqtt = parse("").mqtt
    assert (mqtt.enabled, mqtt.url, mqtt.host, mqtt.port) == (True, None, "127.0.0.1", 1883)
    assert mqtt.retention_days == 7
    assert mqtt.source.startswith("urn:contactgw:") and mqtt.instance_id


def test_an_external_broker_with_tls_files_relative_to_the_config() -> None:
    text = (
        "mqtt:\n  url: mqtts://broker.example:8883\n  username: gw\n  password: s3cret\n"
        "  ca_file: certs/ca.pem\n  cert_file: /pki/gw.pem\n  key_file: /pki/gw.key\n"
        "  instance: gw-paris-1\n"
    )
    mqtt = parse(text).mqtt
    assert mqtt.uses_tls and mqtt.ca_file == Path("/etc/gw/certs/ca.pem")
    assert mqtt.source == "urn:contactgw:gw-paris-1"


def test_an_older_file_keeps_loading() -> None:
    text = "mqtt:\n  enabled: false\n  host: 127.0.0.1\n  port: 1883\n  topic_prefix: contactgw\n"
    assert parse(text).mqtt.enabled is False


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("mqtt:\n  url: http://b\n", "gw.yaml:2: mqtt.url: use mqtt://HOST[:PORT] or mqtts://"),
        ("mqtt:\n  url: mqtt://b:99999\n", "gw.yaml:2: mqtt.url: 'mqtt://b:99999' has an inv"),
        ("mqtt:\n  url: mqtt://u:p@b\n", "gw.yaml:2: mqtt.url: give only scheme, host and port"),
        ("mqtt:\n  retention_days: 0\n", "gw.yaml:2: mqtt.retention_days: must be a positive"),
        ("mqtt:\n  instance: a/b\n", "gw.yaml:2: mqtt.instance: "),
        ("mqtt:\n  topic_prefix: a/#\n", "gw.yaml:2: mqtt.topic_prefix: "),
        ("mqtt:\n  url: mqtt://b\n  cert_file: c.pem\n", "gw.yaml:1: mqtt: cert_file and key_file"),
        ("mqtt:\n  tls: true\n", "gw.yaml:1: mqtt: the embedded broker listens on loopback"),
    ],
)
def test_bad_values_name_file_line_and_key(text: str, error: str) -> None:
    [message] = errors_of(text)
    assert message.startswith(error), message
