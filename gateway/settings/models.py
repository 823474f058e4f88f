"""The platform sections of the configuration and the :class:`Settings` root.

Defaults are chosen so that a file containing only routing data (or nothing at all)
runs on one machine: edge on 127.0.0.1:5060, four workers, API on 127.0.0.1:8080,
SQLite under ``data_dir``. Paths are resolved by the loader (relative to the
config file's directory), so after :func:`gateway.settings.load_settings` every
path and the database URL are absolute.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from gateway.settings.routing import Model, Name, RoutingSettings

ROUTING_KEYS = frozenset(RoutingSettings.model_fields)
Port = Annotated[int, Field(ge=1, le=65535)]
Codec = Literal["PCMU", "PCMA", "G722"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SourceNetwork(Model):
    """An allowed source: ``10.0.0.0/8``, ``192.0.2.7:5060``, ``[2001:db8::]/32:5060``."""

    network: IPNetwork
    port: Port | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text, port = value.strip(), None
        if text.startswith("["):
            address, _, rest = text[1:].partition("]")
            prefix, _, port_text = rest.partition(":")
            text, port = address + prefix, port_text or None
        elif text.count(":") == 1:
            text, port = text.split(":")
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an address or CIDR network") from None
        return {"network": network, "port": port}

    def __str__(self) -> str:
        if self.port is None:
            return str(self.network)
        if self.network.version == 6:
            return f"[{self.network}]:{self.port}"
        return f"{self.network}:{self.port}"


class SipSettings(Model):
    """Addresses of the edge (Kamailio) and the workers, media ports and codecs."""

    domain: str | None = None
    listen_address: str = "127.0.0.1"
    listen_port: Port = 5060
    public_address: str | None = None
    worker_address: str = "127.0.0.1"
    rtp_port_min: Port = 20000
    rtp_port_max: Port = 29999
    codecs: tuple[Codec, ...] = ("PCMU", "PCMA")

    @field_validator("listen_address", "worker_address")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP address (sockets bind to addresses)"
            ) from None
        return value

    @model_validator(mode="after")
    def _range(self) -> SipSettings:
        if self.rtp_port_max <= self.rtp_port_min:
            raise ValueError("rtp_port_max must be greater than rtp_port_min")
        return self

    @property
    def advertised_address(self) -> str:
        """The address put in SDP and Contact: ``public_address`` or the listen address."""
        return self.public_address or self.listen_address


class TrunkSettings(Model):
    """A SIP trunk (ITSP); calls from it are accepted only from ``allowed_sources``."""

    name: Name
    registrar: Annotated[str, Field(pattern=r"^sips?:")]
    username: str | None = None
    password: SecretStr | None = None
    register_: bool = Field(False, alias="register")  # "register" is a BaseModel method
    register_expires: Annotated[int, Field(ge=60, le=86400)] = 300
    allowed_sources: tuple[SourceNetwork, ...] = ()
    did_from: Literal["request_uri", "to"] = "request_uri"

    @model_validator(mode="after")
    def _credentials(self) -> TrunkSettings:
        if self.register_ and (self.username is None or self.password is None):
            raise ValueError("register: true needs username and password")
        return self


class WorkerSettings(Model):
    """The pjsua2 worker pool. A worker holds at most 2 conversations (4 call legs)."""

    count: Annotated[int, Field(ge=1, le=1000)] = 4
    callers_per_worker: Annotated[int, Field(ge=1, le=2)] = 2
    first_sip_port: Port = 5100
    rtp_ports_per_worker: Annotated[int, Field(ge=4)] = 16
    # seconds a worker that lost the control plane keeps its calls, waiting to be
    # adopted by the next one (docs/reliability.md); 0: it hangs up at once
    orphan_timeout: Annotated[float, Field(ge=0, le=3600)] = 60.0

    @model_validator(mode="after")
    def _enough_rtp(self) -> WorkerSettings:
        # two legs per conversation, an RTP and an RTCP port per leg
        needed = 4 * self.callers_per_worker
        if self.rtp_ports_per_worker < needed:
            raise ValueError(
                f"rtp_ports_per_worker must be at least {needed} (2 legs x 2 ports per caller)"
            )
        if self.first_sip_port + self.count - 1 > 65535:
            raise ValueError("first_sip_port + count exceeds 65535")
        return self


class ApiSettings(Model):
    """``public_url``: where agents' browsers and softphones reach this API (the agent
    desktop's Call-Info links); null: ``http://<host>:<port>``, none for a wildcard host."""

    host: str = "127.0.0.1"
    port: Port = 8080
    admin_token: SecretStr | None = None
    public_url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")] | None = None

    def base_url(self) -> str | None:
        """The API's URL for links; None: not known (listening on every address)."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        if self.host in ("0.0.0.0", "::", ""):  # the wildcard: no one address to link to
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class DatabaseSettings(Model):
    """``url`` defaults to SQLite at ``<data_dir>/contactgw.db``; a relative SQLite path
    is taken relative to ``data_dir``."""

    url: str | None = None
    # /health says "degraded" once a call record / agent-state write has waited this long
    # (the database is locked or down; the write-behind keeps it and retries)
    pending_writes_degraded_after: Annotated[float, Field(gt=0)] = 30.0
    write_batch: Annotated[int, Field(ge=1, le=10000)] = 500  # writes per transaction, at most

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return url


class MqttSettings(Model):
    """Call events (CloudEvents over MQTT 5). ``url: null`` runs the embedded mosquitto on
    ``host``/``port``; else ``mqtt://host[:port]`` or ``mqtts://host[:port]`` names an
    existing MQTT 5 broker (``host``/``port`` are then unused)."""

    enabled: bool = True
    url: str | None = None
    host: str = "127.0.0.1"
    port: Port = 1883
    topic_prefix: Annotated[str, Field(pattern=r"^[^#+]+$")] = "contactgw"
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False
    client_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    instance: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    retention_days: Annotated[float, Field(gt=0)] = 7.0

    @field_validator("url")
    @classmethod
    def _broker_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
            raise ValueError("use mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        try:
            parsed.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError(f"{url!r} has an invalid port") from None
        if parsed.path not in ("", "/") or parsed.query or parsed.username:
            raise ValueError("give only scheme, host and port (credentials: username/password)")
        return url

    @model_validator(mode="after")
    def _tls_files(self) -> MqttSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (a client certificate)")
        if self.url is None and (self.uses_tls or self.username is not None):
            raise ValueError(
                "the embedded broker listens on loopback without TLS or passwords: "
                "tls/username need url: pointing at your broker"
            )
        return self

    @property
    def uses_tls(self) -> bool:
        return self.tls or (self.url or "").startswith("mqtts://")

    @property
    def instance_id(self) -> str:
        """This gateway instance, for the CloudEvents ``source`` (the host name by default)."""
        return self.instance or socket.gethostname()

    @property
    def source(self) -> str:
        return f"urn:contactgw:{self.instance_id}"


class RecordingSettings(Model):
    """``retention_days: null`` keeps recordings forever."""

    enabled: bool = True
    directory: Path = Path("recordings")
    stereo: bool = True
    retention_days: Annotated[int, Field(ge=1)] | None = 90
    # the stored stereo file: wav plays in every browser; flac is lossless and ~half the
    # size (docs/recordings.md has the figures); made with sox after the call
    format: Literal["wav", "flac"] = "wav"
    finisher_processes: Annotated[int, Field(ge=1, le=8)] = 1  # stereo mix, checksums
    # PCI pause from the agent's phone (docs/in-call.md): DTMF codes, "" disables one
    pci_pause_code: Annotated[str, Field(pattern=r"^[0-9*#]{0,8}$")] = "*1"
    pci_resume_code: Annotated[str, Field(pattern=r"^[0-9*#]{0,8}$")] = "*2"


class EdgeOptions(Model):
    """Tuning of the Kamailio edge; null keeps gateway.edge.EdgeSettings' default."""

    kamailio_binary: str | None = None
    children: Annotated[int, Field(ge=1, le=64)] | None = None
    shm_mb: Annotated[int, Field(ge=64)] | None = None
    log_level: Literal["error", "warning", "notice", "info", "debug"] | None = None
    pike_sampling: Annotated[int, Field(ge=1)] | None = None
    pike_density: Annotated[int, Field(ge=1)] | None = None
    scanner_user_agents: tuple[str, ...] | None = None
    scanner_action: Literal["drop", "reject"] | None = None


