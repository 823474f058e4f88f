"""Evaluation forms: validation naming the field, the score formula, auto-fail, N/A,
calibration; property tests for the score's bounds and N/A invariance."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordings.evaluation import (
    Answer,
    EvaluationError,
    calibrate,
    parse_answers,
    parse_form,
    score,
)

TONE = [
    {"id": "good", "label": "Good", "score": 2},
    {"id": "ok", "label": "OK", "score": 1},
    {"id": "rude", "label": "Rude", "score": 0, "auto_fail": True},
]
FORM: dict[str, Any] = {
    "sections": [
        {
            "title": "Opening",
            "questions": [
                {"id": "greet", "text": "Greeted?", "type": "yes_no", "weight": 1},
                {"id": "tone", "text": "Tone", "type": "single", "weight": 3,
                 "options": TONE, "na_allowed": True},
            ],
            "sections": [
                {"title": "Identity", "questions": [
                    {"id": "verify", "text": "Verified 1-5", "type": "scale", "weight": 2,
                     "min": 1, "max": 5, "na_allowed": True},
                ]},
            ],
        },
        {
            "title": "Close",
            "questions": [
                {"id": "steps", "text": "Steps", "type": "multi", "weight": 2, "options": [
                    {"id": "a", "label": "Recap", "score": 1},
                    {"id": "b", "label": "Survey", "score": 1}]},
                {"id": "hold", "text": "Hold (s)", "type": "number", "weight": 1,
                 "min": 0, "max": 60},
                {"id": "notes", "text": "Notes", "type": "text"},
            ],
        },
    ]
}  # fmt: skip


def answers(**values: Any) -> dict[str, Answer]:
    raw = {k: ({"na": True} if v == "N/A" else {"value": v}) for k, v in values.items()}
    return parse_answers(parse_form(FORM), raw, complete=False)


def test_a_full_evaluation_scores_by_weighted_fractions() -> None:
    form = parse_form(FORM)
    a = answers(greet=True, tone="ok", verify=3, steps=["a"], hold=30, notes="fine")
    s = score(form, a)
    # greet 1*1, tone 3*0.5, verify 2*0.5, steps 2*0.5, hold 1*0.5 over weights 9
    assert s.percent == round(100 * (1 + 1.5 + 1 + 1 + 0.5) / 9, 2)
    assert not s.auto_failed
    opening, close = s.sections
    assert opening.percent == round(100 * (1 + 1.5 + 1) / 6, 2)
    assert opening.sections[0].percent == 50.0
    assert close.percent == 50.0


def test_na_is_out_of_numerator_and_denominator() -> None:
    form = parse_form(FORM)
    full = score(form, answers(greet=True, tone="good", verify="N/A", steps=[], hold=0))
    assert full.percent == round(100 * (1 + 3) / (1 + 3 + 2 + 1), 2)
    assert full.sections[0].sections[0].percent is None


def test_one_auto_fail_answer_zeroes_the_total_with_the_reason() -> None:
    form = parse_form(FORM)
    s = score(form, answers(greet=True, tone="rude", verify=5, steps=["a", "b"], hold=60))
    assert s.percent == 0.0 and s.auto_failed
    assert s.reasons == ("tone: 'Rude' fails the evaluation",)
    assert s.sections[0].percent == 0.0  # its section too
    assert s.sections[1].percent == 100.0


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda f: f["sections"][1]["questions"][0].update(weight=0),
         "sections[1].questions[0].weight: must be > 0"),
        (lambda f: f["sections"][0]["questions"][1].update(type="dropdown"),
         "sections[0].questions[1].type: one of yes_no, scale, number, single, multi, text"),
        (lambda f: f["sections"][0]["sections"][0]["questions"][0].update(min=5),
         "sections[0].sections[0].questions[0].max: must be > min"),
        (lambda f: f["sections"][0]["sections"][0].update(sections=[{"title": "x"}]),
         "sections[0].sections[0].sections: sections nest 2 levels at most"),
        (lambda f: f["sections"][1]["questions"][1].update(id="greet"),
         "sections[1].questions[1].id: duplicate question id 'greet'"),
        (lambda f: f["sections"][1]["questions"][0]["options"][0].update(score=-1),
         "sections[1].questions[0].options[0].score: must be a number >= 0"),
        (lambda f: f["sections"][1]["questions"][2].update(weight=2),
         "sections[1].questions[2].weight: a text question is not scored (leave it out)"),
        (lambda f: f["sections"][0].update(title=""),
         "sections[0].title: must be a non-empty string"),
    ],
)  # fmt: skip
def test_validation_names_the_field(change: Any, problem: str) -> None:
    import copy

    form = copy.deepcopy(FORM)
    change(form)
    with pytest.raises(EvaluationError) as err:
        parse_form(form)
    assert problem in err.value.problems


def test_answers_are_checked_against_the_form() -> None:
    form = parse_form(FORM)
    bad = {"greet": {"value": "yes"}, "verify": {"value": 9}, "steps": {"value": ["z"]},
           "hold": {"na": True}, "nope": {"value": 1}}  # fmt: skip
    with pytest.raises(EvaluationError) as err:
        parse_answers(form, bad, complete=False)
    assert set(err.value.problems) == {
        "answers.greet.value: must be true or false",
        "answers.verify.value: must be between 1 and 5",
        "answers.steps.value: a list of a, b",
        "answers.hold.na: N/A is not allowed for this question",
        "answers.nope: no such question in this form version",
    }
    with pytest.raises(EvaluationError) as err:
        parse_answers(form, {"greet": {"value": True}}, complete=True)
    assert "answers.tone: an answer is required to submit" in err.value.problems
    assert not any("notes" in p for p in err.value.problems)  # text is optional


def test_calibration_agreement_and_spread() -> None:
    form = parse_form(FORM)
    base = {"greet": True, "tone": "good", "verify": 5, "steps": ["a", "b"], "hold": 60}
    cal = calibrate(form, {
        "qa1": answers(**base),
        "qa2": answers(**{**base, "tone": "ok"}),
        "qa3": answers(**{**base, "tone": "ok", "steps": ["b", "a"], "verify": "N/A"}),
    })  # fmt: skip
    rows = {r.question: r for r in cal.questions}
    assert rows["greet"].agreement == 1.0
    assert rows["tone"].modal == "ok" and rows["tone"].agreement == round(2 / 3, 4)
    assert rows["steps"].agreement == 1.0  # the order of a multi answer does not matter
    assert rows["verify"].modal == 5 and rows["verify"].agreement == round(2 / 3, 4)
    assert "notes" not in rows
    t = cal.totals
    assert t["qa1"] == 100.0 and t["qa2"] == round(100 * (9 - 1.5) / 9, 2)
    assert t["qa3"] == round(100 * (7 - 1.5) / 7, 2)  # verify N/A: weight 7 left
    assert cal.spread.count == 3 and cal.spread.min == t["qa3"] and cal.spread.max == 100.0
    mean = (t["qa1"] + t["qa2"] + t["qa3"]) / 3
    assert cal.spread.mean == round(mean, 2)
    assert cal.spread.stdev is not None and cal.spread.stdev > 0


# ------------------------------------------------------------------ properties
ANSWER = {
    "greet": st.booleans(),
    "tone": st.sampled_from(["good", "ok", "rude", "N/A"]),
    "verify": st.one_of(st.integers(1, 5), st.just("N/A")),
    "steps": st.lists(st.sampled_from(["a", "b"]), unique=True),
    "hold": st.floats(0, 60),
}
some_answers = st.fixed_dictionaries({}, optional=ANSWER)


@settings(max_examples=300, deadline=None)
@given(some_answers)
def test_scores_stay_between_0_and_100(values: dict[str, Any]) -> None:
    s = score(parse_form(FORM), answers(**values))
    for pct in [s.percent, *(x.percent for x in s.sections)]:
        assert pct is None or 0.0 <= pct <= 100.0
    assert s.auto_failed == (values.get("tone") == "rude")
    if s.auto_failed:
        assert s.percent == 0.0


@settings(max_examples=300, deadline=None)
@given(some_answers, st.sampled_from(["tone", "verify"]))
def test_na_scores_as_if_the_question_were_not_on_the_form(
    values: dict[str, Any], qid: str
) -> None:
    import copy

    with_na = score(parse_form(FORM), answers(**{**values, qid: "N/A"}))
    removed = copy.deepcopy(FORM)
    for section in [*removed["sections"], *removed["sections"][0]["sections"]]:
        section["questions"] = [q for q in section["questions"] if q["id"] != qid]
    removed["sections"][0]["sections"] = [  # a section with no question left goes too
        s for s in removed["sections"][0]["sections"] if s["questions"]
    ]
    rest = {k: v for k, v in values.items() if k != qid}
    form = parse_form(removed)
    without = score(
        form,
        parse_answers(
            form,
            {k: ({"na": True} if v == "N/A" else {"value": v}) for k, v in rest.items()},
            complete=False,
        ),
    )
    assert with_na.percent == without.percent
    assert with_na.auto_failed == without.auto_failed
