"""Recording retention: delete call folders older than `recordings.retention_days`.

The policy is recordings.retention (pure); this is the sweep that applies it. A call's
recordings live in `<recordings>/YYYY/MM/DD/<call-id>/` (recordings.naming), so the
folder's date is the call's (UTC) date and nothing needs to be read to judge it; a folder
counts as made at the end of its day, so nothing is ever deleted early. A
`legal_hold` file in a call folder keeps it whatever the retention says. The sweep runs
once at start and then every `interval` seconds, in a thread (it is file-system work).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recordings.retention import RecordingRef, RetentionRules, due_for_deletion

log = logging.getLogger(__name__)

LEGAL_HOLD = "legal_hold"
_DAY = re.compile(r"^\d{4}/\d{2}/\d{2}$")


def call_folders(root: Path) -> list[tuple[Path, datetime]]:
    """(folder, end of its UTC day) for every `YYYY/MM/DD/<call-id>` under root."""
    found = []
    for day in sorted(root.glob("[0-9]" * 4 + "/[0-9][0-9]/[0-9][0-9]")):
        rel = day.relative_to(root).as_posix()
        if not _DAY.match(rel):
            continue
        try:
            date = datetime.strptime(rel, "%Y/%m/%d").replace(tzinfo=UTC) + timedelta(days=1)
        except ValueError:
            continue
        found += [(call, date) for call in sorted(day.iterdir()) if call.is_dir()]
    return found


def sweep(root: Path, days: int | None, now: datetime) -> list[Path]:
    """Delete the call folders due at `now`; returns what was deleted."""
    if days is None or not root.is_dir():
        return []
    found = call_folders(root)
    folders = {str(path): path for path, _ in found}
    refs = [
        RecordingRef(
            recording_id=str(path),
            created_at=made,
            queue=None,
            flags=frozenset({LEGAL_HOLD}) if (path / LEGAL_HOLD).exists() else frozenset(),
        )
        for path, made in found
    ]
    deleted = []
    for key in due_for_deletion(refs, RetentionRules(default_days=days), now):
        shutil.rmtree(folders[key], ignore_errors=True)
        deleted.append(folders[key])
    for day in sorted(root.glob("*/*/*"), reverse=True):  # drop emptied day/month/year
        for empty in (day, day.parent, day.parent.parent):
            if empty.is_dir() and empty != root and not any(empty.iterdir()):
                empty.rmdir()
    return deleted


async def run_retention(root: Path, days: int | None, interval: float = 3600.0) -> None:
    while True:
        try:
            deleted = await asyncio.to_thread(sweep, root, days, datetime.now(UTC))
            if deleted:
                log.info("retention: deleted %d call recording folders", len(deleted))
        except Exception:
            log.exception("retention sweep failed")
        await asyncio.sleep(interval)
