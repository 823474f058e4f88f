"""baresip (Debian `baresip-core` 1.0) as an agent's softphone in tests: a phone nobody
here wrote, registered at the gateway's edge, driven over its TCP control socket.

    phone = await Baresip.start(tmp, user="bob", password="pw", edge_port=5060,
                                sip_port=25100, ctrl_port=27100, rtp=(49000, 49019))
    await phone.wait_registered()
    await phone.command("transfer", "sip:carol@127.0.0.1")   # /transfer: sends REFER
    path = phone.heard()              # the WAV of what it received (sndfile's -dec dump)
    await phone.stop()

The generated config loads: `g711` (PCMU/PCMA), `ausine` as the source (`audio_source
ausine,1300` at `ausrc_srate 48000`, `ausrc_channels 2`: a 1300 Hz tone goes out),
`account` (reads `accounts`), `aubridge` as the player (a null sink that keeps the decoder running), `sndfile` (dumps
both directions to `snd_path` as WAV), `menu` (the commands: dial, accept, hangup,
transfer...) and `ctrl_tcp` (netstring JSON: `{"command", "params", "token"}` in,
responses and `{"event": true, "type": ...}` out). The account auto-answers
(`;answermode=auto`) and registers through the edge (`;outbound=`).

baresip binds its SIP port on UDP and TCP and TLS on the port after it: keep the control
port away from both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

BINARY = "baresip"


def available() -> bool:
    return shutil.which(BINARY) is not None


def netstring(data: bytes) -> bytes:
    return str(len(data)).encode() + b":" + data + b","


def render_config(
    home: Path, *, sip_port: int, ctrl_port: int, rtp: tuple[int, int], tone_hz: int
) -> str:
    return "\n".join([
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        f"audio_source ausine,{tone_hz}",
        "audio_player aubridge,contactgw-null",
        "audio_alert aubridge,contactgw-null",
        "ausrc_srate 48000",
        "ausrc_channels 2",
        f"rtp_ports {rtp[0]}-{rtp[1]}",
        "module_path /usr/lib/baresip/modules",
        "module account.so",
        "module g711.so",
        "module ausine.so",
        "module aubridge.so",
        "module sndfile.so",
        "module_app menu.so",
        "module_app ctrl_tcp.so",
        f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
        f"snd_path {home / 'snd'}",
        "",
    ])  # fmt: skip


class Baresip:
    def __init__(self, proc: asyncio.subprocess.Process, home: Path, ctrl_port: int) -> None:
        self.proc, self.home, self.ctrl_port = proc, home, ctrl_port
        self.events: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._token = 0

    @classmethod
    async def start(
        cls, tmp: Path, *, user: str, password: str, edge_port: int, sip_port: int,
        ctrl_port: int, rtp: tuple[int, int], domain: str = "127.0.0.1", tone_hz: int = 1300,
    ) -> Baresip:  # fmt: skip
        home = tmp / f"baresip-{user}"
        (home / "snd").mkdir(parents=True, exist_ok=True)
        config = render_config(home, sip_port=sip_port, ctrl_port=ctrl_port, rtp=rtp,
                               tone_hz=tone_hz)  # fmt: skip
        (home / "config").write_text(config)
        (home / "accounts").write_text(
            f"<sip:{user}@{domain}>;auth_pass={password};answermode=auto;regint=60;"
            f'outbound="sip:127.0.0.1:{edge_port};transport=udp"\n'
        )
        (home / "contacts").write_text("")
        log = (home / "baresip.log").open("ab")
        proc = await asyncio.create_subprocess_exec(
            BINARY, "-f", str(home), stdin=asyncio.subprocess.DEVNULL, stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        phone = cls(proc, home, ctrl_port)
        try:
            await phone._connect()
        except BaseException:
            await phone.stop()
            raise
        return phone

    async def _connect(self, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                break
            except OSError:
                if self.proc.returncode is not None:
                    raise AssertionError(f"baresip exited {self.proc.returncode}:\n{self.log()}")
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"baresip's control port never opened:\n{self.log()}")
                await asyncio.sleep(0.1)
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                size = int((await self._reader.readuntil(b":"))[:-1])
                body = await self._reader.readexactly(size + 1)
                message = json.loads(body[:-1])
                (self.events if message.get("event") else self.responses).append(message)
                self._changed.set()

    async def command(self, name: str, params: str = "") -> str:
        """Send a menu command; returns its token (its response carries it)."""
        assert self._writer is not None
        self._token += 1
        token = str(self._token)
        body = {"command": name, "params": params, "token": token}
        self._writer.write(netstring(json.dumps(body).encode()))
        await self._writer.drain()
        return token

    async def ask(self, name: str, params: str = "", timeout: float = 5.0) -> str:
        """A command's response text."""
        token = await self.command(name, params)
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := [r for r in self.responses if r.get("token") == token]):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"baresip: no response to {name}\n{self.log()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return str(found[0].get("data", ""))

    async def wait_registered(self, timeout: float = 10.0) -> None:
        """Until `reginfo` shows the account registered (it may have been before we
        connected, so its REGISTER_OK event is no proof)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while "OK" not in (info := await self.ask("reginfo")):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"baresip never registered: {info}\n{self.log()}")
            await asyncio.sleep(0.2)

    def find(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    async def wait_event(self, kind: str, timeout: float = 10.0, after: int = 0) -> dict[str, Any]:
        """The first event of `kind` beyond the first `after` of them."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.find(kind)) <= after:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"baresip: no {kind} event; got {[e.get('type') for e in self.events]}\n"
                    f"{self.log()}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return found[after]

    def heard(self) -> Path:
        """The newest dump of received audio (sndfile's `-dec.wav`)."""
        files = sorted((self.home / "snd").glob("dump-*-dec.wav"), key=lambda f: f.stat().st_mtime)
        if not files:
            raise AssertionError(f"baresip dumped no received audio:\n{self.log()}")
        return files[-1]

    def log(self, tail: int = 4000) -> str:
        path = self.home / "baresip.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    async def stop(self, timeout: float = 2.0) -> int:
        if self._writer is not None:
            self._writer.close()
        if self.proc.returncode is None:
            self.proc.terminate()  # baresip ends its calls and unregisters on SIGTERM
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.proc.returncode or 0
