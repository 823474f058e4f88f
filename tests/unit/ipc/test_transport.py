"""Connection over real loopback TCP: ordering, EOF, a bad line does not end the stream."""

from __future__ import annotations

import asyncio

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification, ProtocolError, Request
from gateway.ipc.transport import Connection, connect, serve


async def test_messages_arrive_in_order_and_eof_is_none():
    received: asyncio.Queue[object] = asyncio.Queue()

    async def handler(conn: Connection) -> None:
        while True:
            try:
                msg = await conn.recv()
            except ProtocolError as exc:
                await received.put(exc)
                continue
            await received.put(msg)
            if msg is None:
                return

    server = await serve(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await connect("127.0.0.1", port)
    await client.send(Request(1, p.Ping()))
    client._writer.write(b"garbage\n")
    client.send_nowait(Notification(p.DtmfDigit("L", "5")))
    await client.close()
    got = [await asyncio.wait_for(received.get(), 5) for _ in range(4)]
    assert got[0] == Request(1, p.Ping())
    assert isinstance(got[1], ProtocolError)
    assert got[2] == Notification(p.DtmfDigit("L", "5"))
    assert got[3] is None
    server.close()
    await server.wait_closed()


async def test_send_after_close_raises():
    server = await serve(lambda conn: conn.recv(), "127.0.0.1", 0)  # type: ignore[arg-type,return-value]
    client = await connect("127.0.0.1", server.sockets[0].getsockname()[1])
    await client.close()
    with pytest.raises(ConnectionError):
        await client.send(Request(1, p.Ping()))
    server.close()
    await server.wait_closed()
