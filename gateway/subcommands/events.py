"""`contactgw events tail`: print the gateway's events live, one line each, for an operator.

Subscribes to the configured broker (the embedded one or `mqtt.url`) on the topic the
filters select (see gateway/events/envelope.py for the scheme) and reconnects if the
broker goes away. For what was missed, use `GET /events`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any, TextIO

from gateway.settings import DEFAULT_CONFIG, Settings, SettingsError, load_settings

DATA_WIDTH = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    tail = sub.add_parser("tail", help="print events live", description=__doc__.splitlines()[0])
    tail.add_argument("--type", help="e.g. call.answered or io.contactgw.call.answered")
    tail.add_argument("--queue", help="only events of this queue")
    tail.add_argument("--call", help="only events of this call id")
    tail.add_argument("--config", default=str(DEFAULT_CONFIG), help="default: %(default)s")


def tail_topic(prefix: str, *, type: str | None, queue: str | None, call: str | None) -> str:
    """The subscription for the filters: ``<prefix>/<kind>/<name>/<queue>/<subject>``."""
    from gateway.events.envelope import TYPE_PREFIX, type_parts

    kind = name = "+"
    if type is not None:
        full = type if type.startswith(TYPE_PREFIX) else TYPE_PREFIX + type
        kind, name = type_parts(full)
    levels = [prefix.rstrip("/"), kind, name, queue or "+", call or "+"]
    if levels[1:] == ["+"] * 4:
        return f"{levels[0]}/#"
    for value in (queue, call):
        if value is not None and any(c in value for c in "/#+"):
            raise ValueError(f"{value!r}: a queue or call id cannot contain / # +")
    return "/".join(levels)


def format_line(event: dict[str, Any]) -> str:
    """``time type subject {data…}``, the data cut to one terminal line."""
    data = json.dumps(event.get("data"), separators=(",", ":"), ensure_ascii=False)
    if len(data) > DATA_WIDTH:
        data = data[: DATA_WIDTH - 1] + "…"
    kind = str(event.get("type", "?")).removeprefix("io.contactgw.")
    return f"{event.get('time', '?')} {kind} {event.get('subject', '-')} {data}"


async def _tail(settings: Settings, topic: str, out: TextIO) -> None:
    import aiomqtt

    from gateway.events.connection import BrokerAddress

    address = BrokerAddress.from_settings(settings.mqtt)
    print(f"# {address.url} {topic}", file=sys.stderr)
    while True:
        try:
            async with address.client() as client:
                await client.subscribe(topic, qos=1)
                async for message in client.messages:
                    try:
                        event = json.loads(bytes(message.payload))
                    except (TypeError, ValueError):
                        print(f"# not a JSON event on {message.topic}", file=sys.stderr)
                        continue
                    print(format_line(event), file=out, flush=True)
        except aiomqtt.MqttError as exc:
            print(f"# {address.url}: {exc}; retrying in 2s", file=sys.stderr)
            await asyncio.sleep(2)


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
        topic = tail_topic(
            settings.mqtt.topic_prefix, type=args.type, queue=args.queue, call=args.call
        )
    except SettingsError as exc:
        print(f"contactgw: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"contactgw events tail: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_tail(settings, topic, sys.stdout))
    return 0
