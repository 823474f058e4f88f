"""Render the edge's runtime files from `EdgeSettings` (pure: text in, text out).

Kamailio 5.6 has no `#!defexp`, so we render the whole config: the template
(config/kamailio/kamailio.cfg.tmpl) holds `@@NAME@@` markers that are replaced by values
`EdgeSettings` has already validated (IPs, hostnames, integers in range, tokens). Any marker
left over, or one the template lacks, is an error, so template and renderer cannot drift
apart silently.

Three files come out:
- kamailio.cfg       routing logic and module parameters
- dispatcher.list    set WORKER_SET: one line per worker, `duid=<id>;maxload=<n>` (alg 10)
- address.list       permissions group TRUNK_GROUP: the trunk allow-list (IP/CIDR, port)

and `write_rundir` copies the db_text schema of topos' tables (TOPOS_TABLES) from Debian's
kamailio package into `topos/`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from gateway.edge.errors import EdgeConfigError
from gateway.edge.settings import (
    LOG_LEVELS,
    TRUNK_GROUP,
    WORKER_PROFILE,
    WORKER_SET,
    EdgeSettings,
    TrunkSource,
    WorkerDestination,
    scanner_regex,
)

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "config" / "kamailio" / "kamailio.cfg.tmpl"
TOPOS_TABLES = ("topos_d", "topos_t")
_MARKER = re.compile(r"@@([A-Z][A-Z0-9_]*)@@")


@dataclass(frozen=True, slots=True)
class RenderedEdge:
    config: str
    dispatcher_list: str
    address_list: str

    def files(self, settings: EdgeSettings) -> dict[Path, str]:
        return {
            settings.config_path: self.config,
            settings.dispatcher_path: self.dispatcher_list,
            settings.address_path: self.address_list,
        }


def digest_ha1(user: str, realm: str, password: str) -> str:
    """HA1 = md5(user:realm:password), what the edge stores instead of the password."""
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()


def render_dispatcher_list(workers: tuple[WorkerDestination, ...]) -> str:
    lines = ["# setid uri flags priority attrs -- rendered by contactgw"]
    for worker in workers:
        lines.append(f"{WORKER_SET} {worker.uri} 0 0 {worker.attrs}")
    return "\n".join(lines) + "\n"


def render_address_list(sources: tuple[TrunkSource, ...]) -> str:
    lines = ["# group address netmask port tag -- rendered by contactgw"]
    for source in sources:
        lines.append(f"{TRUNK_GROUP} {source.address} {source.prefix} {source.port} {source.name}")
    return "\n".join(lines) + "\n"


def _scanner_block(settings: EdgeSettings) -> str:
    regex = scanner_regex(settings.scanner_user_agents)
    if not regex:
        return "\t# scanner User-Agent ban disabled (no patterns)"
    if settings.scanner_action == "reject":
        action = '\t\tsl_send_reply("403", "Forbidden");\n\t\texit;'
    else:
        action = "\t\texit;"
    return (
        f'\tif ($ua != $null && $(ua{{s.tolower}}) =~ "{regex}") {{\n'
        '\t\txlog("L_NOTICE", "scanner $si:$sp ($ua) rejected\\n");\n'
        f"{action}\n"
        "\t}"
    )


def template_values(settings: EdgeSettings) -> dict[str, str]:
    advertise = ""
    if settings.advertised_address:
        advertise = f" advertise {settings.advertised_address}:{settings.listen_port}"
    listen_host = settings.listen_address
    if ":" in listen_host:
        listen_host = f"[{listen_host}]"
    return {
        "WORKER_SET": str(WORKER_SET),
        "TRUNK_GROUP": str(TRUNK_GROUP),
        "WORKER_PROFILE": WORKER_PROFILE,
        "DEBUG": str(LOG_LEVELS[settings.log_level]),
        "CHILDREN": str(settings.children),
        "LISTEN": f"{listen_host}:{settings.listen_port}",
        "ADVERTISE": advertise,
        "RPC_SOCKET": str(settings.rpc_socket),
        "WORKER_TIMEOUT_MS": str(settings.worker_timeout_ms),
        "INVITE_TIMEOUT_MS": str(settings.invite_timeout_ms),
        "PEER_TIMEOUT_MS": str(settings.peer_timeout_ms),
        "REGISTER_MAX_EXPIRES": str(settings.register_max_expires_s),
        "ADDRESS_FILE": str(settings.address_path),
        "DISPATCHER_FILE": str(settings.dispatcher_path),
        "PIKE_SAMPLING": str(settings.pike_sampling_s),
        "PIKE_DENSITY": str(settings.pike_density),
        "PIKE_REMOVE_LATENCY": str(settings.pike_remove_latency_s),
        "SIP_DOMAIN": settings.sip_domain.lower(),
        "REALM": settings.auth_realm,
        "PING_INTERVAL": str(settings.ping_interval_s),
        "CALL_EXPIRE": str(settings.call_expire_s),
        # an unanswered INVITE keeps its slot at most until it would time out anyway
        "CALL_INITEXPIRE": str(max(60, settings.invite_timeout_ms // 1000 + 30)),
        "SCANNER_BLOCK": _scanner_block(settings),
        "MAX_MESSAGE_BYTES": str(settings.max_message_bytes),
        "TOPOS_DB": str(settings.topos_dir),
    }


def render_config(settings: EdgeSettings, template: str) -> str:
    values = template_values(settings)
    used = set(_MARKER.findall(template))
    missing = sorted(used - values.keys())
    if missing:
        raise EdgeConfigError(f"template has unknown markers: {', '.join(missing)}")
    unused = sorted(values.keys() - used)
    if unused:
        raise EdgeConfigError(f"template lacks markers: {', '.join(unused)}")
    return _MARKER.sub(lambda m: values[m.group(1)], template)


def render(settings: EdgeSettings, template: str) -> RenderedEdge:
    return RenderedEdge(
        config=render_config(settings, template),
        dispatcher_list=render_dispatcher_list(settings.workers),
        address_list=render_address_list(settings.trunk_sources),
    )


def load_template(path: Path = DEFAULT_TEMPLATE) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EdgeConfigError(f"cannot read Kamailio template {path}: {exc}") from exc


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_rundir(settings: EdgeSettings, rendered: RenderedEdge) -> None:
    """Write the rendered files (the one bit of I/O here; atomic per file)."""
    settings.rundir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path, text in rendered.files(settings).items():
        write_atomic(path, text)
    # topos' db_text tables start empty at every start (its state dies with Kamailio,
    # like the dialogs it belongs to): the schema line only
    settings.topos_dir.mkdir(exist_ok=True, mode=0o700)
    for table in TOPOS_TABLES:
        try:
            schema = (settings.topos_schema_dir / table).read_text(encoding="utf-8")
        except OSError as exc:
            raise EdgeConfigError(f"cannot read the topos table schema: {exc}") from exc
        header = schema.splitlines()[0] if schema.strip() else ""
        if not header:
            raise EdgeConfigError(f"empty topos table schema {settings.topos_schema_dir / table}")
        # topos stores unset fields (x_context, ...) as NULL, which db_text refuses unless
        # the column says so
        header = header.replace("(string)", "(string,null)")
        (settings.topos_dir / table).write_text(header + "\n", encoding="utf-8")
