"""Members' posts and operators' items through moderation and the review queue."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from content_svc.calendar import publishing
from content_svc.calendar.models import Placement
from content_svc.exceptions import AlreadyDecided, NotInCommunity
from content_svc.items import service as items
from content_svc.items.schemas import ContentUpdate, PostCreate
from content_svc.moderation import service as moderation
from content_svc.moderation.schemas import ReviewDecision

from .conftest import OUTBOX, TENANT, World

pytestmark = pytest.mark.unit


def post(member_id: uuid.UUID, community_id: uuid.UUID, body: str) -> PostCreate:
    return PostCreate(member_id=member_id, community_id=community_id, kind="show_order", body=body)


async def test_a_clean_post_is_published_at_once_and_told_to_member_svc(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id)
    item = await items.create_post(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        post=post(member_id, community_id, "宝宝很喜欢这款米粉"),
    )
    assert (item.status, item.source, item.author_member_id) == ("ready", "UGC", member_id)
    posted = [p for t, p in await world.events() if t == "content.posted"]
    assert [(p.content_id, p.source, p.author_member_id) for p in posted] == [(item.id, "UGC", member_id)]


async def test_only_members_of_the_community_may_post_there(world: World) -> None:
    community_id = await world.community()
    outsider = await world.member(await world.community("别的群"))
    with pytest.raises(NotInCommunity):
        await items.create_post(
            session=world.session,
            outbox=OUTBOX,
            lexicon=world.lexicon,
            tenant_id=TENANT,
            post=post(outsider, community_id, "你好"),
        )


async def test_personal_data_is_masked_and_the_post_still_goes_out(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id)
    item = await items.create_post(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        post=post(member_id, community_id, "有问题打我电话13812345678"),
    )
    assert (item.status, item.moderation_outcome) == ("ready", "mask")
    assert "13812345678" not in item.body and "138****5678" in item.body


async def test_a_repeated_message_is_held_and_publishes_only_when_approved(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id)
    first = await items.create_post(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        post=post(member_id, community_id, "团购价真香"),
    )
    again = await items.create_post(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        post=post(member_id, community_id, "团购价 真香"),
    )
    assert (first.status, again.status) == ("ready", "held")
    [case], _ = await moderation.review_queue(
        session=world.session, tenant_id=TENANT, status="pending", limit=10, cursor=None
    )
    assert case.content_id == again.id and "repeated" in " ".join(case.reasons)
    assert await publishing.publish_due(session=world.session, outbox=OUTBOX, now=datetime.now(UTC)) == 0  # held: waits

    await moderation.decide(
        session=world.session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        case_id=case.id,
        decision=ReviewDecision(decision="approve"),
        reviewer="reviewer-1",
    )
    assert await publishing.publish_due(session=world.session, outbox=OUTBOX, now=datetime.now(UTC)) == 1
    with pytest.raises(AlreadyDecided):
        await moderation.decide(
            session=world.session,
            outbox=OUTBOX,
            tenant_id=TENANT,
            case_id=case.id,
            decision=ReviewDecision(decision="reject"),
            reviewer="reviewer-2",
        )
    moderated = [(p.outcome, p.reviewed_by) for t, p in await world.events() if t == "content.moderated"]
    assert moderated == [("pass", None), ("hold", None), ("pass", "reviewer-1")]


async def test_a_rejected_item_never_goes_out(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id)
    item = await items.create_post(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        post=post(member_id, community_id, "加微信 abc12345 领优惠"),
    )
    assert item.status == "held"
    [case], _ = await moderation.review_queue(
        session=world.session, tenant_id=TENANT, status="pending", limit=10, cursor=None
    )
    await moderation.decide(
        session=world.session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        case_id=case.id,
        decision=ReviewDecision(decision="reject", note="广告"),
        reviewer="r",
    )
    assert item.status == "rejected"
    placements = (await world.session.scalars(select(Placement).where(Placement.content_id == item.id))).all()
    assert [p.status for p in placements] == ["cancelled"]


async def test_advertising_law_terms_hold_brand_content_and_an_edit_supersedes_the_case(world: World) -> None:
    item = await world.item("promotion", title="全网最低价", body="限时特惠")
    assert item.status == "held"
    fixed = await items.update_item(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        item_id=item.id,
        changes=ContentUpdate(title="限时特惠价"),
    )
    assert fixed.status == "ready"
    superseded, _ = await moderation.review_queue(
        session=world.session, tenant_id=TENANT, status="superseded", limit=10, cursor=None
    )
    assert [c.content_id for c in superseded] == [item.id]
