"""The QA API in process on both backends: forms and versions (admin only), a draft
scored on the server then submitted and immutable, auto-fail, the agent's view (its own
submitted evaluations only: another agent's and drafts are 404s), acknowledge/dispute,
remarks, calibration, the agent recording policy, and QA cannot change routing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.api.v1.qa import QaState
from gateway.auth import UserAdmin
from gateway.settings import SettingsError, parse_settings
from gateway.store.evaluations import EvaluationStore
from tests.unit.api.conftest import Api

FORM: dict[str, Any] = {
    "sections": [
        {"title": "Opening", "questions": [
            {"id": "greet", "text": "Greeted the caller?", "type": "yes_no", "weight": 1},
            {"id": "tone", "text": "Tone", "type": "single", "weight": 3, "options": [
                {"id": "good", "label": "Good", "score": 2},
                {"id": "rude", "label": "Rude", "score": 0, "auto_fail": True}]},
        ]},
        {"title": "Close", "questions": [
            {"id": "recap", "text": "Recap 1-5", "type": "scale", "weight": 2, "min": 1,
             "max": 5, "na_allowed": True},
            {"id": "notes", "text": "Notes", "type": "text"},
        ]},
    ]
}  # fmt: skip
GOOD = {"greet": {"value": True}, "tone": {"value": "good", "comment": "warm"},
        "recap": {"value": 3}}  # fmt: skip


@pytest.fixture
async def qa(api: Api) -> Api:
    """The API with a QA store, a second reviewer (qa2), bob's agent user (bo), a form."""
    api.app.state.qa = QaState(EvaluationStore(api.db))
    admin = UserAdmin(api.db, actor="cli:test")
    for name, role, agent in [("qa2", "qa", None), ("bo", "agent", "bob")]:
        api.tokens[name] = (await admin.add(name, role, agent)).token
    api.app.state.auth.forget()
    created = await api.post("root", "/api/v1/qa/forms", json={"name": "basic", "definition": FORM})
    assert created.status_code == 201, created.text
    return api