class AcdSettings(Model):
    """Engine-wide ACD knobs (acd.EngineSettings)."""

    no_answer_pause_after: Annotated[int, Field(ge=1)] = 3
    max_overflow_hops: Annotated[int, Field(ge=1)] = 8
    kpi_window: Annotated[float, Field(gt=0)] = 3600.0


class QaSettings(Model):
    """QA review (docs/qa.md). ``agent_recordings``: which recordings an agent user may
    fetch: ``own`` the calls it answered, ``evaluated`` those of them with a submitted
    evaluation, ``none``. Its evaluations are its own submitted ones whatever this says."""

    agent_recordings: Literal["own", "evaluated", "none"] = "own"


class ControlSettings(Model):
    """The control plane's standby lock (PostgreSQL only; gateway/control/standby.py).
    ``standby_key``: control planes with the same key on one database exclude each other
    (one active, the others standbys); ``lock_grace``: how long an active whose lock
    connection broke keeps serving while it retakes the lock (0: it stops at once)."""

    standby_key: Annotated[str, Field(min_length=1, max_length=200)] = "contactgw"
    lock_grace: Annotated[float, Field(ge=0, le=3600)] = 60.0


class Settings(Model):
    """The whole configuration; routing keys sit at the top level of the file."""

    sip: SipSettings = SipSettings()
    trunks: tuple[TrunkSettings, ...] = ()
    workers: WorkerSettings = WorkerSettings()
    api: ApiSettings = ApiSettings()
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    recordings: RecordingSettings = RecordingSettings()
    acd: AcdSettings = AcdSettings()
    edge: EdgeOptions = EdgeOptions()
    qa: QaSettings = QaSettings()
    control: ControlSettings = ControlSettings()
    data_dir: Path = Path("var")
    run_dir: Path | None = None
    prompt_dir: Path | None = None  # null: the shipped config/prompts
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # the file's top-level region, timezone, ..., dids, queues, agents (see routing.py)
    routing: RoutingSettings = RoutingSettings()

    @model_validator(mode="before")
    @classmethod
    def _gather_routing(cls, data: Any) -> Any:
        """Validate the top-level routing keys as one :class:`RoutingSettings`."""
        if not isinstance(data, dict) or not ROUTING_KEYS & data.keys():
            return data
        if "routing" in data:
            raise ValueError("give either 'routing' or its keys at the top level, not both")
        rest = {key: value for key, value in data.items() if key not in ROUTING_KEYS}
        return {**rest, "routing": {key: data[key] for key in ROUTING_KEYS if key in data}}

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Cross-section problems, as ``(key path, problem)``."""
        problems = self.routing.reference_problems()
        names = [trunk.name for trunk in self.trunks]
        for position, name in enumerate(names):
            if name in names[:position]:
                problems.append((("trunks", position, "name"), f"duplicate trunk name {name!r}"))
        worker_ports = range(
            self.workers.first_sip_port, self.workers.first_sip_port + self.workers.count
        )
        if self.sip.listen_port in worker_ports:
            message = (
                f"worker SIP ports {worker_ports.start}-{worker_ports.stop - 1} "
                f"overlap the edge port {self.sip.listen_port}"
            )
            problems.append((("workers", "first_sip_port"), message))
        rtp_needed = self.workers.count * self.workers.rtp_ports_per_worker
        rtp_have = self.sip.rtp_port_max - self.sip.rtp_port_min + 1
        if rtp_needed > rtp_have:
            message = (
                f"{self.workers.count} workers need {rtp_needed} RTP ports "
                f"but the range holds {rtp_have}"
            )
            problems.append((("sip", "rtp_port_max"), message))
        return problems

    def prompt_references(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every prompt the file names, with its key path (checked against prompt_dir)."""
        refs: list[tuple[tuple[str | int, ...], str]] = []
        r = self.routing
        for key, action in (("closed_action", r.closed_action), ("default_route", r.default_route)):
            if action is not None and action.announcement:
                refs.append(((key, "announcement"), action.announcement))
        for name, q in r.queues.items():
            if q.greeting:
                refs.append((("queues", name, "greeting"), q.greeting))
            if q.music and q.music != "default":
                refs.append((("queues", name, "music"), q.music))
            for key, action in (("overflow", q.overflow), ("closed_action", q.closed_action)):
                if action is not None and action.announcement:
                    refs.append((("queues", name, key, "announcement"), action.announcement))
        return refs

    @property
    def worker_slots(self) -> int:
        """Concurrent conversations the pool can hold."""
        return self.workers.count * self.workers.callers_per_worker
