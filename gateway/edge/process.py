"""Run Kamailio in the foreground and keep it running (gateway.managed_process does the
supervision: spawn in a session, log reader, backoff restart, TERM then KILL).

What is Kamailio's own: the command line, the log levels of its lines, and readiness =
the JSON-RPC socket answers `core.version`; then `on_ready()` pushes runtime state.
Kamailio stops its children on SIGTERM; what is left of the group is killed.

With `orphan_timeout_s` > 0 it outlives the control plane (output in `kamailio.log`) and
one left by a previous control plane is adopted when its command line is ours
(`kamailio -f <our config>`), the config we would render now is the one it runs, and its
RPC socket answers; `adopt_refusal` says which of these failed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.edge.errors import EdgeUnavailable
from gateway.edge.rpc import JsonRpcClient
from gateway.edge.settings import EdgeSettings
from gateway.managed_process import READY_TIMEOUT_S, ManagedProcess

log = logging.getLogger("gateway.edge")
kamailio_log = logging.getLogger("gateway.edge.kamailio")


def kamailio_command(settings: EdgeSettings) -> list[str]:
    return [
        settings.kamailio_binary,
        "-f", str(settings.config_path),
        "-DD",
        "-E",
        "-P", str(settings.pid_path),
        "-Y", str(settings.rundir),
        "-m", str(settings.shm_mb),
        "-M", str(settings.pkg_mb),
    ]  # fmt: skip


# What Kamailio says about a message it received -- its parser, sanity, maxfwd, auth on bad
# credentials, the header getters of pv, tmx and topos, a reply to a Via with port 0 or a bad
# rport -- is the sender's doing, not the edge's. At ERROR one malformed datagram made ~4
# lines (10,000 fuzzed ones: 43,000 lines, 9 MB) before pike, which acts in the script after
# parsing, could stop a flood; and whoever alerts on errors was paged by any scanner.
# Relayed at DEBUG.
_ABOUT_A_MESSAGE = re.compile(
    r"\[(core/parser/|core/receive\.c|core/msg_translator\.c|core/pvapi\.c|sanity\.c"
    r"|pv_core\.c|mf_funcs\.c|tmx_pretran\.c|topos_mod\.c|tps_msg\.c)|auth \[api\.c"
    r"|udp_send\(\): invalid sendtoparameters|update_sock_struct_from_via\(\): bad"
)
# Each line Kamailio prints starts " <process>(<pid>) <LEVEL>:". A header value with CR/LF in
# it (the log prefix quotes the Call-ID and CSeq; parser errors quote the bad header) breaks
# one line into several: the ones without that start, and a line whose "{...}" prefix is cut
# open, are fragments of network text and must not choose their own level.
_LINE_START = re.compile(r"^\s*\d+\(\d+\) [A-Z]+: ")
_PREFIX_CUT = re.compile(r"^\s*\d+\(\d+\) [A-Z]+: +\{[^}]*$")
# A reply or request that could not be sent (the Via or R-URI names an unreachable host):
# worth a warning, not an error -- the edge's own routes to workers are probed and their
# loss logged by the dispatcher events.
_SEND_FAILED = re.compile(r"udp_send\(\): sendto\(|msg_send_buffer\(\): udp_send failed")


def _log_level(line: str) -> int:
    if not _LINE_START.match(line) or _PREFIX_CUT.match(line) or _ABOUT_A_MESSAGE.search(line):
        return logging.DEBUG
    if _SEND_FAILED.search(line):
        return logging.WARNING
    if " CRITICAL:" in line or " ALERT:" in line or " ERROR:" in line:
        return logging.ERROR
    if " WARNING:" in line:
        return logging.WARNING
    if " NOTICE:" in line:
        return logging.INFO
    return logging.DEBUG


class KamailioProcess(ManagedProcess):
    name = "Kamailio"

    def __init__(
        self,
        settings: EdgeSettings,
        *,
        prepare: Callable[[], None],
        on_ready: Callable[[], Awaitable[None]],
        config_change: Callable[[], str | None] = lambda: None,
        log_lines: int = 400,
    ) -> None:
        super().__init__(
            cwd=settings.rundir,
            log=log,
            child_log=kamailio_log,
            pid_path=settings.pid_path,
            log_lines=log_lines,
            log_path=settings.log_path if settings.orphan_timeout_s > 0 else None,
        )
        self.settings = settings
        self._prepare = prepare
        self._on_ready = on_ready
        self._config_change = config_change

    def command(self) -> list[str]:
        return kamailio_command(self.settings)

    def prepare(self) -> None:
        self._prepare()

    async def on_ready(self) -> None:
        await self._on_ready()

    def log_level(self, line: str) -> int:
        return _log_level(line)

    def describe(self) -> str:
        return f"on {self.settings.edge_uri}"

    def stale_marker(self) -> str:
        return str(self.settings.config_path)

    async def adopt_refusal(self, pid: int) -> str | None:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return "it is gone"
        config = str(self.settings.config_path)
        given = argv[argv.index("-f") + 1] if "-f" in argv[:-1] else None
        if Path(argv[0]).name != "kamailio" or given != config:
            return f"its command line is not `kamailio -f {config}`"
        if (change := self._config_change()) is not None:
            return change
        client = JsonRpcClient(self.settings.rpc_socket, timeout=1.0)
        try:
            await client.call("core.version")
        except EdgeUnavailable as exc:
            return f"its RPC socket does not answer ({exc})"
        finally:
            client.close()
        return None

    async def wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        client = JsonRpcClient(self.settings.rpc_socket, timeout=0.5)
        deadline = time.monotonic() + READY_TIMEOUT_S
        try:
            while True:
                if proc.returncode is not None:
                    await asyncio.sleep(0.05)  # let the reader drain the last lines
                    raise EdgeUnavailable(
                        f"Kamailio exited with {proc.returncode} while starting:\n"
                        + self.tail_text(30)
                    )
                try:
                    await client.call("core.version")
                    return
                except EdgeUnavailable:
                    if time.monotonic() > deadline:
                        raise EdgeUnavailable(
                            "Kamailio RPC did not answer within "
                            f"{READY_TIMEOUT_S:.0f}s:\n" + self.tail_text(30)
                        ) from None
                    await asyncio.sleep(0.05)
        finally:
            client.close()
