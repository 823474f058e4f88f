"""Line transport for the worker protocol over asyncio streams (TCP).

Why TCP with the worker connecting *to* the control plane: the control plane is the
one stable address in the system; a worker on another host needs only that
address (and the shared token) to join, the control plane never has to know
worker addresses in advance, and a dropped connection is an unambiguous "worker
gone" signal (EOF) on both sides. TCP keeps ordering, so a command's result can
never overtake the events the command caused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from gateway.ipc.codec import MAX_LINE, Message, ProtocolError, decode, encode


class Connection:
    """One peer: ``send`` encodes and writes, ``recv`` returns a message or None at EOF."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._closed = False

    @property
    def peer(self) -> str:
        info = self._writer.get_extra_info("peername")
        return f"{info[0]}:{info[1]}" if info else "?"

    async def send(self, msg: Message) -> None:
        if self._closed:
            raise ConnectionError("connection closed")
        self._writer.write(encode(msg))
        await self._writer.drain()

    def send_nowait(self, msg: Message) -> None:
        """Buffer a message without waiting for the socket (events from callbacks)."""
        if not self._closed and not self._writer.is_closing():
            self._writer.write(encode(msg))

    async def recv(self) -> Message | None:
        """Next message; None at EOF. Raises ProtocolError on a bad line."""
        try:
            line = await self._reader.readline()
        except (asyncio.LimitOverrunError, ValueError):
            raise ProtocolError("line too long") from None
        except (ConnectionError, OSError):
            return None
        if not line:
            return None
        return decode(line)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def connect(host: str, port: int) -> Connection:
    reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
    return Connection(reader, writer)


async def serve(
    handler: Callable[[Connection], Awaitable[None]],
    host: str,
    port: int,
) -> asyncio.Server:
    async def _on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await handler(Connection(reader, writer))

    return await asyncio.start_server(_on_client, host, port, limit=MAX_LINE)
