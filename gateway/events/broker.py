"""The embedded MQTT broker: our own mosquitto, like the Kamailio edge.

Config rendered into ``<run_dir>/mqtt/mosquitto.conf`` (one listener on ``host:port``,
persistence in the same directory, log to stderr), run in the foreground under
gateway.managed_process (restart with backoff, dies with the control plane). Before
each spawn the port must be free: a stale or foreign broker on it would take our
events, so we refuse to start rather than share (ARCHITECTURE: ports are checked
before spawning). Ready = the port accepts a TCP connection.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import pwd
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.managed_process import READY_TIMEOUT_S, ManagedProcess, ProcessStartError

log = logging.getLogger("gateway.events.broker")
mosquitto_log = logging.getLogger("gateway.events.mosquitto")

MOSQUITTO = "/usr/sbin/mosquitto"


class BrokerPortInUse(ProcessStartError):
    """Another process listens on the broker's port."""


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    run_dir: Path  # the gateway's run_dir; the broker's files go to run_dir/mqtt
    host: str = "127.0.0.1"
    port: int = 1883
    binary: str = MOSQUITTO
    max_queued_messages: int = 100_000  # per offline persistent subscriber

    @property
    def directory(self) -> Path:
        return self.run_dir / "mqtt"

    @property
    def config_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def pid_path(self) -> Path:
        return self.directory / "mosquitto.pid"


def render_config(config: BrokerConfig, *, user: str | None = None) -> str:
    """mosquitto.conf; ``user`` keeps mosquitto from dropping root to ``mosquitto``
    (who could not write our run directory)."""
    run_as = user or pwd.getpwuid(os.geteuid()).pw_name
    return "\n".join(
        [
            "# rendered by contactgw (gateway/events/broker.py); edits are overwritten",
            f"user {run_as}",
            f"pid_file {config.pid_path}",
            "per_listener_settings false",
            "allow_anonymous true",  # loopback only; an external broker has its own auth
            f"listener {config.port} {config.host}",
            "persistence true",
            f"persistence_location {config.directory}/",
            "autosave_interval 30",
            "max_inflight_messages 100",
            f"max_queued_messages {config.max_queued_messages}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_timestamp false",
            "",
        ]
    )


def port_free(host: str, port: int) -> bool:
    """True if ``host:port`` can be bound for listening now (SO_REUSEADDR, as mosquitto
    does, so our own previous instance's TIME_WAIT sockets do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


class EmbeddedBroker(ManagedProcess):
    name = "mosquitto"

    def __init__(self, config: BrokerConfig) -> None:
        super().__init__(
            cwd=config.directory, log=log, child_log=mosquitto_log, pid_path=config.pid_path
        )
        self.config = config

    @property
    def url(self) -> str:
        return f"mqtt://{self.config.host}:{self.config.port}"

    def command(self) -> list[str]:
        return [self.config.binary, "-c", str(self.config.config_path)]

    def prepare(self) -> None:
        self.config.directory.mkdir(parents=True, exist_ok=True)
        self.config.config_path.write_text(render_config(self.config))

    def check_free(self) -> None:
        if not port_free(self.config.host, self.config.port):
            raise BrokerPortInUse(
                f"{self.config.host}:{self.config.port} is already in use by another process; "
                "stop it or set mqtt.port (or mqtt.url to use that broker)"
            )

    def log_level(self, line: str) -> int:
        lowered = line.lower()
        if "should not be run as root" in lowered:
            return logging.DEBUG  # we chose to stay root (render_config's `user`)
        if "error" in lowered:
            return logging.ERROR
        if "warning" in lowered:
            return logging.WARNING
        return logging.DEBUG

    def describe(self) -> str:
        return f"on {self.url}"

    def stale_marker(self) -> str:
        return str(self.config.config_path)

    async def wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.returncode is not None:
                await asyncio.sleep(0.05)  # let the reader drain the last lines
                raise ProcessStartError(
                    f"mosquitto exited with {proc.returncode} while starting:\n"
                    + self.tail_text(30)
                )
            try:
                _, writer = await asyncio.open_connection(self.config.host, self.config.port)
            except OSError:
                if time.monotonic() > deadline:
                    raise ProcessStartError(
                        f"mosquitto did not listen on {self.url} within "
                        f"{READY_TIMEOUT_S:.0f}s:\n" + self.tail_text(30)
                    ) from None
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            return