async def req(api: Api, user: str, method: str, url: str, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {api.tokens[user]}"}
    return await api.client.request(method, url, headers=headers, **kw)


async def test_forms_are_versioned_and_written_by_admins_only(qa: Api) -> None:
    changed = {"sections": [{**FORM["sections"][0], "title": "Greeting"}, FORM["sections"][1]]}
    for user in ("sup", "qa", "ana"):
        r = await req(qa, user, "PUT", "/api/v1/qa/forms/basic", json={"definition": changed})
        assert r.status_code == 403 and r.json()["missing_permission"] == "qa.forms.write"
    r = await req(qa, "root", "PUT", "/api/v1/qa/forms/basic", json={"definition": changed})
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = (await qa.get("qa", "/api/v1/qa/forms/basic/versions")).json()
    assert [v["version"] for v in versions] == [1, 2]
    v1 = (await qa.get("sup", "/api/v1/qa/forms/basic/versions/1")).json()
    assert v1["definition"]["sections"][0]["title"] == "Opening"
    assert (await qa.get("ana", "/api/v1/qa/forms")).status_code == 403
    bad = {"sections": [{"title": "A", "questions": [
        {"id": "q", "text": "Q", "type": "yes_no", "weight": 0}]}]}  # fmt: skip
    r = await qa.post("root", "/api/v1/qa/forms", json={"name": "bad", "definition": bad})
    assert r.status_code == 422
    assert r.json()["detail"] == "sections[0].questions[0].weight: must be > 0"
    dup = await qa.post("root", "/api/v1/qa/forms", json={"name": "basic", "definition": FORM})
    assert dup.status_code == 409


async def test_draft_then_submit_scored_on_the_server_and_immutable(qa: Api) -> None:
    call = qa.calls["alice"]
    body = {"call_id": call, "form": "basic", "answers": {"greet": {"value": False}}}
    draft = await qa.post("qa", "/api/v1/qa/evaluations", json=body)
    assert draft.status_code == 201, draft.text
    d = draft.json()
    assert (d["state"], d["agent"], d["form"], d["score"]) == (
        "draft", "alice", {"name": "basic", "version": 1}, 0.0)  # fmt: skip
    eid = d["id"]
    assert (await qa.post("qa", "/api/v1/qa/evaluations", json=body)).status_code == 409
    incomplete = await qa.post("qa", f"/api/v1/qa/evaluations/{eid}/submit", json={})
    assert incomplete.status_code == 422
    assert "answers.tone: an answer is required to submit" in incomplete.json()["detail"]
    bad = await req(qa, "qa", "PUT", f"/api/v1/qa/evaluations/{eid}",
                    json={"answers": {"recap": {"value": 9}}})  # fmt: skip
    assert bad.status_code == 422 and "answers.recap.value: must be between 1 and 5" in bad.text
    other = await req(qa, "qa2", "PUT", f"/api/v1/qa/evaluations/{eid}", json={"answers": GOOD})
    assert other.status_code == 404  # someone else's draft
    done = await qa.post("qa", f"/api/v1/qa/evaluations/{eid}/submit", json={"answers": GOOD})
    assert done.status_code == 200, done.text
    s = done.json()
    # greet 1*1 + tone 3*1 + recap 2*0.5 over 6
    assert s["state"] == "submitted" and s["score"] == round(100 * 5 / 6, 2)
    assert [x["percent"] for x in s["sections"]] == [100.0, 50.0]
    again = await req(qa, "qa", "PUT", f"/api/v1/qa/evaluations/{eid}", json={"answers": {}})
    assert again.status_code == 409 and "immutable" in again.text


async def test_auto_fail_scores_zero_with_the_reason(qa: Api) -> None:
    answers = {**GOOD, "tone": {"value": "rude"}}
    r = await qa.post("qa", "/api/v1/qa/evaluations",
                      json={"call_id": qa.calls["alice"], "form": "basic", "answers": answers,
                            "submit": True})  # fmt: skip
    assert r.status_code == 201, r.text
    e = r.json()
    assert (e["score"], e["auto_failed"], e["reasons"]) == (
        0.0, True, ["tone: 'Rude' fails the evaluation"])  # fmt: skip


async def test_an_agent_sees_its_own_submitted_evaluations_only(qa: Api) -> None:
    ids = {}
    for who, submit in [("alice", True), ("bob", True)]:
        r = await qa.post("qa", "/api/v1/qa/evaluations",
                          json={"call_id": qa.calls[who], "form": "basic", "answers": GOOD,
                                "submit": submit})  # fmt: skip
        ids[who] = r.json()["id"]
    draft = await qa.post("qa2", "/api/v1/qa/evaluations",
                          json={"call_id": qa.calls["alice"], "form": "basic"})  # fmt: skip
    mine = (await qa.get("ana", "/api/v1/qa/evaluations")).json()
    assert [e["id"] for e in mine] == [ids["alice"]]
    asked = (await qa.get("ana", "/api/v1/qa/evaluations", params={"agent": "bob"})).json()
    assert asked == []
    assert (await qa.get("ana", f"/api/v1/qa/evaluations/{ids['bob']}")).status_code == 404
    assert (await qa.get("ana", f"/api/v1/qa/evaluations/{draft.json()['id']}")).status_code == 404
    assert (await qa.get("qa", f"/api/v1/qa/evaluations/{draft.json()['id']}")).status_code == 404
    assert (await qa.get("qa2", f"/api/v1/qa/evaluations/{draft.json()['id']}")).status_code == 200
    assert len((await qa.get("sup", "/api/v1/qa/evaluations")).json()) == 2  # drafts: no
    # acknowledge its own; dispute needs a comment; not another's
    url = f"/api/v1/qa/evaluations/{ids['alice']}/acknowledgement"
    r = await qa.post("ana", url, json={"status": "disputed"})
    assert r.status_code == 422 and r.json()["detail"] == "comment: a dispute needs a comment"
    r = await qa.post("ana", url, json={"status": "acknowledged", "comment": "ok"})
    assert r.status_code == 200 and r.json()["acknowledgement"] == "acknowledged"
    r = await qa.post("bo", url, json={"status": "acknowledged"})
    assert r.status_code == 404
    assert (await qa.post("qa", url, json={"status": "acknowledged"})).status_code == 403
    assert (
        await qa.post(
            "ana", "/api/v1/qa/evaluations", json={"call_id": qa.calls["alice"], "form": "basic"}
        )
    ).status_code == 403


async def test_remarks_and_calibration(qa: Api) -> None:
    call = qa.calls["alice"]
    r = await qa.post("qa", f"/api/v1/calls/{call}/remarks",
                      json={"offset_seconds": 12.5, "text": "long hold"})  # fmt: skip
    assert r.status_code == 201, r.text
    remark = r.json()["id"]
    assert [x["text"] for x in (await qa.get("ana", f"/api/v1/calls/{call}/remarks")).json()] == [
        "long hold"]  # fmt: skip
    bobs = await qa.get("ana", f"/api/v1/calls/{qa.calls['bob']}/remarks")
    assert bobs.status_code == 404
    bad = await qa.post("qa", f"/api/v1/calls/{call}/remarks", json={"offset_seconds": -1,
                                                                      "text": "x"})  # fmt: skip
    assert bad.status_code == 422 and "offset_seconds" in bad.text
    assert (await req(qa, "qa2", "DELETE", f"/api/v1/calls/{call}/remarks/{remark}")).status_code \
        == 404  # fmt: skip
    assert (await req(qa, "qa", "DELETE", f"/api/v1/calls/{call}/remarks/{remark}")).status_code \
        == 204  # fmt: skip
    for user, tone in [("qa", "good"), ("qa2", "rude")]:
        await qa.post(user, "/api/v1/qa/evaluations",
                      json={"call_id": call, "form": "basic", "submit": True,
                            "answers": {**GOOD, "tone": {"value": tone}}})  # fmt: skip
    cal = (await qa.get("sup", f"/api/v1/calls/{call}/calibration")).json()
    assert cal["reviewers"] == ["qa", "qa2"] and cal["form"] == {"name": "basic", "version": 1}
    rows = {q["question"]: q for q in cal["questions"]}
    assert rows["greet"]["agreement"] == 1.0 and rows["tone"]["agreement"] == 0.5
    assert rows["tone"]["answers"] == {"qa": "good", "qa2": "rude"}
    assert cal["totals"] == {"qa": round(100 * 5 / 6, 2), "qa2": 0.0}
    assert cal["spread"]["min"] == 0.0 and cal["spread"]["max"] == round(100 * 5 / 6, 2)
    assert (await qa.get("ana", f"/api/v1/calls/{call}/calibration")).status_code == 403


@pytest.mark.parametrize(("policy", "evaluated", "code"), [
    ("own", False, 200), ("evaluated", False, 404), ("evaluated", True, 200), ("none", True, 404),
])  # fmt: skip
async def test_the_agent_recording_policy(qa: Api, policy: str, evaluated: bool, code: int) -> None:
    qa.app.state.qa.agent_recordings = policy
    if evaluated:
        await qa.post("qa", "/api/v1/qa/evaluations",
                      json={"call_id": qa.calls["alice"], "form": "basic", "answers": GOOD,
                            "submit": True})  # fmt: skip
    own = await qa.get("ana", f"/api/v1/calls/{qa.calls['alice']}/recording")
    assert own.status_code == code
    assert (await qa.get("ana", f"/api/v1/calls/{qa.calls['bob']}/recording")).status_code == 404
    assert (await qa.get("qa", f"/api/v1/calls/{qa.calls['bob']}/recording")).status_code == 200


async def test_qa_cannot_change_routing(qa: Api) -> None:
    for method, url in [("PUT", "/api/v1/config/queues/sales"), ("POST", "/api/v1/config/dids"),
                        ("DELETE", "/api/v1/config/agents/alice"),
                        ("PUT", "/api/v1/config/globals")]:  # fmt: skip
        r = await req(qa, "qa", method, url, json={})
        assert r.status_code == 403, (method, url, r.text)
        assert r.json()["missing_permission"] == "routing.write"


def test_the_policy_setting_is_validated_naming_the_key() -> None:
    ok = parse_settings("qa:\n  agent_recordings: evaluated\n", file="gw.yaml", base_dir=Path("/"),
                        environ={})  # fmt: skip
    assert ok.qa.agent_recordings == "evaluated"
    assert parse_settings("", file="gw.yaml", base_dir=Path("/"), environ={}).qa.agent_recordings \
        == "own"  # fmt: skip
    with pytest.raises(SettingsError) as caught:
        parse_settings("qa:\n  agent_recordings: all\n", file="gw.yaml", base_dir=Path("/"),
                       environ={})  # fmt: skip
    (issue,) = [str(i) for i in caught.value.issues]
    assert "gw.yaml:2" in issue and "qa.agent_recordings" in issue and "'own'" in issue
