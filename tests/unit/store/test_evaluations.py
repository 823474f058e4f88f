"""The QA store on both backends: form versions kept, a draft updated then submitted and
immutable, one evaluation per reviewer and call, the agent's acknowledgement, remarks,
and the call-search condition (score range, not yet evaluated)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.store import CdrStore, Database
from gateway.store.evaluations import (
    EvaluationConflict,
    EvaluationFilter,
    EvaluationStore,
    evaluation_condition,
)
from gateway.store.models import Call
from gateway.store.records import NotFoundError
from tests.unit.api.rows import add_call, at

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
FORM = {"sections": [{"title": "A", "questions": [
    {"id": "q", "text": "Q", "type": "yes_no", "weight": 1}]}]}  # fmt: skip


async def test_a_change_is_a_new_version_and_old_versions_stay(db: Database) -> None:
    store = EvaluationStore(db)
    v1 = await store.save_form("basic", FORM, by="root", now=T0, new=True)
    with pytest.raises(EvaluationConflict):
        await store.save_form("basic", FORM, by="root", now=T0, new=True)
    with pytest.raises(NotFoundError):
        await store.save_form("other", FORM, by="root", now=T0, new=False)
    changed = {"sections": [{**FORM["sections"][0], "title": "B"}]}
    v2 = await store.save_form("basic", changed, by="root", now=T0, new=False)
    assert (v1.version, v2.version) == (1, 2)
    assert (await store.form("basic")).id == v2.id
    assert (await store.form("basic", 1)).definition == FORM
    assert [v.version for v in await store.versions("basic")] == [1, 2]
    assert [f.version for f in await store.forms()] == [2]
    await store.retire_form("basic", T0)
    assert await store.forms() == []
    assert [f.name for f in await store.forms(retired=True)] == ["basic"]
    assert (await store.form_by_id(v1.id)).version == 1


async def test_draft_update_submit_then_immutable(db: Database) -> None:
    store, cdr = EvaluationStore(db), CdrStore(db)
    call = await add_call(cdr, at(10), answered=5, ended=60, agent="alice")
    form = await store.save_form("basic", FORM, by="root", now=T0, new=True)
    draft = await store.create(call, form.id, reviewer="qa", answers={}, score=None,
                               auto_failed=False, now=T0)  # fmt: skip
    assert (draft.state, draft.agent, draft.form_version) == ("draft", "alice", 1)
    with pytest.raises(EvaluationConflict):  # one per reviewer and call
        await store.create(call, form.id, reviewer="qa", answers={}, score=None,
                           auto_failed=False, now=T0)  # fmt: skip
    with pytest.raises(NotFoundError):  # another reviewer's draft
        await store.update(draft.id, reviewer="qa2", answers={}, score=None, auto_failed=False,
                           submit=False, now=T0)  # fmt: skip
    later = T0 + timedelta(minutes=5)
    done = await store.update(draft.id, reviewer="qa", answers={"q": {"value": True}},
                              score=100.0, auto_failed=False, submit=True, now=later)  # fmt: skip
    assert (done.state, done.submitted_at, done.score) == ("submitted", later, 100.0)
    with pytest.raises(EvaluationConflict):
        await store.update(draft.id, reviewer="qa", answers={}, score=0.0, auto_failed=True,
                           submit=True, now=later)  # fmt: skip
    assert (await store.get(draft.id)).answers == {"q": {"value": True}}
    with pytest.raises(NotFoundError):  # not alice's
        await store.acknowledge(draft.id, agent="bob", status="acknowledged", comment=None,
                                now=later)  # fmt: skip
    ack = await store.acknowledge(draft.id, agent="alice", status="disputed", comment="no",
                                  now=later)  # fmt: skip
    assert (ack.acknowledgement, ack.agent_comment) == ("disputed", "no")
    assert await store.evaluated(call)


async def test_filters_and_the_call_search_condition(db: Database) -> None:
    store, cdr = EvaluationStore(db), CdrStore(db)
    calls = [await add_call(cdr, at(10, i), answered=5, ended=60, agent=a)
             for i, a in enumerate(["alice", "alice", "bob", "bob"])]  # fmt: skip
    form = await store.save_form("basic", FORM, by="root", now=T0, new=True)
    for call, reviewer, score, submit in [(calls[0], "qa", 0.0, True), (calls[1], "qa", 80.0, True),
                                          (calls[2], "qa", 50.0, False)]:  # fmt: skip
        e = await store.create(call, form.id, reviewer=reviewer, answers={}, score=None,
                               auto_failed=False, now=T0)  # fmt: skip
        await store.update(e.id, reviewer=reviewer, answers={}, score=score, auto_failed=False,
                           submit=submit, now=T0)  # fmt: skip
    alice = await store.find(EvaluationFilter(agent="alice", state="submitted"))
    assert {e.call_id for e in alice} == {calls[0], calls[1]}
    assert len(await store.find(EvaluationFilter(min_score=50))) == 2  # the draft's 50 too
    assert len(await store.find(EvaluationFilter(state="draft"))) == 1

    async def matching(**kw: object) -> set[uuid.UUID]:
        cond = evaluation_condition(**kw)  # type: ignore[arg-type]
        query = select(Call.id) if cond is None else select(Call.id).where(cond)
        async with db.reading() as session:
            return set((await session.scalars(query)).all())

    assert await matching(not_evaluated=True) == {calls[2], calls[3]}  # a draft is not one
    assert await matching(max_score=10) == {calls[0]}
    assert await matching(min_score=50, max_score=100) == {calls[1]}
    assert await matching() == set(calls)


async def test_remarks_ordered_by_offset_and_deleted_by_their_author(db: Database) -> None:
    store, cdr = EvaluationStore(db), CdrStore(db)
    call = await add_call(cdr, at(10), answered=5, ended=60, agent="alice")
    late = await store.add_remark(call, author="qa", offset_seconds=12.5, text="hold",
                                  evaluation_id=None, now=T0)  # fmt: skip
    await store.add_remark(call, author="qa2", offset_seconds=1.0, text="hi",
                           evaluation_id=None, now=T0)  # fmt: skip
    assert [r.text for r in await store.remarks(call)] == ["hi", "hold"]
    with pytest.raises(NotFoundError):
        await store.delete_remark(call, late.id, author="qa2")
    await store.delete_remark(call, late.id, author="qa")
    assert [r.author for r in await store.remarks(call)] == ["qa2"]
    with pytest.raises(NotFoundError):
        await store.add_remark(uuid.uuid4(), author="qa", offset_seconds=0, text="x",
                               evaluation_id=None, now=T0)  # fmt: skip
