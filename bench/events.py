"""Events bench: outbox → broker throughput and end-to-end latency, against a raw
aiomqtt publish loop measured in the same run.

Everything on 127.0.0.1: the embedded mosquitto (gateway.events.broker) on a free port,
a SQLite outbox in a temp dir, and a subscriber in its own process (a real consumer:
QoS 1, it prints each event's id with its CLOCK_MONOTONIC arrival time, which is
system-wide on Linux, so it compares with ours).

1. raw: `--count` messages (the same CloudEvents bytes, topics and user properties)
   published with aiomqtt, QoS 1, pipelined in windows of the publisher's batch size —
   the best aiomqtt does; time until the subscriber has them all.
2. outbox: the same count written to the outbox first (not timed), then the
   OutboxPublisher started; time until the subscriber has them all (every row marked).
3. latency: rows written at `--rate` events/s for `--seconds`, `--per-tx` events per
   transaction (a call-record write carries a few events; aiosqlite manages ~500
   single-row transactions/s on this 2-core box, so 1,000 one-event transactions/s
   would measure SQLite, not the path), `notify()` after each commit, as the control
   plane does; latency = the subscriber's arrival minus the commit. p50 / p99 / max.

Prints both throughputs and their ratio (aim: >= 0.8), and the latency percentiles
(aim: p99 < 20 ms at 1,000 events/s). Bounded: every wait has a deadline (`--timeout`).

    .venv/bin/python bench/events.py [--count 5000] [--rate 1000] [--seconds 5] [--per-tx 5]
                                     [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from gateway.events.broker import BrokerConfig, EmbeddedBroker
from gateway.events.connection import BrokerAddress
from gateway.events.envelope import EventFormat
from gateway.events.publisher import BATCH, OutboxPublisher, publish_properties
from gateway.store import Database, OutboxMessage, OutboxStore, migrate

FORMAT = EventFormat("urn:contactgw:bench", "http://127.0.0.1:8080/events/schemas")
TOPIC = f"{FORMAT.topic_prefix}/#"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(n: int) -> OutboxMessage:
    """A call.queued-sized event over 50 calls (subjects)."""
    return OutboxMessage(
        type="io.contactgw.call.queued",
        payload={"call_id": f"call-{n % 50}", "queue": "sales", "position": n % 7, "priority": 5},
        created_at=datetime.now(UTC),
        subject=f"call-{n % 50}",
        queue="sales",
    )


async def subscriber_main(port: int) -> None:
    """The consumer process: one line per event, ``<id> <monotonic>``."""
    async with BrokerAddress("127.0.0.1", port).client("bench-sub") as client:
        await client.subscribe(TOPIC, qos=1)
        print("ready", flush=True)
        async for m in client.messages:
            event_id = json.loads(bytes(m.payload))["id"]  # type: ignore[arg-type]
            sys.stdout.write(f"{event_id} {time.monotonic()}\n")
            sys.stdout.flush()


class Arrivals:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.at: dict[str, float] = {}
        self.changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            event_id, _, at = line.decode().partition(" ")
            if at:
                self.at[event_id] = float(at)
                self.changed.set()

    async def wait_all(self, ids: set[str], deadline: float) -> float:
        """The last arrival of ``ids``; raises TimeoutError past ``deadline``."""
        while not ids <= self.at.keys():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))
        return max(self.at[i] for i in ids)


async def raw_loop(port: int, msgs: list[OutboxMessage]) -> float:
    """Publish ``msgs`` as the publisher would, without the outbox; returns the start."""
    prepared = []
    for m in msgs:
        event = FORMAT.cloudevent(m)
        body = json.dumps(event, separators=(",", ":")).encode()
        prepared.append((FORMAT.topic(m), body, event))
    async with BrokerAddress("127.0.0.1", port).client("bench-raw") as client:
        started = time.monotonic()
        for i in range(0, len(prepared), BATCH):
            await asyncio.gather(
                *(
                    client.publish(topic, body, qos=1, properties=publish_properties(event))
                    for topic, body, event in prepared[i : i + BATCH]
                )
            )
    return started


async def run(args: argparse.Namespace) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="contactgw-bench-events-"))
    port = free_port()
    broker = EmbeddedBroker(BrokerConfig(run_dir=tmp / "run", port=port))
    await broker.start()
    sub = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--subscriber", str(port), stdout=asyncio.subprocess.PIPE
    )
    db = Database.open(f"sqlite+aiosqlite:///{tmp / 'gw.db'}")
    publisher: OutboxPublisher | None = None
    try:
        assert sub.stdout is not None
        assert await asyncio.wait_for(sub.stdout.readline(), 10) == b"ready\n"
        arrivals = Arrivals(sub)
        await migrate(db.engine)
        store = OutboxStore(db)
        deadline = lambda: time.monotonic() + args.timeout

        raw_msgs = [message(n) for n in range(args.count)]
        started = await raw_loop(port, raw_msgs)
        last = await arrivals.wait_all({str(m.id) for m in raw_msgs}, deadline())
        raw_rate = args.count / (last - started)

        outbox_msgs = [message(n) for n in range(args.count)]
        for i in range(0, len(outbox_msgs), 1000):
            await store.add(outbox_msgs[i : i + 1000])
        address = BrokerAddress("127.0.0.1", port)
        publisher = OutboxPublisher(
            store,
            lambda: address.client("bench-publisher"),
            FORMAT,
            retention=timedelta(days=1),
        )
        started = time.monotonic()
        await publisher.start()
        last = await arrivals.wait_all({str(m.id) for m in outbox_msgs}, deadline())
        outbox_rate = args.count / (last - started)

        committed: dict[str, float] = {}
        interval = args.per_tx / args.rate
        begin = time.monotonic()
        n = 0
        while (now := time.monotonic()) - begin < args.seconds:
            due = begin + (n / args.per_tx) * interval
            if now < due:
                await asyncio.sleep(due - now)
            batch = [message(n + i) for i in range(args.per_tx)]
            await store.add(batch)
            at = time.monotonic()
            committed.update((str(m.id), at) for m in batch)
            publisher.notify()
            n += args.per_tx
        achieved = n / (time.monotonic() - begin)
        await arrivals.wait_all(set(committed), deadline())
        latencies = sorted((arrivals.at[i] - t) * 1000 for i, t in committed.items())
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        return {
            "raw_events_per_s": raw_rate,
            "outbox_events_per_s": outbox_rate,
            "ratio": outbox_rate / raw_rate,
            "latency_rate_per_s": achieved,
            "latency_events": float(len(latencies)),
            "latency_p50_ms": statistics.median(latencies),
            "latency_p99_ms": p99,
            "latency_max_ms": latencies[-1],
        }
    finally:
        if publisher is not None:
            await publisher.stop()
        sub.kill()
        await sub.wait()
        await db.close()
        await broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--per-tx", type=int, default=5, help="events per transaction")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--subscriber", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        asyncio.run(subscriber_main(args.subscriber))
        return 0
    r = asyncio.run(run(args))
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"raw aiomqtt loop : {r['raw_events_per_s']:8.0f} events/s")
    print(f"outbox publisher : {r['outbox_events_per_s']:8.0f} events/s")
    print(f"ratio            : {r['ratio']:8.2f}  (aim >= 0.8)")
    print(
        f"end to end at {r['latency_rate_per_s']:.0f} events/s ({r['latency_events']:.0f} events, "
        f"{args.per_tx} per transaction): "
        f"p50 {r['latency_p50_ms']:.1f} ms, p99 {r['latency_p99_ms']:.1f} ms, "
        f"max {r['latency_max_ms']:.1f} ms  (aim p99 < 20 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
