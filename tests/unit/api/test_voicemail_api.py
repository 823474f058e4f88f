"""The voicemail API in process on both backends: the list (filters, paging, errors
naming the field), one message, the audio (Range, marks listened, audited), handled
with a note and reopen, and who may do what (admin/supervisor every box, QA reads, an
agent the boxes of its queues: another box is a 404; the page's nav entry)."""

from __future__ import annotations

import uuid
import wave
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from gateway.store import CdrStore
from gateway.store.models import Agent, AgentQueue, AuditLog, Call, Queue
from tests.unit.api.conftest import Api
from tests.unit.api.rows import add_call, at


@pytest.fixture
async def vm(api: Api, tmp_path: Path) -> Api:
    """Two messages: `sales` (alice's queue) at 11:00 and `vip-box` at 12:00; ana = alice."""
    async with api.db.transaction() as session:
        version = (await session.scalars(select(Queue.version))).first()
        session.add(Agent(sip_user="alice", display_name=None, password="x", config={},
                          version=version))  # fmt: skip
        await session.flush()
        session.add(AgentQueue(agent="alice", queue="sales", position=0))
    for name, hour in (("sales", 11), ("vip-box", 12)):
        path = tmp_path / f"{name}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\x00\x00" * 8000 * 3)  # 3 s
        call_id = await add_call(CdrStore(api.db), at(hour), disposition="voicemail",
                                 ended=25, recordings={"caller": str(path)})  # fmt: skip
        async with api.db.transaction() as session:
            await session.execute(update(Call).where(Call.id == call_id).values(voicemail_box=name))
        api.calls[name] = str(call_id)
    return api


async def req(api: Api, user: str, method: str, url: str, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {api.tokens[user]}", **kw.pop("headers", {})}
    return await api.client.request(method, url, headers=headers, **kw)


async def test_the_list_is_newest_first_with_caller_time_duration_state(vm: Api) -> None:
    r = await req(vm, "sup", "GET", "/api/v1/voicemail")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["box"] for i in items] == ["vip-box", "sales"]
    first = items[0]
    assert first["call_id"] == vm.calls["vip-box"] and first["state"] == "new"
    assert first["caller"] == "+15551230000" and first["duration_seconds"] == 3.0
    assert first["left_at"].startswith("2026-03-02T12:00:00")
    assert first["audio_url"] == f"/api/v1/voicemail/{vm.calls['vip-box']}/audio"
    one = (await req(vm, "sup", "GET", "/api/v1/voicemail?box=sales&limit=1")).json()
    assert [i["box"] for i in one["items"]] == ["sales"] and one["next_cursor"] is None
    paged = (await req(vm, "sup", "GET", "/api/v1/voicemail?limit=1")).json()
    nxt = await req(vm, "sup", "GET", f"/api/v1/voicemail?limit=1&cursor={paged['next_cursor']}")
    assert [i["box"] for i in nxt.json()["items"]] == ["sales"]
    ranged = await req(
        vm, "sup", "GET", "/api/v1/voicemail?from=2026-03-02T11:30:00&to=2026-03-03T00:00:00"
    )
    assert [i["box"] for i in ranged.json()["items"]] == ["vip-box"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("state=deleted", "state"), ("from=yesterday", "from"), ("limit=0", "limit"),
     ("cursor=garbage", "cursor")],
)  # fmt: skip
async def test_bad_input_is_a_422_naming_the_field(vm: Api, query: str, field: str) -> None:
    r = await req(vm, "sup", "GET", f"/api/v1/voicemail?{query}")
    assert r.status_code == 422, r.text
    assert field in r.text


