"""Parsing Kamailio RPC answers (samples captured from Kamailio 5.6.3)."""

from __future__ import annotations

from typing import Any

from gateway.edge.state import (
    Contact,
    DialogRef,
    WorkerStatus,
    parse_dialogs,
    parse_dispatcher_list,
    parse_ul_lookup,
)


def dest(uri: str, flags: str, duid: str | None, maxload: int, load: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "BODY": f"duid={duid};maxload={maxload}" if duid else "",
        "DUID": duid,
        "MAXLOAD": maxload,
        "WEIGHT": 0,
        "RWEIGHT": 0,
        "SOCKET": None,
        "SOCKNAME": None,
        "OBPROXY": None,
    }
    return {
        "DEST": {
            "URI": uri,
            "FLAGS": flags,
            "PRIORITY": 0,
            "ATTRS": attrs,
            "RUNTIME": {"DLGLOAD": load},
        }
    }


DISPATCHER_LIST = {
    "NRSETS": 2,
    "RECORDS": [
        {
            "SET": {
                "ID": 1,
                "TARGETS": [
                    dest("sip:127.0.0.1:23011", "AP", "w2", 2, 1),
                    dest("sip:127.0.0.1:23010", "IP", "w1", 2, 0),
                    dest("sip:127.0.0.1:23012", "DX", "w3", 2, 0),
                    dest("sip:127.0.0.1:23013", "TP", "w4", 0, 0),
                    dest("sip:127.0.0.1:23014", "AX", None, 0, 0),
                ],
            }
        },
        {"SET": {"ID": 7, "TARGETS": [dest("sip:10.0.0.1:5060", "AX", "other", 1, 0)]}},
    ],
}


def test_dispatcher_list_states() -> None:
    workers = parse_dispatcher_list(DISPATCHER_LIST, 1)
    assert workers == {
        "w2": WorkerStatus("w2", "sip:127.0.0.1:23011", "active", True, 1, 2),
        "w1": WorkerStatus("w1", "sip:127.0.0.1:23010", "inactive", True, 0, 2),
        "w3": WorkerStatus("w3", "sip:127.0.0.1:23012", "draining", False, 0, 2),
        "w4": WorkerStatus("w4", "sip:127.0.0.1:23013", "trying", True, 0, 0),
    }


def test_dispatcher_list_empty() -> None:
    assert parse_dispatcher_list({}, 1) == {}
    assert parse_dispatcher_list({"NRSETS": 1, "RECORDS": None}, 1) == {}


UL_LOOKUP = {
    "AoR": "bob",
    "Contacts": [
        {
            "Contact": {
                "Address": "sip:bob@127.0.0.1:23999",
                "Expires": 120,
                "Q": -1,
                "Call-ID": "1-14406@127.0.0.1",
                "CSeq": 2,
                "User-Agent": "contactgw-edge-test",
                "Received": "[not set]",
                "Path": "[not set]",
                "State": "CS_NEW",
                "Flags": 0,
                "Socket": "udp:127.0.0.1:23140",
                "Methods": 4294967295,
            }
        },
        {
            "Contact": {
                "Address": "sip:bob@192.0.2.5:5062",
                "Expires": "permanent",
                "User-Agent": "[not set]",
                "Received": "sip:198.51.100.9:40000",
            }
        },
    ],
}


def test_ul_lookup_contacts() -> None:
    assert parse_ul_lookup(UL_LOOKUP) == [
        Contact("sip:bob@127.0.0.1:23999", 120, None, "contactgw-edge-test"),
        Contact("sip:bob@192.0.2.5:5062", 0, "sip:198.51.100.9:40000", None),
    ]


def test_ul_lookup_not_registered() -> None:
    assert parse_ul_lookup(None) == []
    assert parse_ul_lookup({"AoR": "bob", "Contacts": []}) == []


def dialog(h_entry: int, h_id: int, state: int, call_id: str) -> dict[str, Any]:
    """One entry of dlg.profile_list as Kamailio 5.6.3 sends it (trimmed a little)."""
    return {
        "h_entry": h_entry,
        "h_id": h_id,
        "ref": 2,
        "call-id": call_id,
        "from_uri": "sip:caller@127.0.0.1:23445",
        "to_uri": "sip:4930123456@127.0.0.1:23278",
        "state": state,
        "start_ts": 1795364806,
        "lifetime": 43200,
        "caller": {"tag": "31669SIPpTag001", "contact": "sip:caller@127.0.0.1:23445"},
        "callee": {"tag": "e77df7edf3", "contact": "sip:worker@127.0.0.1:23833"},
        "profiles": [{"worker": "w1"}],
        "variables": [{"worker": "w1"}],
    }


def test_dialogs_of_a_profile() -> None:
    result = [
        dialog(3748, 4610, 4, "1-31669@127.0.0.1"),
        dialog(53, 9033, 2, "7ae7@fake-worker"),
        dialog(3748, 4610, 4, "1-31669@127.0.0.1"),  # set_dlg_profile twice: listed twice
        {"h_entry": "x"},
        "garbage",
    ]
    dialogs = parse_dialogs(result)
    assert dialogs == [
        DialogRef(3748, 4610, 4, "1-31669@127.0.0.1"),
        DialogRef(53, 9033, 2, "7ae7@fake-worker"),
    ]
    assert [d.confirmed for d in dialogs] == [True, False]
    assert parse_dialogs(dialog(1, 2, 3, "c")) == [DialogRef(1, 2, 3, "c")]


def test_no_dialogs() -> None:
    assert parse_dialogs([]) == []  # what 5.6.3 answers for an empty profile
    assert parse_dialogs(None) == []


def test_ul_dump_brief_gives_the_registered_aors_of_the_location_table() -> None:
    from gateway.edge.state import parse_ul_dump

    observed = {"Domains": [{"Domain": {"Domain": "location", "Size": 1024,
                                        "AoRs": [{"AoR": "alice"}, {"AoR": "bob"}],
                                        "Stats": {"Records": 2, "Max-Slots": 1}}}]}
    assert parse_ul_dump(observed) == {"alice", "bob"}
    assert parse_ul_dump({"Domains": [{"Domain": {"Domain": "other", "AoRs": [{"AoR": "x"}]}}]}) == set()
    assert parse_ul_dump({"Domains": [{"Domain": {"Domain": "location", "AoRs": None}}]}) == set()
    assert parse_ul_dump(None) == set()
