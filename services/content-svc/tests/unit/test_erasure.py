"""Erasure: nothing content-svc keeps leads back to the member, and item statistics stay true."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from content_svc.engagement import service as engagement
from content_svc.items import service as items
from content_svc.items.models import ContentItem
from content_svc.items.schemas import PostCreate
from content_svc.models import Base
from content_svc.surveys import service as surveys
from content_svc.surveys.schemas import Question, SurveyAnswerCreate, SurveyCreate
from qunyun_shared.events.member import MemberErasedV1

from .conftest import OUTBOX, TENANT, World

pytestmark = pytest.mark.unit


async def test_erasure_anonymises_posts_engagement_and_answers(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id, tags=("宝妈",))
    post = await items.create_post(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        post=PostCreate(member_id=member_id, community_id=community_id, kind="show_order", body="我是小雨妈妈, 晒单"),
    )
    now = datetime.now(UTC)
    row = {"content_id": str(post.id), "member_id": str(member_id), "action": "view", "occurred_at": now.isoformat()}
    await engagement.ingest(
        session=world.session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        rows=[row, {**row, "action": "like"}],
        now=now + timedelta(seconds=1),
    )
    survey = await surveys.create_survey(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        survey_in=SurveyCreate(
            title="满意度",
            questions=[Question(id="nps", text="推荐意愿", kind="nps"), Question(id="why", text="原因", kind="text")],
        ),
    )
    await surveys.answer(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        survey_id=survey.id,
        answer_in=SurveyAnswerCreate(member_id=member_id, answers={"nps": 9, "why": "小雨妈妈觉得好"}),
    )
    before = await engagement.stats_of(session=world.session, tenant_id=TENANT, content_id=post.id)

    await world.deliver("member-svc", MemberErasedV1(member_id=member_id))

    assert await _rows_mentioning(world, str(member_id)) == []
    assert await _rows_mentioning(world, "小雨妈妈") == []
    erased_post = await world.session.get(ContentItem, post.id)
    assert erased_post is not None and erased_post.status == "erased"
    after = await engagement.stats_of(session=world.session, tenant_id=TENANT, content_id=post.id)
    assert (after.reach, after.readers, after.likes) == (before.reach, before.readers, before.likes)
    assert (await surveys.results_of(session=world.session, tenant_id=TENANT, survey_id=survey.id)).nps == 100.0


async def _rows_mentioning(world: World, value: str) -> list[str]:
    """Tables with a row holding `value` anywhere, the erased-members record aside."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in {"erased_members", "outbox", "inbox"}:
            continue
        for row in (await world.session.execute(select(table))).all():
            if any(value in str(cell) for cell in row):
                found.append(table.name)
                break
    return found
