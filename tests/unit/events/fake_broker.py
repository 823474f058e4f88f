"""An in-process stand-in for the MQTT broker, as the publisher sees a client: connect,
publish (returns on the PUBACK), and the message iterator that raises when the
connection drops. It can go down and come back, and hold PUBACKs back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

import aiomqtt


class FakeBroker:
    def __init__(self) -> None:
        self.up = True
        self.acks = asyncio.Event()  # cleared: PUBACKs wait
        self.acks.set()
        self.received: list[dict[str, Any]] = []  # the CloudEvents, in wire order
        self.connects = 0
        self._down = asyncio.Event()

    def client(self) -> FakeClient:
        return FakeClient(self)

    def go_down(self) -> None:
        self.up = False
        self._down.set()

    def come_up(self) -> None:
        self.up = True
        self._down = asyncio.Event()

    async def dropped(self) -> None:
        await self._down.wait()

    def by_subject(self) -> dict[str, list[int]]:
        """Each subject's sequences in the order they arrived (resends included)."""
        seen: dict[str, list[int]] = {}
        for event in self.received:
            seen.setdefault(event["subject"], []).append(int(event["sequence"]))
        return seen

    def ids(self) -> set[str]:
        return {str(e["id"]) for e in self.received}


class FakeClient:
    def __init__(self, broker: FakeBroker) -> None:
        self._broker = broker

    async def __aenter__(self) -> Self:
        if not self._broker.up:
            raise aiomqtt.MqttError("connection refused")
        self._broker.connects += 1
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    @property
    def messages(self) -> AsyncIterator[object]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[object]:
        await self._broker.dropped()
        raise aiomqtt.MqttError("disconnected")
        yield  # an async generator that yields nothing

    async def publish(self, topic: str, payload: bytes, qos: int, properties: object) -> None:
        if not self._broker.up:
            raise aiomqtt.MqttError("not connected")
        self._broker.received.append(json.loads(payload))
        await self._broker.acks.wait()
        if not self._broker.up:
            raise aiomqtt.MqttError("disconnected before the PUBACK")
