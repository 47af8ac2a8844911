"""Routes for the tenant's lexicon, trying text against it, and the review queue."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from content_svc.dependencies import IdempotentRoute, Lexicons
from content_svc.moderation import moderate
from content_svc.moderation import service as moderation
from content_svc.moderation.schemas import (
    FindingRead,
    Lexicon,
    ModerationCheck,
    ReviewCaseRead,
    ReviewDecision,
    ReviewPage,
    VerdictRead,
)
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.idempotent_routes import read_only
from qunyun_shared.problems import NotFound

router = APIRouter(prefix="/content", tags=["moderation"], route_class=IdempotentRoute)


@router.get("/lexicon", summary="The tenant's own terms (the built-in advertising-law terms apply besides)")
async def get_lexicon(session: DbSession, caller: CurrentIdentity) -> Lexicon:
    return Lexicon(terms=await moderation.terms_of(session=session, tenant_id=caller.tenant_id))


@router.put("/lexicon", summary="Replace the tenant's terms")
async def replace_lexicon(body: Lexicon, session: DbSession, caller: CurrentIdentity) -> Lexicon:
    await moderation.replace_terms(session=session, tenant_id=caller.tenant_id, entries=body.terms)
    return Lexicon(terms=await moderation.terms_of(session=session, tenant_id=caller.tenant_id))


@router.post("/lexicon/terms", summary="Add terms, or change ones already there")
async def add_terms(body: Lexicon, session: DbSession, caller: CurrentIdentity) -> Lexicon:
    await moderation.add_terms(session=session, tenant_id=caller.tenant_id, entries=body.terms)
    return Lexicon(terms=await moderation.terms_of(session=session, tenant_id=caller.tenant_id))


@router.delete("/lexicon/terms/{term}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a term")
async def remove_term(term: str, session: DbSession, caller: CurrentIdentity) -> None:
    if not await moderation.remove_term(session=session, tenant_id=caller.tenant_id, text=term):
        raise NotFound(f"The lexicon has no term {term!r}.")


@router.post("/moderation/check", summary="What moderation would do with a text; nothing is stored")
@read_only
async def check(body: ModerationCheck, session: DbSession, lexicons: Lexicons, caller: CurrentIdentity) -> VerdictRead:
    verdict = moderate(body.text, await lexicons.lexicon_for(session, caller.tenant_id), ugc=body.ugc)
    return VerdictRead(
        outcome=verdict.outcome,
        text=verdict.text,
        reasons=verdict.reasons,
        findings=[
            FindingRead(kind=f.kind, start=f.start, end=f.end, action=f.action, reason=f.reason)
            for f in verdict.findings
        ],
    )


@router.get("/reviews", summary="Held items by review status, oldest first")
async def review_queue(
    session: DbSession,
    caller: CurrentIdentity,
    review_status: str = Query(default="pending", alias="status", pattern="^(pending|approved|rejected|superseded)$"),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> ReviewPage:
    cases, next_cursor = await moderation.review_queue(
        session=session, tenant_id=caller.tenant_id, status=review_status, limit=limit, cursor=cursor
    )
    return ReviewPage(cases=[ReviewCaseRead.model_validate(c) for c in cases], next_cursor=next_cursor)


@router.post("/reviews/{case_id}/decision", summary="Approve (it publishes when due) or reject a held item")
async def decide(
    case_id: uuid.UUID,
    body: ReviewDecision,
    request: Request,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> ReviewCaseRead:
    case = await moderation.decide(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        case_id=case_id,
        decision=body,
        reviewer=caller.principal,
    )
    request.app.state.publisher_wakeup.set()
    return ReviewCaseRead.model_validate(case)
