"""Routing data in the configuration: DIDs, schedules, queues (ACD options), agents.

The shape follows what the two pure packages take, so the mapping stays trivial:

- ``region``, ``timezone``, ``strict_numbers``, ``holidays``, ``closed_action``,
  ``schedules``, ``dids``, ``default_route`` and each queue's ``schedule`` /
  ``closed_action`` are passed as they are to ``routing.build_routing_table``
  (docs/routing.md), which also judges them (number normalisation, hours syntax,
  closed-action cycles);
- the other queue keys and the agents map onto ``acd.QueueConfig`` / ``AgentConfig``
  (strategy values are the ``acd.Strategy`` values). docs/configuration.md has the table.

These models check types, ranges and names; :meth:`RoutingSettings.reference_problems`
checks the references routing/ does not know about (agents, overflow).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from gateway.settings.callback import CallbackSettings

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
SipUser = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Seconds = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
SkillLevel = Annotated[int, Field(ge=1, le=100)]
WrapupCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Strategy = Literal[
    "longest-idle", "round-robin", "fewest-calls", "least-talk-time", "linear", "random", "ring-all"
]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

KeyPath = tuple[str | int, ...]


class Model(BaseModel):
    """Base of every settings model: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CompactModel(Model):
    """Serialises without empty or null keys (routing/ treats a present key as given)."""

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value not in ("", [], (), None)}


class Action(Model):
    """Exactly one of ``{queue: q}``, ``{announcement: prompt}``, ``{hangup: true}``,
    ``{voicemail: box}`` (``announcement: null`` plays the default prompt)."""

    queue: Name | None = None
    announcement: str | None = None
    hangup: Literal[True] | None = None
    voicemail: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        if len(self.model_fields_set) != 1:
            raise ValueError("give exactly one of queue, announcement, hangup, voicemail")
        return self

    @model_serializer
    def _only_the_given_key(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.model_fields_set}

    @property
    def kind(self) -> str:
        return next(iter(self.model_fields_set))


class Holiday(CompactModel):
    """A closed day: ``2026-12-25``, ``"12-25"`` (every year) or the long form with a
    ``name`` and partial ``closed`` ranges."""

    date: dt.date | Annotated[str, Field(pattern=r"^\d\d-\d\d$")]
    name: str = ""
    closed: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {"date": value}


class Schedule(CompactModel):
    """Opening hours: ``hours`` maps ``mon``, ``mon-fri`` to ``["08:00-18:00", ...]``."""

    timezone: str | None = None
    hours: dict[str, tuple[str, ...]]
    holidays: tuple[Holiday, ...] = ()


