"""QA evaluation forms, answers, scores and calibration: pure functions, no I/O, no clock.

A form definition (JSON, one version of a form) is sections nested two levels at most
(section -> subsection), each holding questions::

    {"sections": [{"title": "Greeting", "questions": [
        {"id": "greet", "text": "Greeted by name?", "type": "yes_no", "weight": 2},
        {"id": "tone", "text": "Tone", "type": "single", "weight": 3, "na_allowed": true,
         "options": [{"id": "good", "label": "Good", "score": 2},
                     {"id": "rude", "label": "Rude", "score": 0, "auto_fail": true}]}],
      "sections": [{"title": "Close", "questions": [...]}]}]}

Answer types: ``yes_no`` (true/false), ``scale`` (an integer min..max), ``number`` (min..max),
``single`` (an option id), ``multi`` (a list of option ids), ``text`` (unscored). Answers::

    {"greet": {"value": true, "comment": "..."}, "tone": {"na": true}}

Score (docs/qa.md): each answered scored question gives a fraction 0..1 of its maximum;
a section's and the total's percent is ``100 * sum(weight * fraction) / sum(weight)`` over
their answered questions (N/A, unanswered and text excluded from both sums). One chosen
``auto_fail`` option makes the total 0 (and its sections 0), with the reason.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, get_args

AnswerType = Literal["yes_no", "scale", "number", "single", "multi", "text"]
ANSWER_TYPES: tuple[str, ...] = get_args(AnswerType)
RANGED = ("scale", "number")
CHOICE = ("single", "multi")
MAX_DEPTH = 2  # section -> subsection
ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_TEXT = 4000  # characters of a text answer or comment


class EvaluationError(ValueError):
    """Invalid form or answers; `problems` lists each as ``path: reason``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    label: str
    score: float = 0.0
    auto_fail: bool = False


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    type: AnswerType
    weight: float = 0.0  # 0 for text
    na_allowed: bool = False
    min: float | None = None
    max: float | None = None
    options: tuple[Option, ...] = ()

    @property
    def scored(self) -> bool:
        return self.type != "text"


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    questions: tuple[Question, ...] = ()
    sections: tuple[Section, ...] = ()

    def all_questions(self) -> tuple[Question, ...]:
        return self.questions + tuple(q for s in self.sections for q in s.all_questions())


@dataclass(frozen=True, slots=True)
class Form:
    sections: tuple[Section, ...]

    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.all_questions())

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions() if q.id == qid), None)


