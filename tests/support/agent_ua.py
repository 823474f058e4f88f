"""A scriptable pjsua2 softphone for tests: the agents' phone behind the edge.

    python -m tests.support.agent_ua --user alice --password s3cret \\
        --registrar sip:127.0.0.1:5060 --sip-port 21500 --rtp-port 40500 \\
        --answer-after 0.5 --tone 1000 --record /tmp/alice-{n}.wav

Behaviour
---------
* Registers ``sip:<user>@<domain>`` (domain defaults to the registrar's host) with
  digest auth; ``--proxy`` sets an outbound proxy; ``--no-register`` skips it.
* Incoming calls: ``--answer-after S`` (auto-answer after S seconds, default 0.2),
  ``--never-answer`` (ring until cancelled), or ``--reject CODE``. One call at a
  time: a second one gets 486.
* Media: sends ``--tone HZ`` (pjsua2 ToneGenerator, continuous) or ``--wav FILE``
  (looped), and records what it receives to ``--record PATH`` (``{n}`` = call
  number). ``--hangup-after S`` hangs up S seconds after answering.

Control (stdin, one JSON object per line) -> replies/events (stdout, JSON lines):
    {"cmd": "state"}                      -> {"event": "status", "registered": ..., "call": ...}
    {"cmd": "hangup"}                     -> hang up the current call
    {"cmd": "answer"}                     -> answer the ringing call now
    {"cmd": "dtmf", "digits": "12#"}      -> RFC 2833 digits on the current call
    {"cmd": "transfer", "uri": "sip:b@d"} -> blind transfer: REFER on the current call
    {"cmd": "consult", "uri": "sip:b@d"}  -> a second call, the current one kept (attended)
    {"cmd": "xfer-replaces"}              -> REFER the current call to the consultation's
                                             peer with Replaces of the consultation dialog
    {"cmd": "call", "uri": "sip:n@host:port"} -> place a call (e.g. as the carrier's caller)
    {"cmd": "hold"} / {"cmd": "unhold"}   -> re-INVITE a=sendonly / back to sendrecv
    {"cmd": "record", "path": "/x.wav"}   -> what is heard from now on goes to a new file
    {"cmd": "mode", "mode": "answer"|"never"|"reject", "delay": 0.5, "code": 486}
    {"cmd": "quit"}                       -> unregister, hang up, exit 0
Events: ready, registration {code, registered}, incoming {from, to, call_id, call_info},
call_state {state, code, reason}, dtmf {digit}, recording {path, bytes}, error, bye,
transfer_status {code, reason, final} (the REFER's NOTIFYs; a final 2xx hangs up),
replaced {} (an INVITE with Replaces took over our call: pjsua answers it itself).
call_state of the consultation call carries "consult": true.
End of stdin means quit (run with ``--no-stdin`` to ignore stdin); SIGTERM too.
Every line carries ``"t"`` (seconds since start). Only the main thread calls pjsua2.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
from typing import Any

import pjsua2 as pj

T0 = time.monotonic()
_out_lock = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    line = json.dumps({"event": event, "t": round(time.monotonic() - T0, 3), **fields})
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Phone(pj.Account):  # type: ignore[misc]
    def __init__(self, app: AgentUA) -> None:
        super().__init__()
        self.app = app

    def onRegState(self, prm: Any) -> None:
        self.app.registered = 200 <= prm.code < 300 and prm.expiration > 0
        emit(
            "registration",
            code=int(prm.code),
            reason=prm.reason,
            registered=self.app.registered,
            expires=int(prm.expiration),
        )

    def onIncomingCall(self, prm: Any) -> None:
        self.app.on_incoming(AgentCall(self.app, self, prm.callId), prm.rdata.wholeMsg)


class AgentCall(pj.Call):  # type: ignore[misc]
    def __init__(self, app: AgentUA, acc: Phone, call_id: int) -> None:
        super().__init__(acc, call_id)
        self.app = app
        self.acc = acc
        self.recorder: Any = None
        self.rec_path = ""
        self.aud: Any = None  # the call's audio port, once media is up
        self.state = "incoming"

    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        self.state = ci.stateText.lower()
        extra = {"consult": True} if self is self.app.consult else {}
        emit("call_state", state=self.state, code=int(ci.lastStatusCode), reason=ci.lastReason,
             **extra)  # fmt: skip
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.app.on_disconnected(self)
        elif ci.state == pj.PJSIP_INV_STATE_CONFIRMED and self.app.args.hangup_after:
            self.app.at(self.app.args.hangup_after, self.app.hangup)

    def onCallMediaState(self, prm: Any) -> None:
        ci = self.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.app.connect_media(self, self.getAudioMedia(i))

    def onDtmfDigit(self, prm: Any) -> None:
        emit("dtmf", digit=prm.digit)

    def onCallReplaced(self, prm: Any) -> None:
        # RFC 3891: pjsua answers the replacing INVITE and ends this call (410); the new
        # call must be ours, so that its media is sent and recorded like any other.
        new = AgentCall(self.app, self.acc, prm.newCallId)
        prm.newCall = new
        self.app.live.add(new)
        self.app.call = new
        self.app.calls += 1
        emit("replaced")

    def onCallTransferStatus(self, prm: Any) -> None:
        # The transferor's side of REFER: NOTIFY sipfrags; a final 2xx ends our call.
        code, final = int(prm.statusCode), bool(prm.finalNotify)
        emit("transfer_status", code=code, reason=prm.reason, final=final)
        if final and 200 <= code < 300:
            self.app.at(0.0, self.app.hangup)


class AgentUA:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.mode = "reject" if args.reject else ("never" if args.never_answer else "answer")
        self.delay = args.answer_after
        self.code = args.reject or 486
        self.call: AgentCall | None = None
        self.consult: AgentCall | None = None  # an attended transfer's consultation call
        # Every Call object stays referenced until its DISCONNECTED callback: dropping
        # one earlier declines it, dropping it late can hit a reused pjsua slot.
        self.live: set[AgentCall] = set()
        self.calls = 0
        self.registered = False
        self.source: Any = None  # ToneGenerator or AudioMediaPlayer, shared by calls
        self.commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self.timers: list[tuple[float, Any]] = []
        self.closing: list[tuple[str, float]] = []  # recordings waiting for their header
        self.running = True
        self.wake_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    # ------------------------------------------------------------------ main thread
    def at(self, delay: float, fn: Any) -> None:
        self.timers.append((time.monotonic() + delay, fn))

    def setup(self) -> None:
        a = self.args
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.uaConfig.userAgent = "contactgw-agent-ua"
        cfg.medConfig.clockRate = cfg.medConfig.sndClockRate = 8000
        cfg.medConfig.ecTailLen = 0
        cfg.medConfig.noVad = True
        cfg.logConfig.level = cfg.logConfig.consoleLevel = a.log_level
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        tc = pj.TransportConfig()
        tc.port, tc.boundAddress = a.sip_port, a.address
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
        self.ep.libStart()
        for info in self.ep.codecEnum2():
            name = info.codecId.split("/")[0].upper()
            self.ep.codecSetPriority(info.codecId, {"PCMU": 255, "PCMA": 254}.get(name, 0))
        if a.wav:
            player = pj.AudioMediaPlayer()
            player.createPlayer(a.wav, 0)
            self.source = player
        elif a.tone:
            tg = pj.ToneGenerator()
            tg.createToneGenerator(8000, 1)
            desc = pj.ToneDesc()
            desc.freq1, desc.freq2 = int(a.tone), 0
            desc.on_msec, desc.off_msec, desc.volume = 10000, 0, 0
            tones = pj.ToneDescVector()
            tones.append(desc)
            tg.play(tones, True)
            self.source = tg
        self.acc = Phone(self)
        self.acc.create(self.account_config())

    def account_config(self) -> pj.AccountConfig:
        a = self.args
        domain = a.domain or (
            a.registrar.split(":", 1)[1].split(";")[0].split(":")[0] if a.registrar else a.address
        )
        ac = pj.AccountConfig()
        ac.idUri = f"sip:{a.user}@{domain}"
        if a.registrar and not a.no_register:
            ac.regConfig.registrarUri = a.registrar
            ac.regConfig.timeoutSec = a.expires
            ac.regConfig.retryIntervalSec = 5
        else:
            ac.regConfig.registerOnAdd = False
        if a.password:
            ac.sipConfig.authCreds.append(
                pj.AuthCredInfo("digest", "*", a.auth_user or a.user, 0, a.password)
            )
        if a.proxy:
            ac.sipConfig.proxies.append(a.proxy)
        mt = pj.TransportConfig()
        mt.port, mt.portRange, mt.boundAddress = a.rtp_port, 40, a.address
        ac.mediaConfig.transportConfig = mt
        return ac

    def on_incoming(self, call: AgentCall, msg: str) -> None:
        heads = {
            ln.split(":", 1)[0].strip().lower(): ln.split(":", 1)[1].strip()
            for ln in msg.split("\r\n\r\n")[0].split("\r\n")[1:]
            if ":" in ln
        }
        emit(
            "incoming",
            **{
                "from": heads.get("from", heads.get("f", "")),
                "to": heads.get("to", heads.get("t", "")),
                "call_id": heads.get("call-id", heads.get("i", "")),
                "call_info": heads.get("call-info"),  # the desktop's screen-pop link
            },
        )
        self.live.add(call)
        op = pj.CallOpParam()
        if self.call is not None or self.mode == "reject":
            op.statusCode = 486 if self.call is not None else self.code
            call.hangup(op)
            return
        self.call = call
        self.calls += 1
        op.statusCode = 180
        call.answer(op)
        if self.mode == "answer":
            self.at(self.delay, self.answer)

    def answer(self) -> None:
        if self.call is not None and self.call.state in ("incoming", "early"):
            op = pj.CallOpParam(True)
            op.statusCode = 200
            try:
                self.call.answer(op)
            except pj.Error as exc:
                emit("error", message=f"answer failed: {exc.reason}")
        else:
            emit(
                "error",
                message="no ringing call to answer",
                state=self.call.state if self.call else None,
            )

    def hangup(self) -> None:
        if self.call is not None:
            try:
                self.call.hangup(pj.CallOpParam())
            except pj.Error as exc:
                emit("error", message=str(exc.reason))

    def connect_media(self, call: AgentCall, aud: Any) -> None:
        call.aud = aud
        if self.source is not None:
            self.source.startTransmit(aud)
        if self.args.record and call.recorder is None:
            path = self.args.record.replace("{n}", str(self.calls))
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            call.recorder = pj.AudioMediaRecorder()
            call.recorder.createRecorder(path)
            call.rec_path = path
        if call.recorder is not None:
            aud.startTransmit(call.recorder)

    def place(self, uri: str, consult: bool = False) -> None:
        call = AgentCall(self, self.acc, pj.PJSUA_INVALID_ID)
        self.live.add(call)
        if consult:
            self.consult = call
        else:
            self.call = call
        self.calls += 1
        call.state = "calling"
        call.makeCall(uri, pj.CallOpParam(True))

    def rerecord(self, call: AgentCall, path: str) -> None:
        """Close the current recording (its header follows) and record into ``path``."""
        if call.recorder is not None:
            call.aud.stopTransmit(call.recorder)
            call.recorder = None
            self.closing.append((call.rec_path, time.monotonic() + 2.0))
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        call.recorder = pj.AudioMediaRecorder()
        call.recorder.createRecorder(path)
        call.rec_path = path
        call.aud.startTransmit(call.recorder)

    def on_disconnected(self, call: AgentCall) -> None:
        if call.recorder is not None:
            call.recorder = None  # the header is written when pjmedia drops the port
            self.closing.append((call.rec_path, time.monotonic() + 2.0))
        if call is self.call:
            self.call = None
        if call is self.consult:
            self.consult = None
        self.live.discard(call)

    def check_recordings(self) -> None:
        for path, deadline in list(self.closing):
            with open(path, "rb") as f:
                head = f.read(8)
            if int.from_bytes(head[4:8], "little") or time.monotonic() > deadline:
                self.closing.remove((path, deadline))
                emit("recording", path=path, bytes=os.path.getsize(path))

    def handle(self, cmd: dict[str, Any]) -> None:
        name = cmd.get("cmd")
        if name == "state":
            emit(
                "status",
                registered=self.registered,
                mode=self.mode,
                calls=self.calls,
                call=self.call.state if self.call else None,
            )
        elif name == "hangup":
            self.hangup()
        elif name == "answer":
            self.answer()
        elif name == "transfer" and self.call is not None:  # blind: REFER to cmd["uri"]
            self.call.xfer(str(cmd["uri"]), pj.CallOpParam(True))
        elif name == "consult" and self.call is not None and self.consult is None:
            self.place(str(cmd["uri"]), consult=True)
        elif name == "xfer-replaces" and self.call is not None and self.consult is not None:
            self.call.xferReplaces(self.consult, pj.CallOpParam(True))
        elif name == "dtmf" and self.call is not None:
            self.call.dialDtmf(str(cmd.get("digits", "")))
        elif name == "call" and self.call is None:
            self.place(str(cmd["uri"]))
        elif name == "hold" and self.call is not None:
            self.call.setHold(pj.CallOpParam(True))
        elif name == "unhold" and self.call is not None:
            prm = pj.CallOpParam(True)
            prm.opt.flag = pj.PJSUA_CALL_UNHOLD
            self.call.reinvite(prm)
        elif name == "record" and self.call is not None and self.call.aud is not None:
            self.rerecord(self.call, str(cmd["path"]))
        elif name == "mode":
            self.mode = cmd.get("mode", self.mode)
            self.delay = float(cmd.get("delay", self.delay))
            self.code = int(cmd.get("code", self.code))
        elif name == "quit":
            self.running = False
        else:
            emit("error", message=f"unknown or inapplicable command {cmd!r}")

    def run(self) -> None:
        self.setup()
        emit("ready", uri=f"sip:{self.args.user}@{self.args.address}:{self.args.sip_port}")
        while self.running:
            self.ep.libHandleEvents(100)
            while not self.commands.empty():
                self.handle(self.commands.get_nowait())
            now = time.monotonic()
            due = [t for t in self.timers if t[0] <= now]
            self.timers = [t for t in self.timers if t[0] > now]
            for _, fn in due:
                fn()
            del due
            self.check_recordings()
        self.shutdown()

    def shutdown(self) -> None:
        self.ep.hangupAllCalls()
        end = time.monotonic() + 2
        while (self.live or self.closing) and time.monotonic() < end:
            self.ep.libHandleEvents(50)
            self.check_recordings()
        self.call = None
        self.live.clear()
        self.timers.clear()
        self.acc.shutdown()  # unregisters
        end = time.monotonic() + 1
        while time.monotonic() < end:
            self.ep.libHandleEvents(50)
        self.source = None
        self.acc = None
        self.ep.libDestroy()
        emit("bye")

    # ------------------------------------------------------------------ other threads
    def push(self, cmd: dict[str, Any]) -> None:
        self.commands.put(cmd)
        self.wake_sock.sendto(b"\r\n\r\n", (self.args.address, self.args.sip_port))

    def read_stdin(self) -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
                if not isinstance(cmd, dict):
                    raise TypeError("not an object")
            except (ValueError, TypeError) as exc:
                emit("error", message=f"bad command line: {exc}")
                continue
            self.push(cmd)
        self.push({"cmd": "quit"})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m tests.support.agent_ua",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", default="")
    ap.add_argument("--auth-user", default="", help="digest user name if not --user")
    ap.add_argument("--registrar", default="", help="e.g. sip:127.0.0.1:5060")
    ap.add_argument("--domain", default="", help="domain of the AOR (default: registrar host)")
    ap.add_argument("--proxy", default="", help="outbound proxy URI, e.g. sip:127.0.0.1:5060;lr")
    ap.add_argument("--no-register", action="store_true")
    ap.add_argument("--expires", type=int, default=300)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--sip-port", type=int, required=True)
    ap.add_argument("--rtp-port", type=int, required=True)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--answer-after", type=float, default=0.2, metavar="SECONDS")
    mode.add_argument("--never-answer", action="store_true")
    mode.add_argument("--reject", type=int, default=0, metavar="CODE")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--tone", type=float, default=0.0, metavar="HZ")
    src.add_argument("--wav", default="")
    ap.add_argument("--record", default="", help="WAV path for received audio; {n}=call number")
    ap.add_argument("--hangup-after", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--no-stdin", action="store_true", help="ignore stdin (no control)")
    ap.add_argument("--log-level", type=int, default=0)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    app = AgentUA(parse_args(argv))
    signal.signal(signal.SIGTERM, lambda *_: app.push({"cmd": "quit"}))
    if not app.args.no_stdin:
        threading.Thread(target=app.read_stdin, daemon=True).start()
    try:
        app.run()
    except Exception as exc:  # noqa: BLE001 - report; exit without finalisers touching pjsua2
        emit("error", message=repr(exc))
        sys.stdout.flush()
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
