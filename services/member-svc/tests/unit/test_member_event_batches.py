"""A run of the events member-svc takes one after the other (joins, engagement, posts, check-ins) handled at
once, as the consumer hands it over, does to points, levels, activity, lifecycle and tags what the same events
handled one at a time do; what does nothing costs no statement, and a run of joins a few statements."""

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.handlers import HANDLERS
from member_svc.members.models import Member, MemberActivity
from member_svc.models import Base
from member_svc.points import policy
from member_svc.points.models import PointsAccount, PointsEntry
from member_svc.points.policy import DEFAULT_POLICY
from member_svc.tags import service as tags
from member_svc.tags.schemas import TagRuleBody
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.analytics import MemberSegmentChangedV1
from qunyun_shared.events.campaign import CheckinRecordedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentPostedV1
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database, statements

pytestmark = pytest.mark.unit

TENANT, OTHER = "tenant-a", "tenant-b"
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
IDS = [uuid.UUID(int=n) for n in range(1, 9)]
INVITER, INVITEE, FRIEND, POSTER, OLD_INVITER, OLD_INVITEE, ERASED, STRANGER = IDS
OTHERS = [uuid.UUID(int=n) for n in range(101, 104)]
HOST, GUEST, SECOND_GUEST = OTHERS
COMMUNITY, ANOTHER, ITEM = uuid.UUID(int=1001), uuid.UUID(int=1002), uuid.UUID(int=1003)
INVITED_BY = {INVITEE: INVITER, FRIEND: INVITER, OLD_INVITEE: OLD_INVITER, GUEST: HOST, SECOND_GUEST: HOST}


async def world(session: AsyncSession) -> None:
    """The same members in each database: inviters and invitees, one erased; rules tagging the loyal and those
    with 105 lifetime points or more; and another tenant whose history earns, with one referral a day at most."""
    for tenant_id, member_ids in ((TENANT, IDS[:-1]), (OTHER, OTHERS)):
        for member_id in member_ids:
            member = Member(
                id=member_id, tenant_id=tenant_id, nickname="会员", persona_tags=[], active_hours=[], created_at=NOW
            )
            member.invited_by = INVITED_BY.get(member_id)
            member.erased_at = NOW if member_id == ERASED else None
            session.add(member)
        await session.flush()
    rules = (
        ("忠实", ("lifecycle", "eq", "loyal")),
        ("有积分", ("points_lifetime", "gte", 105)),
        ("高价值", ("segment", "eq", "high_value")),
    )
    for tag, condition in rules:
        field, op, value = condition
        rule = TagRuleBody.model_validate({"tag": tag, "conditions": [{"field": field, "op": op, "value": value}]})
        await tags.create_rule(session=session, outbox=OUTBOX, tenant_id=TENANT, rule_in=rule)
    rules = DEFAULT_POLICY.model_dump()
    rules["earn_rules"]["referral"]["daily_limit"] = 1
    rules["history_earns_points"] = True
    await policy.set_rules(session=session, tenant_id=OTHER, rules=DEFAULT_POLICY.model_validate(rules))
    await session.flush()


