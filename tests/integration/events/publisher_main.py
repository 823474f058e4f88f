"""Run an OutboxPublisher in its own process (the restart test kills it):
``python -m tests.integration.events.publisher_main DB_URL PORT``."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from gateway.events.connection import BrokerAddress
from gateway.events.publisher import EventFormat, OutboxPublisher
from gateway.store import Database, OutboxStore

FORMAT = EventFormat("urn:contactgw:test", "http://127.0.0.1/events/schemas", "contactgw")


async def main(db_url: str, port: int) -> None:
    db = Database.open(db_url)
    address = BrokerAddress("127.0.0.1", port)
    publisher = OutboxPublisher(
        OutboxStore(db),
        lambda: address.client("test-publisher"),
        FORMAT,
        retention=timedelta(days=7),
        poll_s=0.1,
    )
    await publisher.start()
    print("started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
