"""Importing a brand's member history, without HTTP (but for the route's own checks): members named by merchant
ids, backdated memberships recorded as live joins are, every event marked imported, idempotent rows, and every
refusal a row problem that writes nothing."""

import base64
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import service as communities
from member_svc.communities.models import Community, Membership, MembershipRecord
from member_svc.communities.schemas import CommunityCreate
from member_svc.db import MESSAGING
from member_svc.dependencies import get_cipher
from member_svc.history import api as history_api
from member_svc.history import service as history
from member_svc.history.schemas import MemberHistoryBatch
from member_svc.members import service as members
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data import service as personal_data
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.tags.models import MemberTag
from qunyun_shared import problems
from qunyun_shared.dependencies import current_identity, get_outbox, transaction
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.history import HistoryBatchRead
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
NOW = datetime.now(UTC)
OPENED = NOW - timedelta(days=730)

session = in_memory_session_fixture(Base.metadata)


async def community(session: AsyncSession, *, tenant: str = TENANT, **settings: Any) -> uuid.UUID:
    fields = {"name": f"群{uuid.uuid4().hex[:6]}", "kind": "vertical", "opened_at": OPENED} | settings
    body = CommunityCreate.model_validate(fields)
    return (await communities.create_community(session=session, outbox=OUTBOX, tenant_id=tenant, community_in=body)).id


async def import_rows(session: AsyncSession, *rows: dict[str, Any], tenant: str = TENANT) -> HistoryBatchRead:
    batch = MemberHistoryBatch.model_validate({"members": list(rows)})
    return await history.import_members(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=tenant, batch=batch)


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


async def envelopes(session: AsyncSession) -> list[Any]:
    """Every event staged so far, with its envelope (to see the imported mark)."""
    rows = (await session.execute(select(MESSAGING.outbox).order_by(MESSAGING.outbox.c.id))).all()
    return [from_kafka(row.value, [(name, value.encode()) for name, value in row.headers]) for row in rows]


async def written(session: AsyncSession) -> tuple[int, ...]:
    """How many rows of each table a history import writes to."""
    counted = (Member, Membership, MembershipRecord, MemberTag, MESSAGING.outbox)
    counts = [await session.scalar(select(func.count()).select_from(table)) or 0 for table in counted]
    seats = await session.scalar(select(func.sum(Community.member_count)))
    return (*counts, seats or 0)


async def test_a_batch_lands_members_with_their_backdated_memberships_all_announced_as_imported(
    session: AsyncSession,
) -> None:
    group, other = await community(session), await community(session)
    before = len(await envelopes(session))
    answer = await import_rows(
        session,
        {
            "merchant_member_id": "A-1",
            "nickname": "小雨妈妈",
            "memberships": [{"community_id": str(group), "joined_at": ago(420), "channel": "qr"}],
        },
        {
            "merchant_member_id": "A-2",
            "nickname": "阿强",
            "phone": "138 1234 1234",
            "birthday": "07-19",
            "tags": ["VIP"],
            "memberships": [
                {
                    "community_id": str(group),
                    "joined_at": ago(400),
                    "inviter_merchant_member_id": "A-1",
                    "channel": "invite",
                },
                {"community_id": str(other), "joined_at": ago(390), "left_at": ago(200)},
            ],
        },
    )
    assert (answer.created, answer.unchanged, answer.failed) == (2, 0, 0)
    first, second = [await session.get(Member, result.id) for result in answer.results]
    assert first is not None and second is not None
    assert (first.merchant_member_id, first.created_at) == ("A-1", NOW - timedelta(days=420))
    assert (second.invited_by, second.birthday, second.created_at) == (first.id, "07-19", NOW - timedelta(days=400))
    found = await members.find_by_phone(session=session, cipher=CIPHER, caller=OWNER, phone="13812341234")
    assert found.id == second.id
    seated = (await session.scalars(select(Membership).order_by(Membership.joined_at))).all()
    assert [(m.member_id, m.community_id, m.channel, m.inviter_id, m.joined_at) for m in seated] == [
        (first.id, group, "qr", None, NOW - timedelta(days=420)),
        (second.id, group, "invite", first.id, NOW - timedelta(days=400)),
    ]
    records = await communities.membership_records(session=session, member_id=second.id)
    assert [(r.community_id, r.action, r.at) for r in records] == [
        (group, "joined", NOW - timedelta(days=400)),
        (other, "joined", NOW - timedelta(days=390)),
        (other, "left", NOW - timedelta(days=200)),
    ]
    counts = {c.id: c.member_count for c in (await session.scalars(select(Community))).all()}
    assert counts == {group: 2, other: 0}
    staged = (await envelopes(session))[before:]
    assert staged and all(event.imported for event in staged)
    announced = [(e.type, getattr(e.data, "member_id", None)) for e in staged]
    assert sorted(announced) == sorted(
        [
            ("member.birthday_set", second.id),
            ("member.tagged", second.id),
            ("member.joined", first.id),
            ("member.joined", second.id),
            ("member.joined", second.id),
            ("member.left", second.id),
        ]
    )
    joins = {(e.data.member_id, e.data.community_id): e.data for e in staged if e.type == "member.joined"}
    assert joins[(second.id, group)].joined_at == NOW - timedelta(days=400)
    assert (joins[(second.id, group)].channel, joins[(second.id, group)].inviter_id) == ("invite", first.id)
    [left] = [e.data for e in staged if e.type == "member.left"]
    assert (left.community_id, left.reason, left.left_at) == (other, "left", NOW - timedelta(days=200))