def events() -> list[Envelope]:
    def joined(member_id: uuid.UUID, minutes: int, community_id: uuid.UUID = COMMUNITY) -> MemberJoinedV1:
        at = NOW + timedelta(minutes=minutes)
        return MemberJoinedV1(member_id=member_id, community_id=community_id, channel="qr", joined_at=at)

    def engaged(member_id: uuid.UUID, action: str, minutes: int) -> ContentEngagedV1:
        at = NOW + timedelta(minutes=minutes)
        return ContentEngagedV1(content_id=ITEM, member_id=member_id, action=action, occurred_at=at)  # type: ignore[arg-type]

    def posted(author: uuid.UUID | None, source: str) -> ContentPostedV1:
        return ContentPostedV1(
            content_id=uuid.uuid4(),
            community_id=COMMUNITY,
            content_type="knowledge",
            source=source,  # type: ignore[arg-type]
            author_member_id=author,
            posted_at=NOW,
        )

    def segment(member_id: uuid.UUID, to: str) -> MemberSegmentChangedV1:
        return MemberSegmentChangedV1(member_id=member_id, to_segment=to)  # type: ignore[arg-type]

    checkin = CheckinRecordedV1(campaign_id=uuid.uuid4(), member_id=POSTER, day=date(2026, 11, 23), streak=1)
    payloads: list[tuple[str, EventPayload, bool]] = [
        (TENANT, joined(INVITEE, 1), False),
        (TENANT, joined(INVITEE, 2, ANOTHER), False),  # a second community: no points again, the inviter judged again
        (TENANT, joined(FRIEND, 3), False),  # the inviter's second 50 referral points come before their own join's 10
        (TENANT, joined(INVITER, 4), False),  # so "有积分" (105) is judged at 100 and not after, as one at a time
        (TENANT, joined(ERASED, 5), False),
        (TENANT, joined(STRANGER, 5), False),  # never registered here
        (TENANT, joined(HOST, 5), False),  # another tenant's member
        (TENANT, joined(OLD_INVITER, -500), True),  # imported: no points by default, still loyal by the referral
        (TENANT, joined(OLD_INVITEE, -400), True),
        *((TENANT, engaged(IDS[n % 4], ("view", "like", "share", "comment")[n % 4], 10 + n), False) for n in range(30)),
        *((TENANT, engaged(OLD_INVITEE, "comment", -300 + n), True) for n in range(3)),
        (TENANT, posted(POSTER, "UGC"), False),
        (TENANT, posted(None, "PGC"), False),
        (TENANT, checkin, False),
        (TENANT, joined(POSTER, 60), False),
        (TENANT, segment(FRIEND, "potential"), True),
        (TENANT, segment(POSTER, "high_value"), True),
        (TENANT, segment(FRIEND, "high_value"), True),  # changes twice in the run: each change tagged
        (TENANT, segment(ERASED, "ordinary"), True),
        (TENANT, segment(HOST, "ordinary"), True),  # another tenant's member
        (TENANT, segment(POSTER, "high_value"), False),  # the same again
        (OTHER, segment(GUEST, "churn_risk"), False),
        (OTHER, joined(HOST, -900), True),  # history earns here, but one referral a day
        (OTHER, joined(GUEST, -800), True),
        (OTHER, joined(SECOND_GUEST, -700), True),
    ]
    return [new_event(source="test", tenant_id=t, payload=p, imported=i) for t, p, i in payloads]


async def outcome(session: AsyncSession) -> dict[str, Any]:
    ledger = await session.execute(
        select(PointsEntry.member_id, PointsEntry.reason, PointsEntry.delta, PointsEntry.source, PointsEntry.at)
    )
    accounts = await session.execute(
        select(PointsAccount.member_id, PointsAccount.balance, PointsAccount.lifetime, PointsAccount.updated_at)
    )
    members = await session.execute(select(Member.id, Member.level, Member.lifecycle))
    activity = await session.execute(
        select(MemberActivity.member_id, MemberActivity.participations, MemberActivity.last_active_at)
    )
    rows = (await session.execute(select(MESSAGING.outbox))).all()
    staged = [from_kafka(row.value, [(n, v.encode()) for n, v in row.headers]) for row in rows]
    return {
        "ledger": sorted(ledger.all(), key=str),
        "accounts": sorted(accounts.all(), key=str),
        "members": sorted(members.all(), key=str),
        "activity": sorted(activity.all(), key=str),
        "tags": await tags.tag_names_of(session=session, member_ids=IDS + OTHERS),
        "events": Counter((e.type, e.imported, getattr(e.data, "member_id", None)) for e in staged),
        "balances": {(e.data.member_id, e.data.balance) for e in staged if e.type == "member.points_changed"},
    }


async def test_a_run_of_member_events_at_once_does_what_one_at_a_time_does() -> None:
    run = events()
    async with in_memory_database(Base.metadata) as one_by_one, in_memory_database(Base.metadata) as together:
        async with AsyncSession(one_by_one) as session, session.begin():
            await world(session)
            for envelope in run:
                await HANDLERS[envelope.type](session, OUTBOX, [envelope])
            expected = await outcome(session)
        async with AsyncSession(together) as session, session.begin():
            await world(session)
            assert {HANDLERS[envelope.type] for envelope in run} == {HANDLERS["member.joined"]}
            await HANDLERS["member.joined"](session, OUTBOX, run)
            assert await outcome(session) == expected

    earned = Counter((member_id, reason) for member_id, reason, *_ in expected["ledger"])
    assert earned == {
        (INVITEE, "join"): 1,
        (INVITER, "referral"): 2,  # for the invitee and the friend, once each
        (INVITER, "join"): 1,
        (FRIEND, "join"): 1,
        (POSTER, "comment"): 7,  # the comments among the 30 live actions, not the imported ones
        (POSTER, "post"): 1,
        (POSTER, "checkin"): 1,
        (POSTER, "join"): 1,
        (HOST, "join"): 1,
        (GUEST, "join"): 1,
        (SECOND_GUEST, "join"): 1,
        (HOST, "referral"): 1,  # the second referral of the day is past the limit
    }
    lifecycle = {member_id: stage for member_id, _, stage in expected["members"]}
    assert (lifecycle[INVITER], lifecycle[OLD_INVITER], lifecycle[HOST]) == ("loyal", "loyal", "loyal")
    assert [row[1:3] for row in expected["accounts"] if row[0] == INVITER] == [(110, 110)]
    assert expected["tags"][INVITER] == ["忠实"]  # judged at 100 points, before their own join's 10
    assert expected["tags"][FRIEND] == ["segment:high_value", "高价值"]
    assert expected["events"][("member.tagged", True, FRIEND)] == 4  # potential on, off; high value, its rule on
    assert expected["tags"][OLD_INVITER] == ["忠实"]


