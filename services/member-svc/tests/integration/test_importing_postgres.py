"""Bulk import on PostgreSQL, whose members and tags go in as unnested column arrays (SQLite's unit tests
take the executemany path): the same rows, defaults, row errors and events."""

import base64
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.imports import service as imports
from member_svc.imports.models import ImportJob, ImportRowError
from member_svc.members import service as members
from member_svc.members.models import Member
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.tags import service as tags
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import staged_events
from tests.support.harness import scratch_database

pytestmark = pytest.mark.integration

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
CSV = (
    "nickname,phone,gender,age_band,birthday,region,persona_tags,active_hours,tags\n"
    "小雨妈妈,138 1234 1234,female,25-34,07-19,上海,宝妈|烘焙爱好者,20|21,VIP|新客\n"  # line 2
    "小美,13812341234,,,,,,,\n"  # line 3: the phone of line 2
    "老王,13900000000,,,,,,,\n"  # line 4: a member has it already
    "小陈,,,,,北京,,,\n"  # line 5: no phone
)


async def run(session: AsyncSession) -> ImportJob:
    """What the worker does, in one session."""
    job = imports.accept(tenant_id=TENANT, upload=CSV.encode())
    session.add(job)
    await session.flush()
    for chunk in imports.chunks_of(job):
        assert await imports.import_chunk(session=session, outbox=OUTBOX, cipher=CIPHER, job=job, chunk=chunk, now=NOW)
        job.processed_rows += len(chunk)
    await imports.finish(session=session, job_id=job.id, now=NOW)
    await session.refresh(job)
    return job


async def test_an_import_writes_whole_members_with_their_tags_and_events() -> None:
    async with scratch_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
        existing = MemberCreate(nickname="老会员", phone="13900000000")
        await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=TENANT, member_in=existing)
        job = await run(session)
        assert (job.status, job.imported, job.failed) == ("done", 2, 2)
        errors = (await session.scalars(select(ImportRowError).order_by(ImportRowError.row))).all()
        assert [(e.row, e.field) for e in errors] == [(3, "phone"), (4, "phone")]
        mother = (await session.scalars(select(Member).where(Member.nickname == "小雨妈妈"))).one()
        profile = (mother.gender, mother.age_band, mother.birthday, mother.region, mother.created_at)
        assert profile == ("female", "25-34", "07-19", "上海", NOW)
        assert (mother.persona_tags, mother.active_hours) == (["宝妈", "烘焙爱好者"], [20, 21])
        assert (mother.level, mother.lifecycle, mother.churn_risk, mother.erased_at) == (0, "prospect", False, None)
        found = await members.find_by_phone(session=session, cipher=CIPHER, caller=OWNER, phone="13812341234")
        [shown] = await members.view(session=session, cipher=CIPHER, caller=OWNER, shown=[found])
        assert (found.id, shown.phone, shown.tags) == (mother.id, "13812341234", ["VIP", "新客"])
        assert {
            (t.tenant_id, t.kind) for t in (await tags.tags_of(session=session, member_ids=[mother.id]))[mother.id]
        } == {(TENANT, "manual")}
        chen = (await session.scalars(select(Member).where(Member.nickname == "小陈"))).one()
        assert (chen.region, chen.phone_encrypted, chen.phone_hash, chen.persona_tags) == ("北京", None, None, [])
        named = select(func.count()).where(Member.nickname.in_(["小美", "老王"]))
        assert await session.scalar(named) == 0
        staged = await staged_events(session, MESSAGING.outbox)
        assert sorted((t, p.member_id) for t, p in staged if t != "member.birthday_set") == [  # type: ignore[attr-defined]
            ("member.tagged", mother.id),
            ("member.tagged", mother.id),
        ]
        assert [(p.member_id, p.birthday) for t, p in staged if t == "member.birthday_set"] == [  # type: ignore[attr-defined]
            (mother.id, "07-19")
        ]
