"""The call search's filters the UI adds: talk duration range, QA score range, not yet
evaluated (over the real store; evaluations written through EvaluationStore)."""

from __future__ import annotations

import uuid

import pytest

from gateway.store import CdrStore, Database
from gateway.store.evaluations import EvaluationStore
from gateway.store.search import CallFilter, CallSearch, InvalidQuery
from tests.unit.api.rows import add_call, at


async def ids(db: Database, f: CallFilter) -> set[uuid.UUID]:
    return {c.id for c in (await CallSearch(db).search(f, limit=100)).calls}


async def test_talk_duration_range_is_inclusive_and_leaves_out_unanswered(db: Database) -> None:
    cdr = CdrStore(db)
    short = await add_call(cdr, at(9), answered=5, ended=35, agent="alice")  # talk 30
    long = await add_call(cdr, at(10), answered=5, ended=305, agent="alice")  # talk 300
    await add_call(cdr, at(11), disposition="abandoned", ended=20)  # no talk
    assert await ids(db, CallFilter(min_talk=30)) == {short, long}
    assert await ids(db, CallFilter(min_talk=31)) == {long}
    assert await ids(db, CallFilter(max_talk=30)) == {short}
    assert await ids(db, CallFilter(min_talk=30, max_talk=299.9)) == {short}
    with pytest.raises(InvalidQuery, match="minimum duration"):
        await ids(db, CallFilter(min_talk=10, max_talk=5))


async def test_score_range_and_not_yet_evaluated(db: Database) -> None:
    cdr, qa = CdrStore(db), EvaluationStore(db)
    good = await add_call(cdr, at(9), answered=5, ended=65, agent="alice")
    bad = await add_call(cdr, at(10), answered=5, ended=65, agent="alice")
    drafted = await add_call(cdr, at(11), answered=5, ended=65, agent="bob")
    untouched = await add_call(cdr, at(12), answered=5, ended=65, agent="bob")
    form = await qa.save_form("f", {"sections": []}, by="root", now=at(8), new=True)
    for call, score, submit in ((good, 90.0, True), (bad, 0.0, True), (drafted, 50.0, False)):
        draft = await qa.create(
            call, form.id, reviewer="qa", answers={}, score=None, auto_failed=False, now=at(13)
        )
        await qa.update(
            draft.id, reviewer="qa", answers={}, score=score, auto_failed=score == 0,
            submit=submit, now=at(13),
        )  # fmt: skip
    assert await ids(db, CallFilter(min_score=80)) == {good}
    assert await ids(db, CallFilter(max_score=10)) == {bad}
    assert await ids(db, CallFilter(min_score=0, max_score=100)) == {good, bad}  # drafts: no
    assert await ids(db, CallFilter(not_evaluated=True)) == {drafted, untouched}
    with pytest.raises(InvalidQuery, match="minimum score"):
        await ids(db, CallFilter(min_score=50, max_score=40))
