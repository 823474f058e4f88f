"""Test helpers for the Kamailio edge: ports in our ranges, sipp processes, raw SIP probes.

Ports: SIP and sipp control ports come from 23000-24999, sipp media ports from
45000-47999 (other suites use other ranges at the same time). Every process started here
is killed by `SippProc.stop()`/`stop_all()`, which the fixtures call in `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tests.support.ports import block as port_block

SIP_PORTS = (23000, 24999)
RTP_PORTS = (45000, 47999)
SIPP = "/usr/bin/sipp"


def sip_port() -> int:
    return port_block(SIP_PORTS, 1, align=1)


def rtp_port() -> int:
    """Four ports: RTP/RTCP for sipp's audio and its second media port."""
    return port_block(RTP_PORTS, 4)


@dataclass
class SippProc:
    name: str
    port: int
    proc: asyncio.subprocess.Process
    trace: Path
    errors: Path
    output: Path

    async def wait(self, timeout: float) -> int:
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.stop()
            raise AssertionError(f"sipp {self.name} did not finish in {timeout}s") from None

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        await self.proc.wait()

    def messages(self) -> str:
        try:
            return self.trace.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _blocks(self) -> list[tuple[float | None, str, str]]:
        """(timestamp, "received"|"sent", first SIP line) for each traced message."""
        out: list[tuple[float | None, str, str]] = []
        for block in self.messages().split("-----------------------------------------------"):
            lines = [ln for ln in block.splitlines() if ln.strip()]
            if len(lines) < 3:
                continue
            stamp: float | None
            try:
                stamp = datetime.strptime(lines[0].strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            except ValueError:
                stamp = None
            if "message received" in lines[1]:
                out.append((stamp, "received", lines[2]))
            elif "message sent" in lines[1]:
                out.append((stamp, "sent", lines[2]))
        return out

    def received(self, start_line: str) -> int:
        """How many messages sipp received whose first line starts with `start_line`."""
        return sum(
            1
            for _, way, line in self._blocks()
            if way == "received" and line.startswith(start_line)
        )

    def received_at(self, start_line: str) -> float | None:
        """Wall-clock time sipp logged the first received message starting `start_line`."""
        for stamp, way, line in self._blocks():
            if way == "received" and line.startswith(start_line):
                return stamp
        return None

    def diagnostics(self) -> str:
        parts = []
        for path in (self.output, self.errors):
            with contextlib.suppress(FileNotFoundError):
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        parts.append(f"--- messages\n{self.messages()[-4000:]}")
        return "\n".join(parts)


@dataclass
class SippPool:
    workdir: Path
    procs: list[SippProc] = field(default_factory=list)

    async def start(
        self,
        name: str,
        scenario_file: Path,
        *,
        remote: str | None = None,
        port: int | None = None,
        extra: tuple[str, ...] = (),
    ) -> SippProc:
        port = port or sip_port()
        trace = self.workdir / f"{name}-{port}-messages.log"
        errors = self.workdir / f"{name}-{port}-errors.log"
        output = self.workdir / f"{name}-{port}-output.log"
        args = [
            SIPP,
            *([remote] if remote else []),
            "-sf", str(scenario_file),
            "-i", "127.0.0.1",
            "-p", str(port),
            "-mp", str(rtp_port()),
            "-cp", str(sip_port()),
            "-nostdin",
            "-trace_msg", "-message_file", str(trace),
            "-trace_err", "-error_file", str(errors),
            *extra,
        ]  # fmt: skip
        with output.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=str(self.workdir),
            )
        sipp = SippProc(name, port, proc, trace, errors, output)
        self.procs.append(sipp)
        return sipp

    async def stop_all(self) -> None:
        for sipp in self.procs:
            await sipp.stop()


def sip_options(
    edge: tuple[str, int],
    *,
    user_agent: str,
    count: int,
    port: int,
    wait_s: float = 1.0,
    gap_s: float = 0.0,
) -> list[int]:
    """Send `count` OPTIONS from 127.0.0.1:`port` to the edge; return the status codes seen.

    Plain UDP so the flood is exactly bounded: `count` datagrams, then at most `wait_s`
    more for replies.
    """
    codes: list[int] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.settimeout(0.01)
        for n in range(count):
            call_id = f"{uuid.uuid4().hex}@edge-test"
            msg = (
                f"OPTIONS sip:{edge[0]}:{edge[1]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
                f"From: <sip:probe@127.0.0.1:{port}>;tag={n}x{os.getpid()}\r\n"
                f"To: <sip:{edge[0]}:{edge[1]}>\r\n"
                f"Call-ID: {call_id}\r\n"
                "CSeq: 1 OPTIONS\r\n"
                "Max-Forwards: 70\r\n"
                f"User-Agent: {user_agent}\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            sock.sendto(msg.encode(), edge)
            _drain(sock, codes)
            if gap_s:
                time.sleep(gap_s)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            _drain(sock, codes)
            time.sleep(0.01)
    return codes


def _drain(sock: socket.socket, codes: list[int]) -> None:
    while True:
        try:
            data = sock.recv(65535)
        except (TimeoutError, BlockingIOError):
            return
        first = data.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = first.split()
        if len(parts) >= 2 and parts[0] == "SIP/2.0" and parts[1].isdigit():
            codes.append(int(parts[1]))