async def test_the_same_rows_again_are_unchanged_and_write_nothing(session: AsyncSession) -> None:
    group = await community(session)
    rows = [
        {
            "merchant_member_id": f"M-{n}",
            "nickname": f"会员{n}",
            "memberships": [{"community_id": str(group), "joined_at": ago(100 + n)}],
        }
        for n in range(3)
    ]
    first = await import_rows(session, *rows)
    before = await written(session)
    # The same content, its times in another offset and defaults spelt out: the same rows.
    rows[0]["memberships"][0] |= {
        "joined_at": (NOW - timedelta(days=100)).astimezone().isoformat(),
        "channel": "import",
    }
    again = await import_rows(session, *rows, rows[1])
    assert (again.created, again.unchanged, again.failed) == (0, 4, 0)
    assert [r.id for r in again.results] == [*(r.id for r in first.results), first.results[1].id]
    assert await written(session) == before


async def test_a_merchant_id_taken_with_other_content_fails_naming_the_earlier_member(session: AsyncSession) -> None:
    imported = (await import_rows(session, {"merchant_member_id": "M-1", "nickname": "小雨"})).results[0].id
    pushed = await members.register(
        session=session,
        outbox=OUTBOX,
        cipher=CIPHER,
        tenant_id=TENANT,
        member_in=MemberCreate(nickname="阿杰", merchant_member_id="M-2"),
    )
    before = await written(session)
    answer = await import_rows(
        session,
        {"merchant_member_id": "M-1", "nickname": "小雨妈妈"},
        {"merchant_member_id": "M-2", "nickname": "阿杰"},
        {"merchant_member_id": "M-3", "nickname": "新人"},
        {"merchant_member_id": "M-3", "nickname": "另一个新人"},
    )
    assert [r.outcome for r in answer.results] == ["failed", "failed", "created", "failed"]
    assert str(imported) in answer.results[0].problems[0].message
    assert str(pushed.id) in answer.results[1].problems[0].message
    assert str(answer.results[2].id) in answer.results[3].problems[0].message
    assert {r.problems[0].field for r in answer.results if r.outcome == "failed"} == {"merchant_member_id"}
    assert (await written(session))[0] == before[0] + 1

    await personal_data.erase_member(session=session, outbox=OUTBOX, caller=OWNER, member_id=imported)
    erased = await session.get(Member, imported)
    assert erased is not None and (erased.merchant_member_id, erased.history_digest) == ("M-1", None)
    again = await import_rows(session, {"merchant_member_id": "M-1", "nickname": "小雨"})
    assert again.failed == 1 and "erased" in again.results[0].problems[0].message


