"""Where the broker is and how to reach it: one place that turns `mqtt` settings into an
aiomqtt client (MQTT 5, optional TLS and credentials) for the publisher, `events tail`
and the bench.
"""

from __future__ import annotations

import contextvars
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gateway.settings.models import MqttSettings

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
MAX_INFLIGHT = 200  # QoS 1 messages awaiting PUBACK: pipelining, not one round trip each;
# no more than the publisher's window, or paho queues the rest and rescans its queue per PUBACK


_MID: contextvars.ContextVar[int] = contextvars.ContextVar("contactgw_mqtt_mid", default=-1)


class BrokerRefused(aiomqtt.MqttError):
    """The broker answered a QoS 1 PUBLISH with a failure reason code."""


class Client(aiomqtt.Client):
    """aiomqtt's client plus what it drops: the PUBACK's reason code. An MQTT 5 broker
    may refuse a QoS 1 message in its PUBACK (e.g. 0x87 not authorized, 0x97 quota
    exceeded) and aiomqtt's publish() returns all the same. `publish_confirmed` raises
    `BrokerRefused` for exactly that message: paho's message id is caught as paho's
    publish returns it (in the calling task's context) and matched to its PUBACK."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._refused: dict[int, str] = {}  # before super(): paho may call back during it
        super().__init__(*args, **kwargs)
        paho_publish = self._client.publish

        def publish(*a: Any, **k: Any) -> paho.MQTTMessageInfo:
            info = paho_publish(*a, **k)
            _MID.set(info.mid)
            return info

        self._client.publish = publish  # type: ignore[method-assign]

    async def publish_confirmed(
        self, topic: str, payload: bytes, *, properties: Properties | None = None
    ) -> None:
        """QoS 1; returns on a PUBACK that accepts the message."""
        await self.publish(topic, payload, qos=1, properties=properties)
        reason = self._refused.pop(_MID.get(), None)
        if reason is not None:
            raise BrokerRefused(f"the broker refused the event on {topic}: {reason}")

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        if reason_code.is_failure:
            self._refused[mid] = f"{reason_code.getName()} (0x{reason_code.value:02x})"
        super()._on_publish(client, userdata, mid, reason_code, properties)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False

    @classmethod
    def from_settings(cls, mqtt: MqttSettings) -> BrokerAddress:
        """``mqtt.url`` if set, else the embedded broker's ``host``/``port``."""
        host, port = mqtt.host, mqtt.port
        if mqtt.url is not None:
            parsed = urllib.parse.urlsplit(mqtt.url)
            host = parsed.hostname or host
            port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        return cls(
            host=host,
            port=port,
            tls=mqtt.uses_tls,
            username=mqtt.username,
            password=mqtt.password.get_secret_value() if mqtt.password else None,
            ca_file=mqtt.ca_file,
            cert_file=mqtt.cert_file,
            key_file=mqtt.key_file,
            tls_insecure=mqtt.tls_insecure,
        )

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        if self.cert_file is not None and self.key_file is not None:
            context.load_cert_chain(self.cert_file, self.key_file)
        if self.tls_insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def client(
        self,
        identifier: str | None = None,
        *,
        session_expiry_s: int = 0,
        timeout: float = 10.0,
    ) -> Client:
        """A new client for one connection (aiomqtt neither reconnects nor buffers: the
        caller makes a new one after a disconnect). ``session_expiry_s`` > 0 asks the
        broker to keep the session (subscriptions, queued messages) across disconnects."""
        properties = None
        if session_expiry_s:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = session_expiry_s
        client = Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=not session_expiry_s,
            properties=properties,
            tls_context=self.tls_context(),
            tls_insecure=self.tls_insecure if self.tls else None,
            timeout=timeout,
            keepalive=15,  # notice a silent broker within ~20 s
            max_inflight_messages=MAX_INFLIGHT,
        )
        # aiomqtt warns per publish beyond this many awaiting PUBACK; a pipelined batch
        # is meant to be there
        client.pending_calls_threshold = 10 * MAX_INFLIGHT
        return client
