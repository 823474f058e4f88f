"""The embedded mosquitto's rendered configuration."""

from __future__ import annotations

from pathlib import Path

from gateway.events.broker import BrokerConfig, EmbeddedBroker, render_config


def test_one_loopback_listener_and_persistence_in_the_run_dir(tmp_path: Path) -> None:
    config = BrokerConfig(run_dir=tmp_path, host="127.0.0.1", port=23456)
    lines = render_config(config, user="gw").splitlines()
    assert [line for line in lines if line.startswith("listener")] == ["listener 23456 127.0.0.1"]
    assert f"persistence_location {tmp_path}/mqtt/" in lines
    assert "user gw" in lines and "log_dest stderr" in lines
    assert EmbeddedBroker(config).command() == [
        "/usr/sbin/mosquitto",
        "-c",
        str(tmp_path / "mqtt" / "mosquitto.conf"),
    ]
