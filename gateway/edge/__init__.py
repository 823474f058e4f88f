"""The managed Kamailio edge: render its config, run and supervise it, steer it over RPC.

The control plane uses `EdgeManager` (see docs/edge.md); everything else is its parts:
settings (validated input), render (pure), rpc (JSON-RPC client), process (supervisor),
state (RPC results as dataclasses).
"""

from gateway.edge.errors import EdgeConfigError, EdgeError, EdgeRpcError, EdgeUnavailable
from gateway.edge.manager import EdgeManager
from gateway.edge.settings import EdgeSettings, TrunkSource, WorkerDestination
from gateway.edge.state import Contact, EdgeHealth, WorkerStatus

__all__ = [
    "Contact",
    "EdgeConfigError",
    "EdgeError",
    "EdgeHealth",
    "EdgeManager",
    "EdgeRpcError",
    "EdgeSettings",
    "EdgeUnavailable",
    "TrunkSource",
    "WorkerDestination",
    "WorkerStatus",
]