async def test_playing_marks_listened_with_range_and_is_audited(vm: Api) -> None:
    url = f"/api/v1/voicemail/{vm.calls['sales']}"
    part = await req(vm, "qa", "GET", f"{url}/audio", headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"RIFF"
    assert part.headers["content-range"].endswith(f"/{44 + 8000 * 3 * 2}")
    whole = await req(vm, "sup", "GET", f"{url}/audio")
    assert whole.status_code == 200 and whole.content[:4] == b"RIFF"
    m = (await req(vm, "sup", "GET", url)).json()
    assert (m["state"], m["listened_by"]) == ("listened", "qa")  # the first listener
    async with vm.db.reading() as session:
        rows = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "voicemail.play"))
        ).all()
    assert [(a.user_name, a.outcome, a.target) for a in rows] == [
        ("qa", "ok", vm.calls["sales"]), ("sup", "ok", vm.calls["sales"])]  # fmt: skip
    assert rows[0].details["range"] == "bytes=0-3"


async def test_handled_with_a_note_then_reopen(vm: Api) -> None:
    url = f"/api/v1/voicemail/{vm.calls['vip-box']}"
    done = await req(vm, "sup", "POST", f"{url}/handled", json={"note": "called back"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["state"], body["handled_by"], body["note"]) == ("handled", "sup", "called back")
    listed = (await req(vm, "sup", "GET", "/api/v1/voicemail?state=handled")).json()["items"]
    assert [i["call_id"] for i in listed] == [vm.calls["vip-box"]]
    back = (await req(vm, "root", "POST", f"{url}/reopen")).json()
    assert (back["state"], back["handled_by"], back["note"]) == ("new", None, None)
    bare = await req(vm, "root", "POST", f"{url}/handled")  # no body: no note
    assert bare.status_code == 200 and bare.json()["note"] is None
    bad = await req(vm, "root", "POST", f"{url}/handled", json={"note": "x" * 2001})
    assert bad.status_code == 422 and "note" in bad.text


async def test_who_may_do_what(vm: Api) -> None:
    sales, vip = vm.calls["sales"], vm.calls["vip-box"]
    # an agent: the boxes of its queues only; another box is a 404, as if it did not exist
    mine = (await req(vm, "ana", "GET", "/api/v1/voicemail")).json()["items"]
    assert [i["call_id"] for i in mine] == [sales]
    assert (await req(vm, "ana", "GET", "/api/v1/voicemail?box=vip-box")).json()["items"] == []
    for path in (f"/api/v1/voicemail/{vip}", f"/api/v1/voicemail/{vip}/audio"):
        assert (await req(vm, "ana", "GET", path)).status_code == 404
    assert (await req(vm, "ana", "POST", f"/api/v1/voicemail/{vip}/handled")).status_code == 404
    assert (await req(vm, "ana", "POST", f"/api/v1/voicemail/{sales}/handled")).status_code == 200
    # QA reads and plays, does not handle
    assert (await req(vm, "qa", "GET", f"/api/v1/voicemail/{vip}")).status_code == 200
    refused = await req(vm, "qa", "POST", f"/api/v1/voicemail/{vip}/reopen")
    assert refused.status_code == 403 and refused.json()["missing_permission"] == "voicemail.act"
    assert (await vm.client.get("/api/v1/voicemail")).status_code == 401
    # not a message: a call without a box, a bad id
    for missing in (vm.calls["alice"], "not-a-uuid", str(uuid.uuid4())):
        r = await req(vm, "root", "GET", f"/api/v1/voicemail/{missing}")
        assert r.status_code == 404 and "call_id" in r.json()["detail"]


async def test_the_page_lists_plays_and_offers_actions_by_role(vm: Api) -> None:
    page = await req(vm, "sup", "GET", "/ui/voicemail", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    assert f'src="/api/v1/voicemail/{vm.calls["sales"]}/audio"' in html
    assert "Mark handled" in html and 'href="/ui/voicemail"' in html
    qa = (await req(vm, "qa", "GET", "/ui/voicemail", headers={"Accept": "text/html"})).text
    assert "<audio" in qa and "Mark handled" not in qa
    agent = (await req(vm, "ana", "GET", "/ui/voicemail?state=new")).text
    assert vm.calls["sales"] in agent and vm.calls["vip-box"] not in agent
    bad = await req(vm, "sup", "GET", "/ui/voicemail?state=gone")
    assert bad.status_code == 422 and "state" in bad.text
