"""The read side of the routing versions: current version, a version's settings
(secrets revealed, for applying), its masked snapshot, a preview of the next diff."""

from __future__ import annotations

import pytest

from gateway.store import Database, RoutingRepository
from gateway.store.routing_repo import MASK, SecretUnavailable, VersionNotFound
from tests.unit.store.test_store_routing import changed, example


async def test_current_version_is_none_then_the_newest(db: Database) -> None:
    repo = RoutingRepository(db)
    assert await repo.current_version() is None
    await repo.apply_routing_config(example(), "yaml")
    await repo.apply_routing_config(changed(example(), region="GB"), "cli")
    assert await repo.current_version() == 2
    assert (await repo.version(1)).source == "yaml"


async def test_an_unknown_version_names_the_known_ones(db: Database) -> None:
    repo = RoutingRepository(db)
    with pytest.raises(VersionNotFound, match="no routing version 3 \\(no version applied"):
        await repo.version_settings(3)
    await repo.apply_routing_config(example(), "yaml")
    with pytest.raises(VersionNotFound, match="no routing version 3 \\(versions 1..1\\)"):
        await repo.version(3)


async def test_an_older_version_comes_back_with_current_passwords(db: Database) -> None:
    repo = RoutingRepository(db)
    first = example()
    await repo.apply_routing_config(first, "yaml")
    second = changed(first, region="GB", agents__alice__password="rotated")
    await repo.apply_routing_config(second, "cli")
    assert await repo.version_settings(2) == second
    old = await repo.version_settings(1)
    assert old.region == first.region and old.queues == first.queues
    assert old.agents["alice"].password.get_secret_value() == "rotated"
    assert old.agents["bob"].password == first.agents["bob"].password
    assert (await repo.version_snapshot(1))["agents"]["alice"]["password"] == MASK


async def test_an_agent_gone_since_cannot_be_rebuilt(db: Database) -> None:
    repo = RoutingRepository(db)
    await repo.apply_routing_config(example(), "yaml")
    data = example().model_dump()
    data["agents"].pop("carol")
    for user, agent in example().agents.items():
        if user in data["agents"]:
            data["agents"][user]["password"] = agent.password.get_secret_value()
    await repo.apply_routing_config(type(example()).model_validate(data), "cli")
    with pytest.raises(SecretUnavailable, match="agent 'carol' of version 1"):
        await repo.version_settings(1)


async def test_preview_is_the_diff_apply_would_record(db: Database) -> None:
    repo = RoutingRepository(db)
    assert await repo.preview(example()) is not None  # nothing applied: all new
    await repo.apply_routing_config(example(), "yaml")
    assert await repo.preview(example()) is None
    new = changed(example(), region="GB")
    preview = await repo.preview(new)
    assert preview == [{"op": "change", "path": "region", "old": "US", "new": "GB"}]
    assert list((await repo.apply_routing_config(new, "cli")).changes) == preview


async def test_at_start_an_unchanged_file_keeps_what_was_applied_since(db: Database) -> None:
    repo = RoutingRepository(db)
    file = example()
    version, running = await repo.apply_if_source_changed(file, "yaml")
    assert version.version == 1 and running == file
    live = changed(file, region="GB")
    await repo.apply_routing_config(live, "cli")  # a live change while the gateway ran
    version, running = await repo.apply_if_source_changed(file, "yaml")  # a restart
    assert version.version == 2 and running == live  # the CLI's change is kept
    edited = changed(file, region="FR")  # the file itself was edited: it wins
    version, running = await repo.apply_if_source_changed(edited, "yaml")
    assert version.version == 3 and running == edited and await repo.current_version() == 3
