"""The configuration: one YAML file, validated at start (see docs/configuration.md).

settings = load_settings("config/contactgw.yaml")   # raises SettingsError
settings.sip.listen_port, settings.routing.queues["sales"].ring_timeout, ...
"""

from gateway.settings.errors import ConfigIssue, SettingsError
from gateway.settings.loader import DEFAULT_CONFIG, load_settings, parse_settings
from gateway.settings.models import (
    AcdSettings,
    ApiSettings,
    DatabaseSettings,
    EdgeOptions,
    MqttSettings,
    RecordingSettings,
    Settings,
    SipSettings,
    SourceNetwork,
    TrunkSettings,
    WorkerSettings,
)
from gateway.settings.routing import (
    Action,
    AgentSettings,
    Announcements,
    DidRoute,
    Holiday,
    QueueSettings,
    RelaxStep,
    RoutingSettings,
    Schedule,
)

__all__ = [
    "DEFAULT_CONFIG",
    "AcdSettings",
    "Action",
    "AgentSettings",
    "Announcements",
    "ApiSettings",
    "ConfigIssue",
    "DatabaseSettings",
    "DidRoute",
    "EdgeOptions",
    "Holiday",
    "MqttSettings",
    "QueueSettings",
    "RecordingSettings",
    "RelaxStep",
    "RoutingSettings",
    "Schedule",
    "Settings",
    "SettingsError",
    "SipSettings",
    "SourceNetwork",
    "TrunkSettings",
    "WorkerSettings",
    "load_settings",
    "parse_settings",
]
