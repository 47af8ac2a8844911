"""Routes for questionnaires and NPS surveys."""

import uuid

from fastapi import APIRouter, status

from content_svc.dependencies import IdempotentRoute, Lexicons
from content_svc.surveys import service as surveys
from content_svc.surveys.schemas import SurveyAnswerCreate, SurveyAnswerRead, SurveyCreate, SurveyRead, SurveyResults
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/content/surveys", tags=["surveys"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a survey and the activity item carrying it")
async def create_survey(
    body: SurveyCreate, session: DbSession, outbox: EventOutbox, lexicons: Lexicons, caller: CurrentIdentity
) -> SurveyRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return SurveyRead.model_validate(
        await surveys.create_survey(
            session=session, outbox=outbox, lexicon=lexicon, tenant_id=caller.tenant_id, survey_in=body
        )
    )


@router.get("/{survey_id}")
async def get_survey(survey_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> SurveyRead:
    return SurveyRead.model_validate(
        await surveys.get_survey(session=session, tenant_id=caller.tenant_id, survey_id=survey_id)
    )


@router.post("/{survey_id}/answers", status_code=status.HTTP_201_CREATED, summary="A member answers (once)")
async def answer(
    survey_id: uuid.UUID,
    body: SurveyAnswerCreate,
    session: DbSession,
    outbox: EventOutbox,
    lexicons: Lexicons,
    caller: CurrentIdentity,
) -> SurveyAnswerRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return SurveyAnswerRead.model_validate(
        await surveys.answer(
            session=session,
            outbox=outbox,
            lexicon=lexicon,
            tenant_id=caller.tenant_id,
            survey_id=survey_id,
            answer_in=body,
        )
    )


@router.get("/{survey_id}/results", summary="Respondents, NPS and the answers per question")
async def results(survey_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> SurveyResults:
    return await surveys.results_of(session=session, tenant_id=caller.tenant_id, survey_id=survey_id)