# ------------------------------------------------------------------ parsing forms
def _num(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(d: Mapping[str, Any], key: str, path: str, problems: list[str]) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{path}.{key}: must be a non-empty string")
        return ""
    if len(value) > 500:
        problems.append(f"{path}.{key}: at most 500 characters")
    return value.strip()


def _options(raw: Any, path: str, problems: list[str]) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append(f"{path}.options: a list of at least 2 options")
        return ()
    options: list[Option] = []
    for i, o in enumerate(raw):
        p = f"{path}.options[{i}]"
        if not isinstance(o, dict):
            problems.append(f"{p}: must be an object")
            continue
        oid = o.get("id")
        if not isinstance(oid, str) or not ID.match(oid):
            problems.append(f"{p}.id: 1-64 letters, digits, '_', '.' or '-'")
        elif oid in {x.id for x in options}:
            problems.append(f"{p}.id: duplicate option id {oid!r}")
        score = o.get("score", 0)
        if not _num(score) or score < 0:
            problems.append(f"{p}.score: must be a number >= 0")
            score = 0
        auto_fail = o.get("auto_fail", False)
        if not isinstance(auto_fail, bool):
            problems.append(f"{p}.auto_fail: must be true or false")
        options.append(Option(str(oid), _text(o, "label", p, problems), float(score), auto_fail))
    if options and all(o.score == 0 for o in options):
        problems.append(f"{path}.options: at least one option must score > 0")
    return tuple(options)


def _question(raw: Any, path: str, seen: set[str], problems: list[str]) -> Question | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object")
        return None
    qid = raw.get("id")
    if not isinstance(qid, str) or not ID.match(qid):
        problems.append(f"{path}.id: 1-64 letters, digits, '_', '.' or '-'")
        qid = ""
    elif qid in seen:
        problems.append(f"{path}.id: duplicate question id {qid!r}")
    seen.add(qid)
    text = _text(raw, "text", path, problems)
    qtype = raw.get("type")
    if qtype not in ANSWER_TYPES:
        problems.append(f"{path}.type: one of {', '.join(ANSWER_TYPES)}")
        return None
    weight = raw.get("weight", 0 if qtype == "text" else None)
    if qtype == "text":
        if weight not in (0, None):
            problems.append(f"{path}.weight: a text question is not scored (leave it out)")
        weight = 0
    elif not _num(weight) or weight <= 0:
        problems.append(f"{path}.weight: must be > 0")
        weight = 1
    na = raw.get("na_allowed", False)
    if not isinstance(na, bool):
        problems.append(f"{path}.na_allowed: must be true or false")
    lo, hi = raw.get("min"), raw.get("max")
    if qtype in RANGED:
        integral = qtype == "scale"
        for key, v in (("min", lo), ("max", hi)):
            if not _num(v) or (integral and v != int(v)):
                problems.append(f"{path}.{key}: must be {'an integer' if integral else 'a number'}")
        if _num(lo) and _num(hi) and lo >= hi:
            problems.append(f"{path}.max: must be > min")
    elif lo is not None or hi is not None:
        problems.append(f"{path}.min: only scale and number questions have min/max")
    options = _options(raw.get("options"), path, problems) if qtype in CHOICE else ()
    if qtype not in CHOICE and raw.get("options") is not None:
        problems.append(f"{path}.options: only single and multi questions have options")
    return Question(
        qid, text, qtype, float(weight), na is True,
        float(lo) if _num(lo) else None, float(hi) if _num(hi) else None, options,
    )  # fmt: skip


def _section(raw: Any, path: str, depth: int, seen: set[str], problems: list[str]) -> Section:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object")
        return Section("")
    title = _text(raw, "title", path, problems)
    qs = raw.get("questions", [])
    subs = raw.get("sections", [])
    if not isinstance(qs, list):
        problems.append(f"{path}.questions: must be a list")
        qs = []
    if not isinstance(subs, list):
        problems.append(f"{path}.sections: must be a list")
        subs = []
    if subs and depth >= MAX_DEPTH:
        problems.append(f"{path}.sections: sections nest {MAX_DEPTH} levels at most")
        subs = []
    questions = [_question(q, f"{path}.questions[{i}]", seen, problems) for i, q in enumerate(qs)]
    children = [
        _section(s, f"{path}.sections[{i}]", depth + 1, seen, problems) for i, s in enumerate(subs)
    ]
    section = Section(title, tuple(q for q in questions if q), tuple(children))
    if not section.all_questions() and not problems:
        problems.append(f"{path}: a section needs at least one question")
    return section


def parse_form(definition: Any) -> Form:
    """The form of a definition, or EvaluationError naming every invalid field."""
    problems: list[str] = []
    if not isinstance(definition, dict):
        raise EvaluationError(["definition: must be an object"])
    raw = definition.get("sections")
    if not isinstance(raw, list) or not raw:
        raise EvaluationError(["sections: a non-empty list of sections"])
    seen: set[str] = set()
    sections = tuple(_section(s, f"sections[{i}]", 1, seen, problems) for i, s in enumerate(raw))
    if not problems and not any(q.scored for s in sections for q in s.all_questions()):
        problems.append("sections: the form needs at least one scored (non-text) question")
    if problems:
        raise EvaluationError(problems)
    return Form(sections)


# ------------------------------------------------------------------ answers
@dataclass(frozen=True, slots=True)
class Answer:
    value: Any = None  # None with na=False: not answered
    na: bool = False
    comment: str = ""

    @property
    def given(self) -> bool:
        return self.na or self.value is not None


def _value_problem(q: Question, v: Any) -> str | None:
    ids = {o.id for o in q.options}
    match q.type:
        case "yes_no":
            return None if isinstance(v, bool) else "must be true or false"
        case "scale" | "number":
            if not _num(v) or (q.type == "scale" and v != int(v)):
                return "must be an integer" if q.type == "scale" else "must be a number"
            assert q.min is not None and q.max is not None
            return None if q.min <= v <= q.max else f"must be between {q.min:g} and {q.max:g}"
        case "single":
            return None if v in ids else f"one of {', '.join(sorted(ids))}"
        case "multi":
            if not isinstance(v, list) or not all(isinstance(x, str) and x in ids for x in v):
                return f"a list of {', '.join(sorted(ids))}"
            return None if len(set(v)) == len(v) else "an option chosen twice"
        case _:
            ok = isinstance(v, str) and len(v) <= MAX_TEXT
            return None if ok else f"a string of at most {MAX_TEXT} characters"


def parse_answers(form: Form, raw: Any, *, complete: bool) -> dict[str, Answer]:
    """Answers checked against the form; `complete` (a submit): every scored question
    answered or N/A. EvaluationError names each bad one (``answers.<id>.value: ...``)."""
    if not isinstance(raw, dict):
        raise EvaluationError(["answers: must be an object of question id -> answer"])
    problems: list[str] = []
    answers: dict[str, Answer] = {}
    for qid, a in raw.items():
        q, path = form.question(qid), f"answers.{qid}"
        if q is None:
            problems.append(f"{path}: no such question in this form version")
            continue
        if not isinstance(a, dict):
            problems.append(f"{path}: must be an object with value, na, comment")
            continue
        na, comment, value = a.get("na", False), a.get("comment") or "", a.get("value")
        if not isinstance(na, bool):
            problems.append(f"{path}.na: must be true or false")
            continue
        if not isinstance(comment, str) or len(comment) > MAX_TEXT:
            problems.append(f"{path}.comment: a string of at most {MAX_TEXT} characters")
            continue
        if na and not q.na_allowed:
            problems.append(f"{path}.na: N/A is not allowed for this question")
            continue
        if na:
            value = None
        elif value is not None and (reason := _value_problem(q, value)) is not None:
            problems.append(f"{path}.value: {reason}")
            continue
        answers[qid] = Answer(value, na, comment)
    if complete:
        for q in form.questions():
            if q.scored and not answers.get(q.id, Answer()).given:
                problems.append(f"answers.{q.id}: an answer is required to submit")
    if problems:
        raise EvaluationError(problems)
    return answers


# ------------------------------------------------------------------ scoring
@dataclass(frozen=True, slots=True)
class SectionScore:
    title: str
    percent: float | None  # None: no answered scored question
    sections: tuple[SectionScore, ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    percent: float | None  # None: nothing scored yet (or everything N/A)
    sections: tuple[SectionScore, ...]
    auto_failed: bool = False
    reasons: tuple[str, ...] = ()  # why it auto-failed


def fraction(q: Question, a: Answer) -> float | None:
    """The answer as a fraction 0..1 of the question's maximum (None: not scored)."""
    if not q.scored or not a.given or a.na:
        return None
    v = a.value
    if q.type == "yes_no":
        return 1.0 if v else 0.0
    if q.type in RANGED:
        assert q.min is not None and q.max is not None
        return (float(v) - q.min) / (q.max - q.min)
    scores = {o.id: o.score for o in q.options}
    if q.type == "single":
        return scores[v] / max(scores.values())
    return min(1.0, sum(scores[x] for x in v) / sum(scores.values()))


def auto_fails(q: Question, a: Answer) -> list[str]:
    if q.type not in CHOICE or a.na or a.value is None:
        return []
    chosen = [a.value] if q.type == "single" else list(a.value)
    return [f"{q.id}: {o.label!r} fails the evaluation" for o in q.options
            if o.auto_fail and o.id in chosen]  # fmt: skip


def _percent(questions: Sequence[Question], answers: Mapping[str, Answer]) -> float | None:
    num = den = 0.0
    for q in questions:
        f = fraction(q, answers.get(q.id, Answer()))
        if f is not None:
            num, den = num + q.weight * f, den + q.weight
    return None if den == 0 else round(100.0 * num / den, 2)


def _section_score(s: Section, answers: Mapping[str, Answer]) -> SectionScore:
    failed = any(auto_fails(q, answers.get(q.id, Answer())) for q in s.all_questions())
    percent = _percent(s.all_questions(), answers)
    subs = tuple(_section_score(c, answers) for c in s.sections)
    return SectionScore(s.title, 0.0 if failed and percent is not None else percent, subs)


def score(form: Form, answers: Mapping[str, Answer]) -> Score:
    reasons = tuple(r for q in form.questions() for r in auto_fails(q, answers.get(q.id, Answer())))
    sections = tuple(_section_score(s, answers) for s in form.sections)
    percent = _percent(form.questions(), answers)
    if reasons:
        return Score(0.0, sections, True, reasons)
    return Score(percent, sections)


# ------------------------------------------------------------------ calibration
@dataclass(frozen=True, slots=True)
class QuestionAgreement:
    question: str
    answers: dict[str, Any]  # reviewer -> the answer ("N/A", a value, None: unanswered)
    modal: Any  # the most frequent answer (ties: the first given)
    agreement: float | None  # share of reviewers who answered and gave the modal answer


@dataclass(frozen=True, slots=True)
class Spread:
    count: int
    min: float | None
    max: float | None
    mean: float | None
    stdev: float | None  # population standard deviation


@dataclass(frozen=True, slots=True)
class Calibration:
    reviewers: tuple[str, ...]
    totals: dict[str, float | None]
    questions: tuple[QuestionAgreement, ...]
    spread: Spread
    agreement: float | None = field(default=None)  # mean of the questions' agreements


def _key(a: Answer) -> Any:
    if a.na:
        return "N/A"
    return tuple(sorted(a.value)) if isinstance(a.value, list) else a.value


def spread(totals: Sequence[float]) -> Spread:
    if not totals:
        return Spread(0, None, None, None, None)
    mean = sum(totals) / len(totals)
    var = sum((t - mean) ** 2 for t in totals) / len(totals)
    return Spread(len(totals), min(totals), max(totals), round(mean, 2), round(math.sqrt(var), 2))


def calibrate(form: Form, reviews: Mapping[str, Mapping[str, Answer]]) -> Calibration:
    """Several reviewers' answers (reviewer -> answers) on one version of a form."""
    reviewers = tuple(reviews)
    totals = {r: score(form, a).percent for r, a in reviews.items()}
    rows: list[QuestionAgreement] = []
    for q in form.questions():
        if not q.scored:
            continue
        given = {r: reviews[r][q.id] for r in reviewers if reviews[r].get(q.id, Answer()).given}
        keys = [_key(a) for a in given.values()]
        modal, agreement = None, None
        if keys:
            modal, count = Counter(keys).most_common(1)[0]
            agreement = round(count / len(keys), 4)
        shown = {r: (_key(given[r]) if r in given else None) for r in reviewers}
        shown = {r: list(v) if isinstance(v, tuple) else v for r, v in shown.items()}
        rows.append(QuestionAgreement(q.id, shown, list(modal) if isinstance(modal, tuple)
                                      else modal, agreement))  # fmt: skip
    rated = [r.agreement for r in rows if r.agreement is not None]
    overall = round(sum(rated) / len(rated), 4) if rated else None
    values = [t for t in totals.values() if t is not None]
    return Calibration(reviewers, totals, tuple(rows), spread(values), overall)
