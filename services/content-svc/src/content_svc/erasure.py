"""Erasure (PIPL): what content-svc holds about a member is deleted or made anonymous, and the member
is remembered only as erased so a replayed event cannot bring them back."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience.models import AudienceMember, MemberSegment, MemberTag
from content_svc.calendar.models import Placement
from content_svc.db import ERASED_MEMBERS, IDEMPOTENCY_KEYS
from content_svc.engagement.models import AttributedOrder, Engagement, MemberAffinity
from content_svc.items.models import ContentItem
from content_svc.moderation.models import ReviewCase
from content_svc.surveys.models import Survey, SurveyAnswer
from qunyun_shared import idempotency
from qunyun_shared.erasure import remember_erased


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Deletes the member's targeting profile and posts' text, and replaces their id in engagement, orders
    and survey answers by a random one nobody keeps (the merchant's ids of their imported posts and actions
    are dropped): item statistics stay true, nothing leads back."""
    await remember_erased(session, ERASED_MEMBERS, erased)
    now = datetime.now(UTC)
    for tenant_id, member_id in erased:
        for table in (AudienceMember, MemberTag, MemberSegment, MemberAffinity):
            await session.execute(delete(table).where(table.tenant_id == tenant_id, table.member_id == member_id))
        stranger = uuid.uuid4()
        # The merchant's ids for their imported actions go too: the merchant's own records would lead back.
        await session.execute(
            update(Engagement)
            .where(Engagement.tenant_id == tenant_id, Engagement.member_id == member_id)
            .values(member_id=stranger, merchant_action_id=None)
        )
        await session.execute(
            update(AttributedOrder)
            .where(AttributedOrder.tenant_id == tenant_id, AttributedOrder.member_id == member_id)
            .values(member_id=stranger)
        )
        await _anonymise_answers(session, tenant_id, member_id, stranger)
        await idempotency.forget_answers_naming(session, IDEMPOTENCY_KEYS, tenant_id=tenant_id, member_id=member_id)
        posts = select(ContentItem.id).where(
            ContentItem.tenant_id == tenant_id, ContentItem.author_member_id == member_id
        )
        # Their posts locked before their placements and cases, the order a reviewer's decision takes them in:
        # taken the other way round, an erasure and a decision on one of the posts at once deadlock.
        await session.execute(posts.order_by(ContentItem.id).with_for_update())
        await session.execute(
            update(Placement)
            .where(Placement.content_id.in_(posts), Placement.status == "scheduled")
            .values(status="cancelled")
        )
        await session.execute(
            update(ReviewCase)
            .where(ReviewCase.content_id.in_(posts), ReviewCase.status == "pending")
            .values(status="superseded", decided_at=now)
        )
        await session.execute(
            update(ContentItem)
            .where(ContentItem.tenant_id == tenant_id, ContentItem.author_member_id == member_id)
            .values(
                title="",
                body="",
                media=[],
                author_member_id=None,
                fingerprint=None,
                merchant_content_id=None,
                history_digest=None,
                status="erased",
                updated_at=now,
            )
        )


async def _anonymise_answers(session: AsyncSession, tenant_id: str, member_id: uuid.UUID, stranger: uuid.UUID) -> None:
    """Scores and choices stay in the results; free text, which may say who wrote it, goes."""
    rows = await session.execute(
        select(SurveyAnswer, Survey.questions)
        .join(Survey, Survey.id == SurveyAnswer.survey_id)
        .where(SurveyAnswer.tenant_id == tenant_id, SurveyAnswer.member_id == member_id)
    )
    for answer, questions in rows:
        free_text = {q["id"] for q in questions if q["kind"] == "text"}
        answer.member_id, answer.community_id = stranger, None
        answer.answers = {q: "" if q in free_text else v for q, v in answer.answers.items()}
