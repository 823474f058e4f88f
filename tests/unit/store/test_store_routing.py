"""Routing configuration: applied, versioned, audited, idempotent, loaded back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.settings import RoutingSettings, load_settings
from gateway.store import Database, RoutingRepository
from gateway.store.routing_repo import MASK

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "contactgw.yaml"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def example() -> RoutingSettings:
    return load_settings(EXAMPLE, environ={}).routing


def changed(routing: RoutingSettings, **updates: object) -> RoutingSettings:
    data = routing.model_dump(mode="json")
    for user, agent in routing.agents.items():
        data["agents"][user]["password"] = agent.password.get_secret_value()
    for path, value in updates.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return RoutingSettings.model_validate(data)


async def test_nothing_applied_yet(db: Database) -> None:
    assert await RoutingRepository(db).load_routing_config() is None


async def test_apply_then_load_round_trips_everything(db: Database) -> None:
    repo = RoutingRepository(db)
    version = await repo.apply_routing_config(example(), "file:config/contactgw.yaml", "ops", at=T0)
    assert (version.version, version.source, version.author, version.applied_at) == (
        1,
        "file:config/contactgw.yaml",
        "ops",
        T0,
    )
    assert version.summary == "initial: 2 queues, 3 agents, 3 DIDs"
    loaded = await repo.load_routing_config()
    assert loaded is not None
    assert loaded[0] == version
    assert loaded[1] == example()
    assert loaded[1].agents["alice"].password.get_secret_value() == "alice-secret"
    assert loaded[1].agents["alice"].queues == ("sales", "support")


async def test_same_content_makes_no_new_version(db: Database) -> None:
    repo = RoutingRepository(db)
    first = await repo.apply_routing_config(example(), "file", "a", at=T0)
    again = await repo.apply_routing_config(example(), "api", "b")
    assert again == first
    assert len(await repo.versions()) == 1


async def test_a_change_makes_a_new_version_with_its_diff(db: Database) -> None:
    repo = RoutingRepository(db)
    await repo.apply_routing_config(example(), "file", "a", at=T0)
    update = changed(example(), queues__sales__ring_timeout=25.0)
    version = await repo.apply_routing_config(update, "api", "supervisor")
    assert version.version == 2
    assert version.changes == (
        {"op": "change", "path": "queues.sales.ring_timeout", "old": 15.0, "new": 25.0},
    )
    assert version.summary == "1 changes: change queues.sales.ring_timeout"
    loaded = await repo.load_routing_config()
    assert loaded is not None and loaded[1].queues["sales"].ring_timeout == 25.0
    assert [v.version for v in await repo.versions()] == [2, 1]


async def test_password_change_is_a_version_but_its_value_is_never_stored_in_the_audit(
    db: Database,
) -> None:
    repo = RoutingRepository(db)
    await repo.apply_routing_config(example(), "file", "a", at=T0)
    version = await repo.apply_routing_config(
        changed(example(), agents__bob__password="n3w"), "file", "a"
    )
    assert version.changes == (
        {"op": "change", "path": "agents.bob.password", "old": MASK, "new": MASK},
    )
    loaded = await repo.load_routing_config()
    assert loaded is not None and loaded[1].agents["bob"].password.get_secret_value() == "n3w"


async def test_removing_a_queue_and_its_members(db: Database) -> None:
    repo = RoutingRepository(db)
    await repo.apply_routing_config(example(), "file", "a", at=T0)
    smaller = RoutingSettings.model_validate(
        {"queues": {"sales": {}}, "dids": [{"number": "+15550100100", "queue": "sales"}]}
    )
    version = await repo.apply_routing_config(smaller, "file", "a")
    assert {
        "op": "remove",
        "path": "queues.support.strategy",
        "old": "round-robin",
    } in version.changes
    loaded = await repo.load_routing_config()
    assert loaded is not None and loaded[1] == smaller
