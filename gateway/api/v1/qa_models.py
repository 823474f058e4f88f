"""Request and response models of the QA API (gateway/api/v1/qa.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from gateway.store.evaluations import Acknowledgement, EvaluationRecord, FormRecord, RemarkRecord
from recordings.evaluation import Calibration, Score, SectionScore

FormName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w .-]+$")]
Definition = Annotated[
    dict[str, Any],
    Field(description="sections (two levels at most) of questions: see docs/qa.md"),
]
Answers = Annotated[
    dict[str, Any],
    Field(description='question id -> {"value": ..., "na": bool, "comment": str}'),
]


class FormIn(BaseModel):
    name: FormName
    definition: Definition


class FormChange(BaseModel):
    definition: Definition


class FormOut(BaseModel):
    name: str
    version: int
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
    retired: bool = Field(description="retired forms take no new evaluation")

    @classmethod
    def of(cls, f: FormRecord) -> FormOut:
        return cls(name=f.name, version=f.version, definition=f.definition,
                   created_by=f.created_by, created_at=f.created_at,
                   retired=f.retired_at is not None)  # fmt: skip


class EvaluationIn(BaseModel):
    call_id: str = Field(max_length=64)
    form: FormName = Field(description="the form's name: its current version is used")
    answers: Answers = {}
    submit: bool = Field(False, description="submit at once (every scored question answered)")


class EvaluationChange(BaseModel):
    answers: Answers


class SubmitIn(BaseModel):
    answers: Answers | None = Field(None, description="null: the draft's answers as saved")


class AcknowledgementIn(BaseModel):
    status: Literal["acknowledged", "disputed"]
    comment: str | None = Field(None, max_length=2000, description="required to dispute")


class SectionScoreOut(BaseModel):
    title: str
    percent: float | None
    sections: list[SectionScoreOut] = []

    @classmethod
    def of(cls, s: SectionScore) -> SectionScoreOut:
        return cls(title=s.title, percent=s.percent, sections=[cls.of(c) for c in s.sections])


class FormRef(BaseModel):
    name: str
    version: int


class EvaluationOut(BaseModel):
    id: int
    call_id: str
    form: FormRef
    reviewer: str
    agent: str | None = Field(description="the agent who answered the call")
    state: Literal["draft", "submitted"]
    answers: dict[str, Any]
    score: float | None = Field(description="percent 0..100 (null: nothing scored yet)")
    auto_failed: bool
    reasons: list[str] = Field(description="why it auto-failed")
    sections: list[SectionScoreOut]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    acknowledgement: Acknowledgement
    agent_comment: str | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, e: EvaluationRecord, s: Score) -> EvaluationOut:
        return cls(
            id=e.id, call_id=str(e.call_id), form=FormRef(name=e.form_name, version=e.form_version),
            reviewer=e.reviewer, agent=e.agent, state=e.state, answers=e.answers, score=e.score,
            auto_failed=e.auto_failed, reasons=list(s.reasons),
            sections=[SectionScoreOut.of(x) for x in s.sections], created_at=e.created_at,
            updated_at=e.updated_at, submitted_at=e.submitted_at,
            acknowledgement=e.acknowledgement, agent_comment=e.agent_comment,
            acknowledged_at=e.acknowledged_at,
        )  # fmt: skip


class RemarkIn(BaseModel):
    offset_seconds: float = Field(ge=0, le=86400, description="seconds into the recording")
    text: str = Field(min_length=1, max_length=2000)
    evaluation_id: int | None = Field(None, ge=1, le=2**31 - 1)


class RemarkOut(BaseModel):
    id: int
    call_id: str
    evaluation_id: int | None
    author: str
    offset_seconds: float
    text: str
    created_at: datetime

    @classmethod
    def of(cls, r: RemarkRecord) -> RemarkOut:
        return cls(id=r.id, call_id=str(r.call_id), evaluation_id=r.evaluation_id,
                   author=r.author, offset_seconds=r.offset_seconds, text=r.text,
                   created_at=r.created_at)  # fmt: skip


class QuestionAgreementOut(BaseModel):
    question: str
    text: str
    answers: dict[str, Any] = Field(description='reviewer -> answer ("N/A"; null: none)')
    modal: Any = Field(description="the most frequent answer")
    agreement: float | None = Field(description="share of reviewers giving the modal answer")


class SpreadOut(BaseModel):
    count: int
    min: float | None
    max: float | None
    mean: float | None
    stdev: float | None = Field(description="population standard deviation")


class CalibrationOut(BaseModel):
    call_id: str
    form: FormRef | None = Field(description="null: no submitted evaluation of this call")
    reviewers: list[str]
    evaluations: dict[str, int] = Field(description="reviewer -> evaluation id")
    totals: dict[str, float | None]
    questions: list[QuestionAgreementOut]
    spread: SpreadOut
    agreement: float | None = Field(description="mean of the questions' agreements")
    other_versions: list[FormRef] = Field(description="versions other reviewers used")

    @classmethod
    def of(
        cls, call_id: str, form: FormRef | None, texts: dict[str, str], c: Calibration,
        ids: dict[str, int], others: list[FormRef],
    ) -> CalibrationOut:  # fmt: skip
        s = c.spread
        return cls(
            call_id=call_id, form=form, reviewers=list(c.reviewers), evaluations=ids,
            totals=c.totals,
            questions=[QuestionAgreementOut(question=q.question, text=texts.get(q.question, ""),
                                            answers=q.answers, modal=q.modal,
                                            agreement=q.agreement) for q in c.questions],
            spread=SpreadOut(count=s.count, min=s.min, max=s.max, mean=s.mean, stdev=s.stdev),
            agreement=c.agreement, other_versions=others,
        )  # fmt: skip
