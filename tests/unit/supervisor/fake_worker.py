"""A stand-in for `python -m gateway.sip.worker` (no pjsua2): connects back, says hello
with the pool's token, answers every command ok, exits on shutdown or EOF.

Run as `fake_worker.py -m gateway.sip.worker --id w1 --control host:port ...`: the
pool's own arguments, so the pool's spawn path is the one under test."""

from __future__ import annotations

import asyncio
import os
import sys

from gateway.ipc import protocol as p
from gateway.ipc.codec import Request
from gateway.ipc.transport import connect


async def main(argv: list[str]) -> None:
    args = dict(zip(argv[::2], argv[1::2], strict=False))
    host, port = args["--control"].rsplit(":", 1)
    conn = await connect(host, int(port))
    token = os.environ["CONTACTGW_WORKER_TOKEN"]
    hello = p.Hello(p.PROTOCOL_VERSION, args["--id"], os.getpid(), "127.0.0.1",
                    int(args["--sip-port"]), 4, token)  # fmt: skip
    await conn.send(hello)
    while (msg := await conn.recv()) is not None:
        if isinstance(msg, Request):
            await conn.send(p.Result(msg.id, True, {}))
            if isinstance(msg.command, p.Shutdown):
                break
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[3:] if sys.argv[1:2] == ["-m"] else sys.argv[1:]))