class DidRoute(Model):
    """A dialled number and its queue; ``number`` is normalised to E.164 by routing/."""

    number: str
    queue: Name
    priority: int = 0
    skills: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @field_validator("number", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # pydantic turns ValueError (not TypeError) into a validation error
            raise ValueError(f"write the number in quotes: YAML read {value} as an integer")  # noqa: TRY004
        return value


class Announcements(Model):
    """Periodic announcements to a waiting caller; ``every: null`` turns them off."""

    every: Seconds | None = 30.0
    position: bool = True
    ewt: bool = True


class RelaxStep(Model):
    """After ``after`` seconds of waiting, lower every required level by ``lower_by``
    (never below 1) and stop requiring the skills in ``drop``; steps accumulate."""

    after: Seconds
    lower_by: Annotated[int, Field(ge=0)] = 0
    drop: tuple[str, ...] = ()


class Threshold(Model):
    """Alert levels of one KPI; for ``service_level`` lower is worse, so ``critical``
    is below ``warning``; for the others it is above."""

    warning: float | None = None
    critical: float | None = None


class QueueAlerts(Model):
    """KPI thresholds for alerts (``queue.threshold_crossed`` events, the alert-level
    gauge, the wallboard); the names are the events catalogue's ``QueueKpi`` values."""

    waiting: Threshold | None = None  # calls waiting
    longest_wait: Threshold | None = None  # seconds the oldest caller has waited
    service_level: Threshold | None = None  # 0..1, answered within sl_threshold, KPI window
    service_level_30m: Threshold | None = None  # 0..1, the same over the last 30 minutes
    asa: Threshold | None = None  # seconds, average speed of answer over the KPI window
    aht: Threshold | None = None  # seconds, average talk + wrap-up over the KPI window
    abandon_rate: Threshold | None = None  # 0..1, over the KPI window

    @model_validator(mode="after")
    def _ordered(self) -> QueueAlerts:
        for name in type(self).model_fields:
            t: Threshold | None = getattr(self, name)
            if t is None or t.warning is None or t.critical is None:
                continue
            lower_is_worse = name.startswith("service_level")
            if (t.critical > t.warning) if lower_is_worse else (t.critical < t.warning):
                side = "below" if lower_is_worse else "above"
                raise ValueError(f"{name}: critical must be {side} warning")
        return self


class QueueSettings(Model):
    """One queue: routing keys (schedule, closed_action) and ACD options (seconds)."""

    strategy: Strategy = "longest-idle"
    ring_timeout: Seconds = 15.0
    wrapup: NonNegative = 10.0
    max_wait: Seconds | None = None
    max_len: Annotated[int, Field(ge=0)] | None = None
    sl_threshold: NonNegative = 20.0
    short_abandon: NonNegative = 5.0
    weight: Annotated[int, Field(ge=0)] = 0
    join: Literal["always", "if-logged-in", "if-unpaused"] = "always"
    leave: Literal["never", "if-no-logged-in", "if-all-paused"] = "never"
    overflow: Action | None = None
    skills: dict[str, SkillLevel] = Field(default_factory=dict)
    skill_relaxation: tuple[RelaxStep, ...] = ()
    ring_all_cap: Annotated[int, Field(ge=1)] = 10
    music: str | None = "default"
    greeting: str | None = None
    announcements: Announcements = Announcements()
    alerts: QueueAlerts = QueueAlerts()
    schedule: Name | Schedule | None = None
    closed_action: Action | None = None
    # what the agent picks after a call (the agent desktop, docs/desktop.md); empty: none
    wrapup_codes: tuple[WrapupCode, ...] = ()
    # queued callback offered to waiting callers (docs/callback.md); null: not offered
    callback: CallbackSettings | None = None

    @field_validator("wrapup_codes")
    @classmethod
    def _distinct_codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"wrap-up code listed twice: {', '.join(twice)}")
        return codes

    @field_validator("skill_relaxation")
    @classmethod
    def _ascending(cls, steps: tuple[RelaxStep, ...]) -> tuple[RelaxStep, ...]:
        afters = [step.after for step in steps]
        if afters != sorted(set(afters)):
            raise ValueError("steps must have strictly increasing 'after' times")
        return steps


class AgentSettings(Model):
    """One agent, keyed by SIP user; ``uri`` dials a fixed SIP URI instead of the
    softphone registered at the edge; ``rank`` orders the ``linear`` strategy."""

    password: SecretStr
    display_name: str | None = None
    queues: tuple[Name, ...] = ()
    skills: dict[str, SkillLevel] = Field(default_factory=dict)
    rank: int = 0
    uri: Annotated[str, Field(pattern=r"^sips?:")] | None = None

    @field_validator("queues")
    @classmethod
    def _no_duplicates(cls, queues: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(queues)) != len(queues):
            raise ValueError("a queue is listed twice")
        return queues


class RoutingSettings(Model):
    """Everything routing/ and acd/ need; what the database stores as one version."""

    region: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    timezone: str = "UTC"
    strict_numbers: bool = False
    holidays: tuple[Holiday, ...] = ()
    closed_action: Action | None = None
    schedules: dict[Name, Schedule] = Field(default_factory=dict)
    dids: tuple[DidRoute, ...] = ()
    default_route: Action | None = None
    queues: dict[Name, QueueSettings] = Field(default_factory=dict)
    agents: dict[SipUser, AgentSettings] = Field(default_factory=dict)

    def routing_data(self) -> dict[str, Any]:
        """Plain data for ``routing.build_routing_table`` (no agents, no null actions)."""
        data = self.model_dump(mode="json", exclude={"agents"})
        for queue in data["queues"].values():
            if queue.get("closed_action") is None:
                queue.pop("closed_action", None)
        return {key: value for key, value in data.items() if value is not None}

    def reference_problems(self) -> list[tuple[KeyPath, str]]:
        """References routing/ does not check: agents' queues and overflow targets."""
        problems: list[tuple[KeyPath, str]] = []
        known = set(self.queues)
        listing = ", ".join(sorted(known)) or "none"
        for name, queue in self.queues.items():
            target = queue.overflow.queue if queue.overflow is not None else None
            if target is not None and target not in known:
                problems.append(
                    (
                        ("queues", name, "overflow", "queue"),
                        f"unknown queue {target!r} (known: {listing})",
                    )
                )
            elif target == name:
                problems.append(
                    (("queues", name, "overflow", "queue"), "a queue cannot overflow into itself")
                )
        for user, agent in self.agents.items():
            for position, qname in enumerate(agent.queues):
                if qname not in known:
                    problems.append(
                        (
                            ("agents", user, "queues", position),
                            f"unknown queue {qname!r} (known: {listing})",
                        )
                    )
        return problems
