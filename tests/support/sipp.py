"""Run sipp scenarios from tests/support/sipp/ as asyncio subprocesses.

Scenario files carry ``@NAME@`` placeholders (pcap paths, delays, the scenario's
ending) that ``render_scenario`` fills, writing the result to a temp dir; sipp's
own ``[keyword]`` substitution does not reach ``play_pcap_audio`` attributes.

    caller = Sipp.uac(tmp, target=("127.0.0.1", 21000), sip_port=21500, media_port=40100,
                      tone_pcap=..., dtmf_pcap=..., end=UAC_BYE_AFTER(3000))
    await caller.start(); ...; rc = await caller.wait(30)

DTMF (``@DTMF@``): ``uac_dtmf(pcap, after_ms)`` or "" for none.
Endings (``@END@``):
* ``uac_bye(ms)`` caller hangs up after ``ms``; ``uac_wait_bye()`` caller waits for BYE;
* ``uas_wait_bye()`` callee waits for BYE; ``uas_bye(ms)`` callee hangs up after ``ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from pathlib import Path

SCENARIOS = Path(__file__).parent / "sipp"
SIPP = "/usr/bin/sipp"
_seq = itertools.count(1)


def uac_dtmf(pcap: str, after_ms: int) -> str:
    """Play a DTMF pcap ``after_ms`` after the answer (sipp then stops the tone pcap)."""
    return f"""<pause milliseconds="{after_ms}"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>"""


def uac_bye(ms: int) -> str:
    return f"""<pause milliseconds="{ms}"/>
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Test Caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>"""


_OK_TO_BYE = """<recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>"""


def uac_wait_bye() -> str:
    return _OK_TO_BYE


def uas_wait_bye() -> str:
    return _OK_TO_BYE


def uas_bye(ms: int) -> str:
    return f"""<pause milliseconds="{ms}"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From:[$to_hdr];tag=[pid]SIPpTag01[call_number]
      To:[$from_hdr]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>"""


# Captures From/To of the INVITE for a callee-sent BYE (sipp rejects variables that
# are set but never used, so only the uas_bye ending asks for it).
UAS_CAPTURE = """<action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="from_hdr"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="to_hdr"/>
    </action>"""


def render_scenario(name: str, out_dir: Path, **values: object) -> Path:
    text = (SCENARIOS / name).read_text()
    if "@CAPTURE@" in text:
        values.setdefault("capture", UAS_CAPTURE if "[$to_hdr]" in str(values.get("end")) else "")
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    missing = set(re.findall(r"@([A-Z_]+)@", text))
    if missing:
        raise ValueError(f"{name}: unfilled placeholders {missing}")
    out = out_dir / f"{Path(name).stem}-{next(_seq)}.xml"
    out.write_text(text)
    return out


class Sipp:
    """One sipp process running one scenario for ``calls`` calls."""

    def __init__(
        self,
        scenario: Path,
        *,
        sip_port: int,
        media_port: int,
        target: tuple[str, int] | None = None,
        service: str = "1000",
        calls: int = 1,
        timeout_s: int = 40,
        log_dir: Path | None = None,
        extra: list[str] | None = None,
    ) -> None:
        self.scenario = scenario
        self.args = [
            SIPP,
            "-sf",
            str(scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(sip_port),
            "-mp",
            str(media_port),
            "-m",
            str(calls),
            "-l",
            str(calls),
            "-r",
            "10",
            "-s",
            service,
            "-timeout",
            f"{timeout_s}s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            "-error_file",
            str((log_dir or scenario.parent) / f"{scenario.stem}.err"),
        ] + (extra or [])
        if target is not None:
            self.args.append(f"{target[0]}:{target[1]}")
        self.proc: asyncio.subprocess.Process | None = None
        self.output = b""

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def wait(self, timeout: float = 60) -> int:
        """Exit status (0: every call succeeded). Kills sipp if it overruns."""
        assert self.proc is not None
        try:
            out, _ = await asyncio.wait_for(self.proc.communicate(), timeout)
            self.output = out or b""
        except TimeoutError:
            self.kill()
            await self.proc.wait()
        return self.proc.returncode if self.proc.returncode is not None else -1

    def errors(self) -> str:
        err = Path(self.args[self.args.index("-error_file") + 1])
        text = err.read_text(errors="replace") if err.exists() else ""
        return text[-3000:] + self.output.decode(errors="replace")[-2000:]

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()


def sbc_padding(size: int, *, identity_bytes: int = 720, record_routes: bool = True) -> str:
    """Headers a chain of carrier SBCs adds to an INVITE, about ``size`` bytes in all.

    For ``@PADDING@`` in trunk_call_large*.xml, right below the caller's own Via: one
    STIR/SHAKEN ``Identity`` header (a JWT of ``identity_bytes``, as carriers send), then
    alternating ``Via`` (below ours: responses still reach the caller) and ``Record-Route``
    headers of SBCs (the scenarios send ACK/BYE to the 200's Contact without them) until
    ``size`` is reached; only Via headers with ``record_routes=False``.
    """
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    jwt = "".join(alphabet[(i * 7 + 3) % 64] for i in range(identity_bytes))
    jwt = f"{jwt[:90]}.{jwt[90:500]}.{jwt[500:]}"
    lines = [
        f"Identity: {jwt};info=<https://cert.carrier.example/shaken/cert.pem>;alg=ES256;ppt=shaken"
    ]
    total = len(lines[0]) + 2
    n = 0
    while total < size:
        n += 1
        if n % 2 or not record_routes:
            line = (
                f"Via: SIP/2.0/UDP sbc{n}.carrier.example:5060;branch=z9hG4bK{n:08d}sbcchain"
                f";received=198.51.100.{n % 250 + 1};rport=5060"
            )
        else:
            line = f"Record-Route: <sip:sbc{n}.carrier.example:5060;lr;transport=udp;sbc=hop{n}>"
        lines.append(line)
        total += len(line) + 2
    return "\n".join(lines)
