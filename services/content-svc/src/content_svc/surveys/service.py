"""Questionnaires and NPS surveys, carried to members as interactive content; answers become
`survey.answered`, free text screened like any member text."""

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.db import ERASED_MEMBERS
from content_svc.exceptions import AlreadyAnswered, ContentNotReady, InvalidAnswers, SurveyClosed, SurveyNotFound
from content_svc.items import service as items
from content_svc.items.schemas import ContentCreate
from content_svc.moderation import Lexicon, moderate
from content_svc.surveys.models import Survey, SurveyAnswer
from content_svc.surveys.schemas import (
    Question,
    QuestionResult,
    SurveyAnswerCreate,
    SurveyCreate,
    SurveyResults,
)
from qunyun_shared.erasure import erased_among, hold_against_erasure
from qunyun_shared.events.content import SurveyAnsweredV1
from qunyun_shared.outbox import Outbox

MAX_TEXT_ANSWER = 2_000
_SHOWN_TEXTS = 50


async def create_survey(
    *, session: AsyncSession, outbox: Outbox, lexicon: Lexicon, tenant_id: str, survey_in: SurveyCreate
) -> Survey:
    """The survey and the `activity` item that carries it to communities (scheduled like any other)."""
    item = await items.create_item(
        session=session,
        outbox=outbox,
        lexicon=lexicon,
        tenant_id=tenant_id,
        item_in=ContentCreate(
            content_type="activity",
            title=survey_in.title,
            body=survey_in.body or "\n".join(q.text for q in survey_in.questions),
            tags=survey_in.tags,
            target=survey_in.target,
        ),
    )
    survey = Survey(
        tenant_id=tenant_id,
        content_id=item.id,
        questions=[q.model_dump() for q in survey_in.questions],
        closes_at=survey_in.closes_at,
        created_at=datetime.now(UTC),
    )
    session.add(survey)
    await session.flush()
    return survey


async def get_survey(*, session: AsyncSession, tenant_id: str, survey_id: uuid.UUID) -> Survey:
    """The tenant's survey, or SurveyNotFound."""
    survey = await session.get(Survey, survey_id)
    if survey is None or survey.tenant_id != tenant_id:
        raise SurveyNotFound(f"No survey {survey_id}.")
    return survey


async def answer(
    *,
    session: AsyncSession,
    outbox: Outbox,
    lexicon: Lexicon,
    tenant_id: str,
    survey_id: uuid.UUID,
    answer_in: SurveyAnswerCreate,
) -> SurveyAnswer:
    """Records one member's answers, once; every answer is checked against its question first."""
    survey = await get_survey(session=session, tenant_id=tenant_id, survey_id=survey_id)
    now = datetime.now(UTC)
    if survey.closes_at is not None and survey.closes_at <= now:
        raise SurveyClosed(f"Survey {survey_id} closed at {survey.closes_at.isoformat()}.")
    carrier = await items.get_item(session=session, tenant_id=tenant_id, item_id=survey.content_id)
    if carrier.status != "ready":
        raise ContentNotReady(f"Survey {survey_id} is {carrier.status}.")
    await hold_against_erasure(session, [answer_in.member_id])
    if await erased_among(session, ERASED_MEMBERS, [answer_in.member_id]):
        raise InvalidAnswers(f"Member {answer_in.member_id} was erased.", field="member_id")
    questions = [Question.model_validate(q) for q in survey.questions]
    answers = checked_answers(questions, answer_in.answers, lexicon)
    nps_question = next((q.id for q in questions if q.kind == "nps"), None)
    record = SurveyAnswer(
        tenant_id=tenant_id,
        survey_id=survey.id,
        member_id=answer_in.member_id,
        community_id=answer_in.community_id,
        nps=answers.get(nps_question) if nps_question else None,
        answers=answers,
        answered_at=now,
    )
    already = AlreadyAnswered(f"Member {answer_in.member_id} has answered survey {survey_id} already.")
    if await session.scalar(
        select(SurveyAnswer.id).where(SurveyAnswer.survey_id == survey.id, SurveyAnswer.member_id == record.member_id)
    ):
        raise already
    session.add(record)
    try:
        await session.flush()
    except IntegrityError:
        # Two answers at once: the request's transaction is rolled back whole, nothing is kept.
        raise already from None
    answered = SurveyAnsweredV1(
        survey_id=survey.id,
        member_id=record.member_id,
        community_id=record.community_id,
        nps=record.nps,
        answers=answers,
    )
    await outbox.add(session, tenant_id=tenant_id, payloads=[answered])
    return record


def checked_answers(questions: list[Question], given: dict[str, Any], lexicon: Lexicon) -> dict[str, Any]:
    """The answers, validated question by question (all problems reported at once); free text comes back
    as moderation left it, and text moderation holds is withheld."""
    known = {q.id: q for q in questions}
    errors = [{"field": f"answers.{qid}", "message": "no such question"} for qid in given if qid not in known]
    checked: dict[str, Any] = {}
    for question in questions:
        value = given.get(question.id)
        if value is None:
            if question.required:
                errors.append({"field": f"answers.{question.id}", "message": "an answer is required"})
            continue
        problem = _problem_with(question, value)
        if problem:
            errors.append({"field": f"answers.{question.id}", "message": problem})
        elif question.kind == "text":
            verdict = moderate(value, lexicon, ugc=True)
            checked[question.id] = "" if verdict.outcome == "hold" else verdict.text
        else:
            checked[question.id] = value
    if errors:
        raise InvalidAnswers("Some answers do not fit their questions.", errors=errors)
    return checked


def _problem_with(question: Question, value: Any) -> str | None:
    match question.kind:
        case "nps":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
                return "an NPS score is a whole number from 0 to 10"
        case "single_choice":
            if value not in question.options:
                return f"must be one of {question.options}"
        case "multiple_choice":
            if not isinstance(value, list) or not value or any(v not in question.options for v in value):
                return f"must be a non-empty list of options from {question.options}"
            if len(set(value)) != len(value):
                return "an option is chosen twice"
        case "text":
            if not isinstance(value, str) or not value.strip():
                return "must be non-empty text"
            if len(value) > MAX_TEXT_ANSWER:
                return f"at most {MAX_TEXT_ANSWER} characters"
    return None


async def results_of(*, session: AsyncSession, tenant_id: str, survey_id: uuid.UUID) -> SurveyResults:
    """Respondents, NPS and the answers per question."""
    survey = await get_survey(session=session, tenant_id=tenant_id, survey_id=survey_id)
    answers = list(
        (
            await session.scalars(
                select(SurveyAnswer)
                .where(SurveyAnswer.survey_id == survey.id)
                .order_by(SurveyAnswer.answered_at.desc())
            )
        ).all()
    )
    scores = [a.nps for a in answers if a.nps is not None]
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    questions = []
    for q in (Question.model_validate(q) for q in survey.questions):
        given = [a.answers[q.id] for a in answers if q.id in a.answers]
        counts: Counter[str] = Counter()
        texts: list[str] = []
        for value in given:
            if q.kind == "text":
                if value and len(texts) < _SHOWN_TEXTS:
                    texts.append(value)
            else:
                counts.update(str(v) for v in (value if isinstance(value, list) else [value]))
        questions.append(QuestionResult(id=q.id, kind=q.kind, answered=len(given), counts=dict(counts), texts=texts))
    return SurveyResults(
        survey_id=survey.id,
        respondents=len(answers),
        nps=round(100 * (promoters - detractors) / len(scores), 1) if scores else None,
        promoters=promoters,
        passives=len(scores) - promoters - detractors,
        detractors=detractors,
        questions=questions,
    )
