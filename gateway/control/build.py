"""Settings -> the configuration objects of each component (pure mapping functions).

Kept apart from the daemon so the mapping can be tested without starting anything,
and so a routing change (API or YAML reload) re-uses the same translation.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from acd import model as acd
from gateway.control.alerts import KPIS, Thresholds
from gateway.control.callback_plan import CallbackPlan
from gateway.control.flow_settings import FlowSettings, QueueMedia
from gateway.edge.settings import EdgeSettings, TrunkSource, WorkerDestination
from gateway.events.catalogue import QueueKpi
from gateway.ipc import protocol as p
from gateway.settings import Action, AgentSettings, QueueSettings, RoutingSettings, Settings
from gateway.supervisor.config import PoolConfig
from gateway.supervisor.fleet import FILE_NAME as FLEET_FILE
from gateway.supervisor.heartbeat import FILE_NAME as HEARTBEAT_FILE

log = logging.getLogger(__name__)

DEFAULT_MUSIC, DEFAULT_GREETING = "music", "greeting"


def run_dir(settings: Settings) -> Path:
    assert settings.run_dir is not None, "settings come from load_settings (fills run_dir)"
    return settings.run_dir


def overflow_target(action: Action | None) -> acd.OverflowTarget | None:
    if action is None:
        return None
    match action.kind:
        case "queue":
            return acd.QueueTarget(str(action.queue))
        case "announcement":
            return acd.TerminalTarget(acd.TerminalAction.ANNOUNCE_HANGUP, action.announcement or "")
        case "voicemail":
            return acd.TerminalTarget(acd.TerminalAction.VOICEMAIL, action.voicemail or "")
        case _:
            return acd.TerminalTarget(acd.TerminalAction.HANGUP)


def queue_config(name: str, q: QueueSettings) -> acd.QueueConfig:
    return acd.QueueConfig(
        queue_id=name,
        strategy=acd.Strategy(q.strategy),
        offer_timeout=q.ring_timeout,
        wrap_up=q.wrapup,
        max_wait=q.max_wait,
        max_length=q.max_len,
        service_level_seconds=q.sl_threshold,
        short_abandon_seconds=q.short_abandon,
        weight=q.weight,
        join=acd.JoinPolicy(q.join),
        leave=acd.LeavePolicy(q.leave),
        overflow=overflow_target(q.overflow),
        required_skills=dict(q.skills),
        relax_steps=tuple(
            acd.RelaxStep(after_seconds=s.after, lower_by=s.lower_by, drop=frozenset(s.drop))
            for s in q.skill_relaxation
        ),
        ring_all_cap=q.ring_all_cap,
        announce_every=q.announcements.every
        if q.announcements.position or q.announcements.ewt
        else None,
    )


def queue_configs(settings: Settings) -> list[acd.QueueConfig]:
    return [queue_config(name, q) for name, q in settings.routing.queues.items()]


def agent_config(user: str, a: AgentSettings) -> acd.AgentConfig:
    return acd.AgentConfig(agent_id=user, queues=a.queues, skills=dict(a.skills), rank=a.rank)


def agent_configs(settings: Settings) -> list[acd.AgentConfig]:
    return [agent_config(user, a) for user, a in settings.routing.agents.items()]


def with_routing(settings: Settings, routing: RoutingSettings) -> Settings:
    """The same settings with another routing version (for a live change)."""
    return settings.model_copy(update={"routing": routing})


def alert_rules(settings: Settings) -> dict[str, dict[QueueKpi, Thresholds]]:
    """Queue -> KPI -> thresholds, for the KPIs that have any."""
    rules: dict[str, dict[QueueKpi, Thresholds]] = {}
    for name, q in settings.routing.queues.items():
        for kpi in KPIS:
            t = getattr(q.alerts, kpi)
            if t is not None and (t.warning is not None or t.critical is not None):
                rules.setdefault(name, {})[kpi] = Thresholds(t.warning, t.critical)
    return rules


def engine_settings(settings: Settings) -> acd.EngineSettings:
    return acd.EngineSettings(
        no_answer_pause_after=settings.acd.no_answer_pause_after,
        max_overflow_hops=settings.acd.max_overflow_hops,
        kpi_retention_seconds=settings.acd.kpi_window,
    )


def sip_domain(settings: Settings) -> str:
    assert settings.sip.domain is not None, "settings come from load_settings (fills domain)"
    return settings.sip.domain


def edge_uri(settings: Settings) -> str:
    return f"sip:{settings.sip.listen_address}:{settings.sip.listen_port}"


def flow_settings(settings: Settings) -> FlowSettings:
    media = {
        name: QueueMedia(
            greeting=DEFAULT_GREETING if q.greeting is None else (q.greeting or None),
            music=DEFAULT_MUSIC if q.music in (None, "default") else str(q.music),
            record=settings.recordings.enabled,
            announce_position=q.announcements.position,
            announce_ewt=q.announcements.ewt,
        )
        for name, q in settings.routing.queues.items()
    }
    return FlowSettings(
        domain=sip_domain(settings),
        edge_proxy=edge_uri(settings) + ";lr",
        recordings_dir=settings.recordings.directory,
        make_stereo=settings.recordings.stereo,
        agent_uris={u: a.uri for u, a in settings.routing.agents.items() if a.uri},
        did_from_to=frozenset(t.name for t in settings.trunks if t.did_from == "to"),
        queue_media=media,
        callbacks=callback_plans(settings),
        desktop_url=settings.api.base_url(),
        pci_codes=(settings.recordings.pci_pause_code, settings.recordings.pci_resume_code),
    )


def callback_plans(settings: Settings) -> dict[str, CallbackPlan]:
    """Queues with `callback`; dialled through their trunk (default: the first one)."""
    routing, plans = settings.routing, {}
    hosts = {t.name: t.registrar.split(":", 1)[1].split(";")[0] for t in settings.trunks}
    for name, q in routing.queues.items():
        if q.callback is None:
            continue
        host = hosts.get(q.callback.trunk or "") or next(iter(hosts.values()), None)
        if host is None:
            log.warning("queue %s offers callbacks but no trunk is configured: not offered", name)
            continue
        plans[name] = CallbackPlan(q.callback, ZoneInfo(routing.timezone), routing.region, host)
    return plans


def pool_config(settings: Settings, log_dir: Path) -> PoolConfig:
    w = settings.workers
    return PoolConfig(
        workers=w.count,
        sip_port_base=w.first_sip_port,
        rtp_port_base=settings.sip.rtp_port_min,
        rtp_ports_per_worker=w.rtp_ports_per_worker,
        address=settings.sip.worker_address,
        public_address=settings.sip.public_address or "",
        codecs=tuple(settings.sip.codecs),
        orphan_timeout=w.orphan_timeout,
        log_dir=str(log_dir),
        python=sys.executable,
        fleet_file=str(run_dir(settings) / FLEET_FILE),  # a restart adopts the workers
    )


def worker_ids(settings: Settings) -> list[str]:
    return [f"w{i + 1}" for i in range(settings.workers.count)]


def edge_settings(settings: Settings) -> EdgeSettings:
    opts = settings.edge
    extra = {
        key: value
        for key, value in {
            "kamailio_binary": opts.kamailio_binary,
            "children": opts.children,
            "shm_mb": opts.shm_mb,
            "log_level": opts.log_level,
            "pike_sampling_s": opts.pike_sampling,
            "pike_density": opts.pike_density,
            "scanner_user_agents": opts.scanner_user_agents,
            "scanner_action": opts.scanner_action,
        }.items()
        if value is not None
    }
    sources = tuple(
        TrunkSource(network=str(src.network), port=src.port or 0, name=trunk.name)
        for trunk in settings.trunks
        for src in trunk.allowed_sources
    )
    workers = tuple(
        WorkerDestination(
            id=wid,
            host=settings.sip.worker_address,
            port=settings.workers.first_sip_port + i,
            maxload=settings.workers.callers_per_worker,
        )
        for i, wid in enumerate(worker_ids(settings))
    )
    return EdgeSettings(
        rundir=run_dir(settings) / "edge",
        listen_address=settings.sip.listen_address,
        listen_port=settings.sip.listen_port,
        advertised_address=settings.sip.public_address,
        sip_domain=sip_domain(settings),
        trunk_sources=sources,
        workers=workers,
        # the edge outlives us as long as the workers do (docs/edge.md)
        orphan_timeout_s=settings.workers.orphan_timeout,
        heartbeat_path=run_dir(settings) / HEARTBEAT_FILE,
        **extra,  # type: ignore[arg-type]
    )


def trunk_registers(settings: Settings) -> list[tuple[str, p.Register | None]]:
    """One Register per trunk with `register: true`; its Contact is the edge."""
    out: list[tuple[str, p.Register | None]] = []
    host = settings.sip.advertised_address
    for t in settings.trunks:
        if not t.register_:
            out.append((t.name, None))
            continue
        registrar_host = t.registrar.split(":", 1)[1].split(";")[0]
        user = t.username or t.name
        out.append(
            (
                t.name,
                p.Register(
                    account=t.name,
                    registrar=t.registrar,
                    id_uri=f"sip:{user}@{registrar_host.split(':')[0]}",
                    username=user,
                    password=t.password.get_secret_value() if t.password else "",
                    contact=f"<sip:{user}@{host}:{settings.sip.listen_port}>",
                    expires=t.register_expires,
                ),
            )
        )
    return out
