"""`contactgw config apply|export|history|rollback` against a SQLite file in a temp dir."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import main

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "contactgw.yaml"


def write(tmp: Path, name: str, edit: Any = None) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["data_dir"] = str(tmp / "var")
    data = copy.deepcopy(data)
    if edit is not None:
        edit(data)
    path = tmp / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_apply_shows_the_diff_then_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path, "a.yaml")
    assert run(capsys, "config", "apply", str(first))[1].endswith("applied as version 1\n")
    assert run(capsys, "config", "apply", str(first)) == (0, "no change (version 1)\n", "")

    def edit(d: dict[str, Any]) -> None:
        d["queues"]["sales"]["strategy"] = "linear"
        d["agents"]["bob"]["password"] = "rotated"

    second = write(tmp_path, "b.yaml", edit)
    rc, out, _ = run(capsys, "config", "apply", str(second), "--dry-run")
    assert rc == 0
    assert "~ agents.bob.password: '********' -> '********'" in out
    assert "~ queues.sales.strategy: 'longest-idle' -> 'linear'" in out
    assert "rotated" not in out and out.endswith("dry run: 2 changes not applied\n")
    rc, out, _ = run(capsys, "config", "apply", str(second), "--author", "ops")
    assert (rc, out.splitlines()[-1]) == (0, "applied as version 2")

    rc, out, _ = run(capsys, "config", "history", "--config", str(first))
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["version", "applied"]
    assert lines[1].split()[0] == "2" and "ops" in lines[1] and "2 changes" in lines[1]
    assert lines[2].split()[0] == "1" and "initial: 2 queues" in lines[2]


def test_a_bad_file_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", lambda d: d["queues"]["sales"].update(strategy="fastest"))
    rc, out, err = run(capsys, "config", "apply", str(bad))
    assert rc == 1 and out == ""
    assert "bad.yaml:" in err and "strategy" in err


def test_export_masks_and_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, "a.yaml")
    run(capsys, "config", "apply", str(config))
    rc, out, _ = run(capsys, "config", "export", "--config", str(config))
    assert rc == 0 and out.startswith("# routing version 1\n")
    exported = yaml.safe_load(out)
    assert exported["agents"]["alice"]["password"] == "********"
    assert "sip" not in exported and "strategy" not in exported["queues"]["sales"]  # defaults
    # re-applied as it is: masked passwords keep the stored ones, so nothing changed
    (tmp_path / "export.yaml").write_text(out)
    rc, out, _ = run(capsys, "config", "apply", str(tmp_path / "export.yaml"), "--config",
                     str(config))  # fmt: skip
    assert (rc, out) == (0, "no change (version 1)\n")
    rc, out, _ = run(capsys, "config", "export", "--with-secrets", "--config", str(config))
    assert yaml.safe_load(out)["agents"]["alice"]["password"] == "alice-secret"


def test_rollback_makes_a_new_version_with_the_old_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path, "a.yaml")
    run(capsys, "config", "apply", str(first))
    run(capsys, "config", "apply", str(write(tmp_path, "b.yaml", lambda d: d.update(region="GB"))))
    rc, out, _ = run(capsys, "config", "rollback", "1", "--config", str(first))
    assert rc == 0 and "~ region: 'GB' -> 'US'" in out and out.endswith("version 3\n")
    rc, out, _ = run(capsys, "config", "export", "--version", "3", "--config", str(first))
    assert yaml.safe_load(out)["region"] == "US"
    rc, out, _ = run(capsys, "config", "history", "--config", str(first))
    assert "rollback:1" in out.splitlines()[1]


def test_an_unknown_version_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "a.yaml")
    run(capsys, "config", "apply", str(config))
    rc, out, err = run(capsys, "config", "rollback", "7", "--config", str(config))
    assert (rc, out) == (2, "")
    assert err == "contactgw config rollback: no routing version 7 (versions 1..1)\n"
    assert run(capsys, "config", "export", "--version", "9", "--config", str(config))[0] == 2


def test_every_cli_configuration_change_is_in_the_audit_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from gateway.store.engine import Database
    from gateway.store.users import AuditStore

    first = write(tmp_path, "a.yaml")
    run(capsys, "config", "apply", str(first), "--author", "ops")
    run(capsys, "config", "apply", str(first))  # no change: nothing to audit
    run(capsys, "config", "apply", str(write(tmp_path, "b.yaml", lambda d: d.update(region="GB"))))
    run(capsys, "config", "rollback", "1", "--config", str(first))

    async def entries() -> list[tuple[str, str | None, object]]:
        db = Database.open(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'contactgw.db'}")
        try:
            page = await AuditStore(db).page(limit=10)
        finally:
            await db.close()
        return [(e.action, e.target, e.details.get("author")) for e in page]

    assert asyncio.run(entries()) == [
        ("routing.apply", "version 1", "ops"),
        ("routing.apply", "version 2", None),
        ("routing.rollback", "version 3", None),
    ]
