"""JSON-RPC 2.0 client for Kamailio's jsonrpcs module over a unix datagram socket.

Theory of operation: the client binds its own datagram socket next to Kamailio's (in the
runtime directory) so replies can come back, sends one request per datagram and waits for
the reply carrying the same id. Calls are serialised by a lock: the socket is cheap and the
edge answers in well under a millisecond, so there is no point in pipelining. A reply that
arrives after its call timed out is recognised by its id and discarded.

Integers are sent as JSON integers (Kamailio's RPC layer rejects "1" where it wants 1).
One datagram carries at most ~64 KiB: fine for dispatcher.list with hundreds of workers and
for per-user lookups; don't use ul.dump on a large registrar (use ul.lookup per user).

`EdgeRpc` adds typed helpers for the commands the edge manager uses.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway.edge.errors import EdgeRpcError, EdgeUnavailable

_MAX_DATAGRAM = 65535
_RELOAD_BUSY = "Ongoing reload"


class JsonRpcClient:
    def __init__(self, server_path: Path, *, timeout: float = 2.0) -> None:
        self._server = str(server_path)
        # Our reply socket lives in the temp dir, not the run dir: a unix socket path is
        # limited to 108 bytes, and a deep run dir would silently truncate it.
        self._client_path = os.path.join(
            tempfile.gettempdir(), f"contactgw-rpc-{os.getpid()}-{id(self):x}.sock"
        )
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._sock: socket.socket | None = None

    def _open(self) -> socket.socket:
        if self._sock is None:
            if os.path.exists(self._client_path):
                os.unlink(self._client_path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.bind(self._client_path)
            self._sock = sock
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            try:
                os.unlink(self._client_path)
            except FileNotFoundError:
                pass

    async def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """Call `method` with positional params; return `result` or raise."""
        request_id = next(self._ids)
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params:
            request["params"] = list(params)
        payload = json.dumps(request).encode()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._timeout if timeout is None else timeout)
        async with self._lock:
            try:
                sock = self._open()
                await loop.sock_sendto(sock, payload, self._server)
            except OSError as exc:
                raise EdgeUnavailable(f"{method}: cannot reach {self._server}: {exc}") from exc
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise EdgeUnavailable(f"{method}: no answer from Kamailio RPC in time")
                try:
                    data = await asyncio.wait_for(loop.sock_recv(sock, _MAX_DATAGRAM), remaining)
                except TimeoutError:
                    raise EdgeUnavailable(
                        f"{method}: no answer from Kamailio RPC in time"
                    ) from None
                except OSError as exc:
                    raise EdgeUnavailable(f"{method}: {exc}") from exc
                try:
                    reply = json.loads(data)
                except ValueError:
                    continue  # truncated or garbage datagram: keep waiting for ours
                if reply.get("id") != request_id:
                    continue  # late reply to an earlier, timed-out call
                if "error" in reply:
                    error = reply["error"] or {}
                    raise EdgeRpcError(
                        method, int(error.get("code", 500)), str(error.get("message", ""))
                    )
                return reply.get("result")


class EdgeRpc:
    """The Kamailio RPC commands the edge uses, with Python types."""

    def __init__(self, client: JsonRpcClient) -> None:
        self.client = client

    async def _with_reload_retry(self, method: str, *params: Any) -> Any:
        # dispatcher.add/remove rebuild the list and are rate-limited by reload_delta:
        # retry for a few seconds while Kamailio says "Ongoing reload".
        deadline = time.monotonic() + 5.0
        while True:
            try:
                return await self.client.call(method, *params)
            except EdgeRpcError as exc:
                if _RELOAD_BUSY not in exc.message or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.25)

    async def version(self) -> str:
        return str(await self.client.call("core.version"))

    async def uptime(self) -> dict[str, Any]:
        return dict(await self.client.call("core.uptime"))

    async def dispatcher_list(self) -> dict[str, Any]:
        try:
            result = await self.client.call("dispatcher.list")
        except EdgeRpcError as exc:
            if "No Destination Sets" in exc.message:
                return {}  # the list is empty (e.g. all workers removed)
            raise
        return result if isinstance(result, dict) else {}

    async def dispatcher_add(self, group: int, uri: str, attrs: str, flags: int = 0) -> None:
        await self._with_reload_retry("dispatcher.add", group, uri, flags, 0, attrs)

    async def dispatcher_remove(self, group: int, uri: str) -> None:
        await self._with_reload_retry("dispatcher.remove", group, uri)

    async def dispatcher_set_state(self, state: str, group: int, uri: str) -> None:
        await self.client.call("dispatcher.set_state", state, group, uri)

    async def htable_sets(self, table: str, key: str, value: str) -> None:
        await self.client.call("htable.sets", table, key, value)

    async def htable_delete(self, table: str, key: str) -> None:
        await self.client.call("htable.delete", table, key)

    async def htable_get(self, table: str, key: str) -> str | None:
        try:
            result = await self.client.call("htable.get", table, key)
        except EdgeRpcError:
            return None
        item = (result or {}).get("item") or {}
        value = item.get("value")
        return None if value is None else str(value)

    async def ul_lookup(self, aor: str, table: str = "location") -> dict[str, Any] | None:
        try:
            result = await self.client.call("ul.lookup", table, aor)
        except EdgeRpcError as exc:
            if exc.code == 404 or "not found" in exc.message.lower():
                return None
            raise
        return result if isinstance(result, dict) else None

    async def ul_dump_brief(self) -> Any:
        """Every registered AoR in one call (no contact details)."""
        return await self.client.call("ul.dump", "brief")

    async def ul_rm(self, aor: str, table: str = "location") -> None:
        try:
            await self.client.call("ul.rm", table, aor)
        except EdgeRpcError as exc:
            if "not found" not in exc.message.lower():
                raise

    async def dlg_profile_list(self, profile: str, value: str) -> Any:
        """The dialogs in `profile` with `value` (raw result; see state.parse_dialogs)."""
        return await self.client.call("dlg.profile_list", profile, value)

    async def dlg_profile_size(self, profile: str, value: str) -> int:
        return int(await self.client.call("dlg.profile_get_size", profile, value) or 0)

    async def dlg_end(self, h_entry: int, h_id: int) -> None:
        """BYE to both sides of a confirmed dialog (dlg.end_dlg, integers as integers)."""
        await self.client.call("dlg.end_dlg", int(h_entry), int(h_id))

    async def address_reload(self) -> None:
        await self.client.call("permissions.addressReload")

    async def statistics(self, group: str = "all") -> dict[str, int]:
        result = await self.client.call("stats.get_statistics", group)
        stats: dict[str, int] = {}
        for line in result or []:
            name, _, value = str(line).partition(" = ")
            try:
                stats[name.strip()] = int(value)
            except ValueError:
                continue
        return stats
