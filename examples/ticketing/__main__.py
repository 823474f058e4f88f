"""python -m examples.ticketing --broker mqtt://127.0.0.1:1883 --db tickets.sqlite
--api http://127.0.0.1:8080"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os

from examples.ticketing.consumer import Settings, run
from examples.ticketing.store import TicketStore


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.ticketing", description=__doc__)
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--db", default="tickets.sqlite")
    parser.add_argument("--api", default=None, help="the gateway's API, to catch up on start")
    parser.add_argument("--prefix", default="contactgw", help="the gateway's mqtt.topic_prefix")
    parser.add_argument("--client-id", default="contactgw-ticketing")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    settings = Settings(
        broker=args.broker,
        api=args.api,
        prefix=args.prefix,
        client_id=args.client_id,
        # secrets from the environment, not the command line (ps shows arguments)
        username=os.environ.get("TICKETING_MQTT_USERNAME"),
        password=os.environ.get("TICKETING_MQTT_PASSWORD"),
        api_token=os.environ.get("TICKETING_API_TOKEN"),
    )
    store = TicketStore(args.db)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(settings, store))
    finally:
        store.close()


if __name__ == "__main__":
    main()
