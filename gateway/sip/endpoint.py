"""pjsua2 endpoint and account setup for a gateway worker.

Everything here runs on the owner thread (see loop.py). The media settings are
the ones measured to matter for a gateway (ARCHITECTURE.md §1): an 8 kHz
conference clock, no echo canceller, resampling quality 4, VAD off, G.711 only,
a null sound device (a server has no sound card, and the null device lets the
conference bridge run on its own clock), and media bound to the configured
address so SDP advertises it rather than whatever interface pjsua would pick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pjsua2 as pj  # type: ignore[import-untyped]


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    worker_id: str
    sip_port: int
    rtp_port: int
    rtp_port_range: int = 20
    address: str = "127.0.0.1"
    public_address: str = ""
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    max_legs: int = 4  # PJSUA_MAX_CALLS of the wheel; cannot be raised
    max_registrations: int = 5  # PJSUA_MAX_ACC is 8 and the 9th aborts: stay well below
    log_level: int = 0
    user_agent: str = "contactgw-worker"

    @property
    def advertised(self) -> str:
        return self.public_address or self.address


def ep_config(cfg: WorkerConfig) -> pj.EpConfig:
    ec = pj.EpConfig()
    ua = ec.uaConfig
    ua.threadCnt = 0  # we poll from the owner thread ...
    ua.mainThreadOnly = True  # ... and every callback runs there too
    ua.maxCalls = cfg.max_legs
    ua.userAgent = cfg.user_agent
    med = ec.medConfig
    med.clockRate = 8000
    med.sndClockRate = 8000
    med.channelCount = 1
    med.ptime = 20
    med.audioFramePtime = 20
    med.ecTailLen = 0  # echo cancellation is the phones' job, and costs CPU here
    med.quality = 4
    med.noVad = True  # VAD would cut silence out of recordings
    log = ec.logConfig
    log.level = cfg.log_level
    log.consoleLevel = cfg.log_level
    log.msgLogging = cfg.log_level >= 4
    return ec


def set_codecs(ep: pj.Endpoint, wanted: tuple[str, ...]) -> None:
    """Enable only ``wanted`` (by encoding name, in order of preference)."""
    prio = {name.upper(): 255 - i for i, name in enumerate(wanted)}
    for info in ep.codecEnum2():
        name = info.codecId.split("/")[0].upper()
        ep.codecSetPriority(info.codecId, prio.get(name, 0))


def transport_config(cfg: WorkerConfig) -> pj.TransportConfig:
    tc = pj.TransportConfig()
    tc.port = cfg.sip_port
    tc.boundAddress = cfg.address
    if cfg.public_address:
        tc.publicAddress = cfg.public_address
    return tc


def media_transport_config(cfg: WorkerConfig) -> pj.TransportConfig:
    tc = pj.TransportConfig()
    tc.port = cfg.rtp_port
    tc.portRange = cfg.rtp_port_range
    tc.boundAddress = cfg.address
    if cfg.public_address:
        tc.publicAddress = cfg.public_address
    return tc


class EndpointListener(Protocol):
    def on_rejected(self, message: str, code: int, reason: str) -> None: ...


class AccountListener(Protocol):
    def on_incoming(self, acc: GatewayAccount, call_id: int, message: str, source: str) -> None:
        """A new INVITE: pjsua2's ``call_id`` (slot), the raw request, its sender."""

    def on_reg_state(self, acc: GatewayAccount, code: int, reason: str, expires: int) -> None: ...


class GatewayEndpoint(pj.Endpoint):  # type: ignore[misc]
    """Reports INVITEs that pjsua refused before any callback (slots full: 486)."""

    def __init__(self, listener: EndpointListener) -> None:
        super().__init__()
        self._listener = listener

    def onRejectedIncomingCall(self, prm: Any) -> None:
        self._listener.on_rejected(prm.rdata.wholeMsg, prm.statusCode, prm.reason)


class GatewayAccount(pj.Account):  # type: ignore[misc]
    """An account: the local one receives calls; named ones also register (trunk)."""

    def __init__(self, listener: AccountListener, name: str) -> None:
        super().__init__()
        self._listener = listener
        self.name = name

    def onIncomingCall(self, prm: Any) -> None:
        self._listener.on_incoming(self, prm.callId, prm.rdata.wholeMsg, prm.rdata.srcAddress)

    def onRegState(self, prm: Any) -> None:
        self._listener.on_reg_state(self, prm.code, prm.reason, prm.expiration)


def account_config(
    cfg: WorkerConfig,
    id_uri: str,
    *,
    registrar: str = "",
    username: str = "",
    password: str = "",
    realm: str = "*",
    contact: str | None = None,
    proxy: str | None = None,
    expires: int = 300,
) -> pj.AccountConfig:
    ac = pj.AccountConfig()
    ac.idUri = id_uri
    ac.mediaConfig.transportConfig = media_transport_config(cfg)
    ac.regConfig.registerOnAdd = bool(registrar)
    if registrar:
        ac.regConfig.registrarUri = registrar
        ac.regConfig.timeoutSec = expires
        # No retry of pjsua's own: the control plane retries a failed registration with
        # backoff (gateway/control/trunks.py), and two timers would race each other.
        ac.regConfig.retryIntervalSec = 0
        ac.regConfig.dropCallsOnFail = False  # a failed re-REGISTER must not cut calls
    if username:
        ac.sipConfig.authCreds.append(pj.AuthCredInfo("digest", realm, username, 0, password))
    if contact:
        ac.sipConfig.contactForced = contact
    if proxy:
        ac.sipConfig.proxies.append(proxy)
    return ac
