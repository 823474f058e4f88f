"""A test consumer: a persistent MQTT 5 session that reconnects until stopped and keeps
every CloudEvent it receives (duplicates included), like a ticketing system would."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from gateway.events.connection import BrokerAddress


@dataclass
class Received:
    topic: str
    event: dict[str, Any]
    content_type: str | None
    user_properties: list[tuple[str, str]]


@dataclass
class Consumer:
    address: BrokerAddress
    topic: str = "contactgw/#"
    identifier: str = "test-consumer"
    session_expiry_s: int = 3600  # 0: a clean session, forgotten while offline
    received: list[Received] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.subscribed.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                client = self.address.client(
                    self.identifier, session_expiry_s=self.session_expiry_s
                )
                async with client:
                    await client.subscribe(self.topic, qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        props = message.properties
                        self.received.append(
                            Received(
                                topic=str(message.topic),
                                event=json.loads(bytes(message.payload)),  # type: ignore[arg-type]
                                content_type=getattr(props, "ContentType", None),
                                user_properties=list(getattr(props, "UserProperty", [])),
                            )
                        )
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def ids(self) -> set[str]:
        return {r.event["id"] for r in self.received}

    def first_seen_sequences(self) -> dict[str, list[int]]:
        """Each subject's sequences in the order first received (duplicates dropped)."""
        seen: set[str] = set()
        by_subject: dict[str, list[int]] = defaultdict(list)
        for r in self.received:
            if r.event["id"] not in seen:
                seen.add(r.event["id"])
                by_subject[r.event["subject"]].append(int(r.event["sequence"]))
        return dict(by_subject)
