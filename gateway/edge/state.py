"""Kamailio RPC results turned into small frozen dataclasses (pure parsing, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

WorkerStateName = Literal["active", "inactive", "trying", "draining"]

# dispatcher.set_state codes for the states the control plane may ask for
STATE_CODES: dict[str, str] = {"active": "a", "inactive": "ip", "draining": "d"}
_FLAG_STATES: dict[str, WorkerStateName] = {
    "A": "active",
    "I": "inactive",
    "T": "trying",
    "D": "draining",
}


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    id: str
    uri: str
    state: WorkerStateName
    probing: bool
    load: int  # calls counted by alg 10 right now
    maxload: int


@dataclass(frozen=True, slots=True)
class Contact:
    uri: str
    expires: int  # seconds left
    received: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class EdgeHealth:
    running: bool
    pid: int | None
    restarts: int
    uptime_s: float | None
    workers_active: int
    workers_total: int
    last_error: str | None


def parse_dispatcher_list(result: dict[str, Any], group: int) -> dict[str, WorkerStatus]:
    """dispatcher.list → {duid: WorkerStatus} for one set; entries without duid are skipped."""
    workers: dict[str, WorkerStatus] = {}
    for record in result.get("RECORDS") or []:
        dset = (record or {}).get("SET") or {}
        if dset.get("ID") != group:
            continue
        for target in dset.get("TARGETS") or []:
            dest = (target or {}).get("DEST") or {}
            attrs = dest.get("ATTRS") or {}
            duid = attrs.get("DUID")
            if not duid:
                continue
            flags = str(dest.get("FLAGS") or "IX")
            workers[str(duid)] = WorkerStatus(
                id=str(duid),
                uri=str(dest.get("URI")),
                state=_FLAG_STATES.get(flags[:1], "inactive"),
                probing=flags[1:2] == "P",
                load=int((dest.get("RUNTIME") or {}).get("DLGLOAD") or 0),
                maxload=int(attrs.get("MAXLOAD") or 0),
            )
    return workers


def parse_ul_lookup(result: dict[str, Any] | None) -> list[Contact]:
    """ul.lookup → the AOR's contacts (empty when not registered)."""
    if not result:
        return []
    contacts: list[Contact] = []
    for item in result.get("Contacts") or []:
        contact = (item or {}).get("Contact") or {}
        uri = contact.get("Address")
        if not uri:
            continue
        try:
            expires = int(contact.get("Expires") or 0)
        except (TypeError, ValueError):
            expires = 0  # "permanent"/"deleted" and the like
        received = contact.get("Received")
        user_agent = contact.get("User-Agent")
        contacts.append(
            Contact(
                uri=str(uri),
                expires=expires,
                received=None if received in (None, "[not set]") else str(received),
                user_agent=None if user_agent in (None, "[not set]") else str(user_agent),
            )
        )
    return contacts


@dataclass(frozen=True, slots=True)
class DialogRef:
    """A dialog tracked by the edge, as much as is needed to end it."""

    h_entry: int
    h_id: int
    state: int  # 1 unconfirmed, 2 early, 3 confirmed (no ACK yet), 4 confirmed, 5 deleted
    call_id: str

    @property
    def confirmed(self) -> bool:  # dlg.end_dlg works only for these
        return self.state in (3, 4)


def parse_dialogs(result: Any) -> list[DialogRef]:
    """dlg.profile_list (or dlg.list) → the dialogs, each once, in the order listed.

    Kamailio 5.6 answers with a list of dialog objects, or a single object when there is
    only one; an empty profile gives an empty/absent result.
    """
    if not result:
        return []
    items = result if isinstance(result, list) else [result]
    dialogs: dict[tuple[int, int], DialogRef] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            key = (int(item["h_entry"]), int(item["h_id"]))
            state = int(item.get("state") or 0)
        except (KeyError, TypeError, ValueError):
            continue
        dialogs.setdefault(key, DialogRef(key[0], key[1], state, str(item.get("call-id") or "")))
    return list(dialogs.values())


def parse_ul_dump(result: object, table: str = "location") -> set[str]:
    """AoRs with at least one binding, from `ul.dump brief` (5.6 shape:
    ``{"Domains": [{"Domain": {"Domain": table, "AoRs": [{"AoR": "alice"}, ...]}}]}``)."""
    aors: set[str] = set()
    if not isinstance(result, dict):
        return aors
    for entry in result.get("Domains") or []:
        domain = entry.get("Domain") if isinstance(entry, dict) else None
        if not isinstance(domain, dict) or domain.get("Domain") != table:
            continue
        for aor in domain.get("AoRs") or []:
            if isinstance(aor, dict) and isinstance(aor.get("AoR"), str):
                aors.add(aor["AoR"])
    return aors
