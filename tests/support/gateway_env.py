"""`contactgw run` as a black box, with a sipp carrier and pjsua2 softphones around it.

    gw = Gateway(tmp, config_overrides)   # writes the YAML, picks free ports
    await gw.start()                      # starts the process, waits for /health == ok
    phone = await start_phone(gw, "alice", tone=1000)
    rc = await gw.call("+15550100100", hold_ms=5000)   # sipp as the trunk
    await gw.stop()                       # SIGTERM; asserts a clean exit

End-to-end tests own SIP ports 25000-26999, RTP 48000-52999 and TCP 27000-27999
(other suites use other ranges and may run at the same time).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support import ports
from tests.support.agent_ua_client import AgentProcess
from tests.support.polling import wait_for
from tests.support.ports import block, udp_port_free
from tests.support.rtp_pcap import tone_packets, write_pcap
from tests.support.sipp import SCENARIOS, Sipp, render_scenario

SIP_RANGE, RTP_RANGE = (25000, 26999), (48000, 52999)
REPO = Path(__file__).resolve().parents[2]


def tcp_port() -> int:
    return ports.tcp_port(ports.E2E_TCP_RANGE)


async def wait_bound(port: int, timeout: float = 5.0) -> None:
    """Until a freshly started peer listens on `port` (UDP)."""
    for _ in range(int(timeout / 0.05)):
        if not udp_port_free(port):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on udp/{port}")


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class Gateway:
    def __init__(
        self,
        tmp: Path,
        routing: dict[str, Any],
        *,
        workers: int = 3,
        overrides: dict[str, Any] | None = None,
        src: Path = REPO,
        sip_range: tuple[int, int] = SIP_RANGE,
        rtp_range: tuple[int, int] = RTP_RANGE,
    ) -> None:
        """`src`: the source tree `contactgw run` is started from (another checkout, e.g. a
        git worktree of an older commit, to compare two versions); `sip_range`/`rtp_range`:
        the UDP ports this gateway, its sipp peers and its phones draw from."""
        self.tmp = tmp
        self.src = src
        self.sip_range, self.rtp_range = sip_range, rtp_range
        self.edge_port = block(sip_range, 1, align=1)
        self.worker_port = block(sip_range, workers, align=1)
        self.registrar_port = block(sip_range, 1, align=1)
        self.trunk_port = block(sip_range, 1, align=1)
        rtp = block(rtp_range, workers * 16)
        self.api_port = tcp_port()
        self.mqtt_port = tcp_port()
        self.trunk_password = "trunk-secret"
        config = {
            "data_dir": str(tmp / "var"),
            "log_level": "info",
            "sip": {
                "domain": "127.0.0.1",
                "listen_address": "127.0.0.1",
                "listen_port": self.edge_port,
                "worker_address": "127.0.0.1",
                "rtp_port_min": rtp,
                "rtp_port_max": rtp + workers * 16 - 1,
            },
            "trunks": [
                {
                    "name": "carrier",
                    "registrar": f"sip:127.0.0.1:{self.registrar_port}",
                    "username": "gw",
                    "password": self.trunk_password,
                    "register": True,
                    "register_expires": 60,
                    "allowed_sources": [f"127.0.0.1:{self.trunk_port}"],
                }
            ],
            "workers": {
                "count": workers,
                "callers_per_worker": 2,
                "first_sip_port": self.worker_port,
                "rtp_ports_per_worker": 16,
            },
            "api": {"host": "127.0.0.1", "port": self.api_port},
            "mqtt": {"port": self.mqtt_port},  # the gateway's own embedded broker
            "recordings": {"directory": "recordings", "stereo": True},
            **routing,
        }
        self.config = deep_merge(config, overrides or {})
        self.config_path = tmp / "contactgw.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.log_path = tmp / "contactgw.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.registrar: Sipp | None = None
        self.api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.api_port}", timeout=5)
        self._pcaps: dict[float, str] = {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.start_registrar()
        log = self.log_path.open("ab")
        env = None if self.src == REPO else {**os.environ, "PYTHONPATH": str(self.src)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            "run",
            "--config",
            str(self.config_path),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=str(self.src),
            env=env,
        )
        try:
            await self.wait_health("ok", timeout=40)
        except BaseException:
            await self.stop()  # a gateway that never got healthy must not outlive the test
            raise

    async def start_registrar(self) -> None:
        """The carrier's registrar: digest-challenges the gateway's trunk REGISTERs."""
        self.registrar = Sipp(
            SCENARIOS / "trunk_registrar.xml",
            sip_port=self.registrar_port,
            media_port=block(self.rtp_range, 2),
            calls=1000,
            timeout_s=600,
            log_dir=self.tmp,
            extra=[
                "-key",
                "user",
                "gw",
                "-key",
                "password",
                self.trunk_password,
                "-key",
                "expires",
                "60",
            ],
        )
        await self.registrar.start()

    async def wait_health(self, status: str, timeout: float) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        last: Any = None
        while asyncio.get_running_loop().time() < deadline:
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"contactgw exited {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                response = await self.api.get("/health")
                last = response.json()
                if last.get("status") == status:
                    return last  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)
        raise AssertionError(f"health never became {status}: {last}\n{self.log()}")

    async def stop(self) -> int:
        await self.api.aclose()
        rc = 0
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = await asyncio.wait_for(self.proc.wait(), 40)
            except TimeoutError:
                self.proc.kill()
                rc = await self.proc.wait()
        if self.registrar is not None:
            self.registrar.kill()
            await self.registrar.wait(5)  # reap it inside the loop that started it
        return rc

    def log(self, tail: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    # ------------------------------------------------------------------ calls
    def pcap(self, freq: float, seconds: float = 12.0) -> str:
        if freq not in self._pcaps:
            path = self.tmp / f"tone{int(freq)}.pcap"
            write_pcap(path, tone_packets(freq, seconds))
            self._pcaps[freq] = str(path)
        return self._pcaps[freq]

    def caller(
        self,
        did: str,
        *,
        hold_ms: int = 4000,
        calls: int = 1,
        rate: int = 10,
        caller: str = "+15551230000",
        rejected_code: int | None = None,
        timeout_s: int = 60,
    ) -> Sipp:
        if rejected_code is None:
            scenario = render_scenario(
                "trunk_call.xml", self.tmp, pcap=self.pcap(440), hold_ms=hold_ms, caller=caller
            )
        else:
            scenario = render_scenario(
                "trunk_call_rejected.xml", self.tmp, code=rejected_code, caller=caller
            )
        sipp = Sipp(
            scenario,
            sip_port=self.trunk_port,
            media_port=block(self.rtp_range, 4 * calls),
            target=("127.0.0.1", self.edge_port),
            service=did,
            calls=calls,
            timeout_s=timeout_s,
            log_dir=self.tmp,
        )
        idx = sipp.args.index("-r")
        sipp.args[idx + 1] = str(rate)
        return sipp

    async def call(self, did: str, **kwargs: Any) -> Sipp:
        sipp = self.caller(did, **kwargs)
        await sipp.start()
        return sipp

    # ------------------------------------------------------------------ API helpers
    async def get(self, path: str) -> Any:
        response = await self.api.get(path)
        response.raise_for_status()
        return response.json()

    async def wait_for(
        self, what: str, probe: Callable[[], Any], timeout: float = 15.0, interval: float = 0.2
    ) -> Any:
        """Poll a probe until it returns something truthy; fail with the gateway's log."""
        value = await wait_for(probe, timeout, interval)
        if not value:
            raise AssertionError(f"timed out waiting for {what}; last {value!r}\n{self.log()}")
        return value

    async def agent_state(self, agent: str) -> str:
        return str((await self.get(f"/agents/{agent}"))["state"])

    async def cdr(self, n: int = 1) -> list[dict[str, Any]]:
        """The n most recent call records, once all n are closed (ended_at set)."""

        async def probe() -> list[dict[str, Any]] | None:
            rows = await self.get(f"/cdr?limit={n}")
            return rows if len(rows) >= n and all(r["ended_at"] for r in rows) else None

        return await self.wait_for(f"{n} closed call records", probe)  # type: ignore[no-any-return]

    async def metric(self, name: str, **labels: str) -> float:
        text = (await self.api.get("/metrics")).text
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


async def start_phone(gw: Gateway, user: str, *, tone: float = 1000.0,
                      answer_after: float | None = 0.5) -> AgentProcess:
    """A pjsua2 softphone (tests.support.agent_ua) registered at the gateway's edge as
    `user` (password from the gateway's config); `answer_after=None` never answers."""
    args = ["--user", user, "--password", gw.config["agents"][user]["password"],
            "--registrar", f"sip:127.0.0.1:{gw.edge_port}", "--domain", "127.0.0.1",
            "--sip-port", str(block(gw.sip_range, 1, align=1)),
            "--rtp-port", str(block(gw.rtp_range, 8)), "--tone", str(tone), "--expires", "60"]
    args += ["--never-answer"] if answer_after is None else ["--answer-after", str(answer_after)]
    phone = await AgentProcess.start(args)
    try:
        await phone.wait_event("registration", registered=True)
    except BaseException:
        await phone.stop()  # a phone that never registered must not outlive the test
        raise
    return phone
