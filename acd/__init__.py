"""The ACD engine: queues, agents, strategies, skills, priorities, timers and KPIs as a
pure, deterministic state machine (no I/O, no clock), plus Erlang C/A staffing formulas
and a discrete-event simulator. See docs/acd.md.

    from acd import Engine, events, commands
    engine = Engine()
    out = engine.handle(events.AddQueue(QueueConfig("sales")), now)
"""

from acd import commands, events
from acd.engine import Engine
from acd.model import AgentConfig, EngineSettings, QueueConfig

__all__ = ["AgentConfig", "Engine", "EngineSettings", "QueueConfig", "commands", "events"]