async def test_every_refused_row_says_why_and_writes_nothing(session: AsyncSession) -> None:
    group, foreign = await community(session), await community(session, tenant="tenant-b")
    late = await community(session, opened_at=None)  # opened now
    taken = MemberCreate(nickname="老会员", phone="13900000000", merchant_member_id="OLD")
    await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=TENANT, member_in=taken)
    before = await written(session)
    join = {"community_id": str(group), "joined_at": ago(10)}
    cases = [
        ({"memberships": [join | {"joined_at": (NOW + timedelta(days=1)).isoformat()}]}, "memberships.0.joined_at"),
        ({"memberships": [{"community_id": str(late), "joined_at": ago(10)}]}, "memberships.0.joined_at"),
        ({"memberships": [join | {"community_id": str(uuid.uuid4())}]}, "memberships.0.community_id"),
        ({"memberships": [join | {"community_id": str(foreign)}]}, "memberships.0.community_id"),
        (
            {"memberships": [join | {"inviter_merchant_member_id": "NOBODY"}]},
            "memberships.0.inviter_merchant_member_id",
        ),
        (
            {"memberships": [join | {"inviter_merchant_member_id": "LATER"}]},
            "memberships.0.inviter_merchant_member_id",
        ),
        ({"memberships": [join | {"left_at": ago(11)}]}, "memberships.0"),
        ({"memberships": [join, join]}, None),
        ({"registered_at": ago(5), "memberships": [join]}, None),
        ({"phone": "12345"}, "phone"),
        ({"phone": "139 0000 0000"}, "phone"),
        ({"tags": ["churn_risk"]}, "tags"),
        ({"gender": "robot"}, "gender"),
    ]
    rows = [{"merchant_member_id": f"BAD-{n}", "nickname": "坏行"} | case for n, (case, _) in enumerate(cases)]
    answer = await import_rows(
        session, *rows, {"merchant_member_id": "LATER", "nickname": "后来的"} | {"tags": ["segment:vip"]}
    )
    assert answer.failed == len(cases) + 1
    assert [(r.row, r.problems[0].field) for r in answer.results[: len(cases)]] == [
        (n, field) for n, (_, field) in enumerate(cases)
    ]
    assert all(r.id is None and r.problems[0].message for r in answer.results)
    assert await written(session) == before


async def test_historical_joins_pass_entry_rules_capacity_and_overflow_they_already_happened(
    session: AsyncSession,
) -> None:
    closed = await community(session, capacity=2, overflow="refuse", entry_rule="min_level", entry_min_level=5)
    rows = [
        {
            "merchant_member_id": f"VIP-{n}",
            "nickname": "老会员",
            "memberships": [{"community_id": str(closed), "joined_at": ago(50)}],
        }
        for n in range(3)
    ]
    answer = await import_rows(session, *rows)
    assert answer.created == 3
    shown = await communities.get_community(session=session, tenant_id=TENANT, community_id=closed, lock=True)
    assert (shown.member_count, shown.capacity) == (3, 2)


async def test_a_community_of_an_imported_brand_opens_when_it_did(session: AsyncSession) -> None:
    group = await community(session)
    opened = (await communities.get_community(session=session, tenant_id=TENANT, community_id=group)).opened_at
    assert opened == OPENED
    [event] = [e for e in await envelopes(session) if e.type == "community.opened"]
    assert (event.data.opened_at, event.imported) == (OPENED, True)
    live = await community(session, opened_at=None)
    [_, event] = [e for e in await envelopes(session) if e.type == "community.opened"]
    assert (event.data.community_id, event.imported) == (live, False)
    with pytest.raises(ValueError, match="future"):
        CommunityCreate(name="明天的群", kind="vertical", opened_at=NOW + timedelta(days=1))


@pytest.fixture
async def http(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    """The history route in process, on the test's session."""

    async def same_session() -> AsyncIterator[AsyncSession]:
        yield session

    async def the_cipher() -> PersonalDataCipher:
        return CIPHER

    app = FastAPI()
    problems.install(app)
    app.include_router(history_api.router)
    app.dependency_overrides.update(
        {transaction: same_session, current_identity: lambda: OWNER, get_outbox: lambda: OUTBOX, get_cipher: the_cipher}
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_the_route_answers_row_by_row_and_refuses_a_batch_out_of_bounds_whole(
    session: AsyncSession, http: httpx.AsyncClient
) -> None:
    answered = await http.post(
        "/members/history",
        json={"members": [{"merchant_member_id": "R-1", "nickname": "小雨"}, {"merchant_member_id": "R-2"}, 7]},
    )
    assert answered.status_code == 200
    body = answered.json()
    assert [r["outcome"] for r in body["results"]] == ["created", "failed", "failed"]
    assert body["results"][1]["problems"][0]["field"] == "nickname"
    before = await written(session)
    for members_sent in ([], [{"merchant_member_id": f"R-{n}", "nickname": "x"} for n in range(1001)]):
        refused = await http.post("/members/history", json={"members": members_sent})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
    assert await written(session) == before