def _engagement(count: int, *, imported: bool, actions: tuple[str, ...]) -> list[Envelope]:
    return [
        new_event(
            source="test",
            tenant_id=TENANT,
            payload=ContentEngagedV1(
                content_id=ITEM,
                member_id=IDS[n % 4],
                action=actions[n % len(actions)],  # type: ignore[arg-type]
                occurred_at=NOW - timedelta(days=100, minutes=n),
            ),
            imported=imported,
        )
        for n in range(count)
    ]


async def test_what_member_svc_does_nothing_with_costs_no_statement_and_a_tenants_policy_is_read_once() -> None:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
        await world(session)
        views = _engagement(1000, imported=True, actions=("view", "like", "share", "complete", "click"))
        with statements(engine) as sent:
            await HANDLERS["content.engaged"](
                session, OUTBOX, views + _engagement(500, imported=False, actions=("view",))
            )
        assert sent == []
        comments = _engagement(1000, imported=True, actions=("comment", "view"))
        with statements(engine) as sent:
            await HANDLERS["content.engaged"](session, OUTBOX, comments)
        assert len(sent) == 1 and "points_policies" in sent[0]  # history earns nothing here: nothing else to do


async def test_a_run_of_joins_takes_the_statements_of_a_few_joins() -> None:
    sent: dict[tuple[int, bool], list[str]] = {}
    for count in (4, 400):
        async with in_memory_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
            members = [uuid.uuid4() for _ in range(count)]
            for n, member_id in enumerate(members):
                invited_by = members[n - 1] if n % 2 else None  # each inviter joins before their invitee
                session.add(
                    Member(
                        id=member_id,
                        tenant_id=TENANT,
                        nickname="会员",
                        persona_tags=[],
                        active_hours=[],
                        created_at=NOW,
                        invited_by=invited_by,
                    )
                )
            await world(session)
            for imported in (True, False):
                joins = [
                    new_event(
                        source="test",
                        tenant_id=TENANT,
                        payload=MemberJoinedV1(
                            member_id=member_id, community_id=ANOTHER if imported else COMMUNITY, channel="qr",
                            joined_at=NOW - timedelta(days=1, minutes=n),
                        ),
                        imported=imported,
                    )
                    for n, member_id in enumerate(members)
                ]  # fmt: skip
                with statements(engine) as sent[count, imported]:
                    await HANDLERS["member.joined"](session, OUTBOX, joins)
            loyal = await session.scalar(select(Member).where(Member.id == members[0]))
            assert loyal is not None and loyal.lifecycle == "loyal"
    assert len(sent[400, True]) == len(sent[4, True]) <= 15, sent[400, True]  # imported: no points by default
    assert len(sent[400, False]) == len(sent[4, False]) <= 20, sent[400, False]


async def test_a_run_of_segment_changes_takes_the_statements_of_a_few() -> None:
    sent: dict[int, list[str]] = {}
    for count in (4, 400):
        async with in_memory_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
            await world(session)
            members = [uuid.uuid4() for _ in range(count)]
            session.add_all(
                Member(id=m, tenant_id=TENANT, nickname="会员", persona_tags=[], active_hours=[], created_at=NOW)
                for m in members
            )
            await session.flush()
            changes = [
                new_event(
                    source="analytics-svc",
                    tenant_id=TENANT,
                    payload=MemberSegmentChangedV1(member_id=m, to_segment=segment),  # type: ignore[arg-type]
                    imported=True,
                )
                for segment in ("potential", "high_value")
                for m in members
            ]
            with statements(engine) as sent[count]:
                await HANDLERS["member.segment_changed"](session, OUTBOX, changes)
            tagged = await tags.tag_names_of(session=session, member_ids=members)
            assert all(names == ["segment:high_value", "高价值"] for names in tagged.values())
    # Two waves (every member changes twice) of a few statements each, whatever the count.
    assert len(sent[400]) == len(sent[4]) <= 30, sent[400]
