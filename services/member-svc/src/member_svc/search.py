"""Finding members by tags, attributes, community, lifecycle stage and segment, a page at a time."""

import uuid
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.models import Member, Membership, MemberTag
from qunyun_shared.pagination import decode_cursor, encode_cursor
from qunyun_shared.problems import InvalidInput


@dataclass(frozen=True)
class MemberQuery:
    """What to look for; every criterion given must hold. `tags` must all be there, `any_tags` at least one."""

    tags: list[str] = field(default_factory=list)
    any_tags: list[str] = field(default_factory=list)
    community_id: uuid.UUID | None = None
    lifecycle: str | None = None
    segment: str | None = None
    churn_risk: bool | None = None
    gender: str | None = None
    age_band: str | None = None
    region: str | None = None
    min_level: int | None = None
    max_level: int | None = None
    include_erased: bool = False


async def search(
    *, session: AsyncSession, tenant_id: str, query: MemberQuery, limit: int, cursor: str | None
) -> tuple[list[Member], str | None]:
    """A page of the tenant's matching members in id order, and the cursor of the next page (None at the end)."""
    statement = select(Member).where(Member.tenant_id == tenant_id).order_by(Member.id).limit(limit + 1)
    if cursor is not None:
        [after] = decode_cursor(cursor, parts=1)
        try:
            statement = statement.where(Member.id > uuid.UUID(after))
        except ValueError:
            raise InvalidInput("Malformed cursor.", field="cursor") from None
    for tag in query.tags:
        statement = statement.where(exists().where(MemberTag.member_id == Member.id, MemberTag.tag == tag))
    if query.any_tags:
        statement = statement.where(exists().where(MemberTag.member_id == Member.id, MemberTag.tag.in_(query.any_tags)))
    if query.community_id is not None:
        statement = statement.where(
            exists().where(Membership.member_id == Member.id, Membership.community_id == query.community_id)
        )
    equal = {
        Member.lifecycle: query.lifecycle,
        Member.segment: query.segment,
        Member.churn_risk: query.churn_risk,
        Member.gender: query.gender,
        Member.age_band: query.age_band,
        Member.region: query.region,
    }
    for column, wanted in equal.items():
        if wanted is not None:
            statement = statement.where(column == wanted)
    if query.min_level is not None:
        statement = statement.where(Member.level >= query.min_level)
    if query.max_level is not None:
        statement = statement.where(Member.level <= query.max_level)
    if not query.include_erased:
        statement = statement.where(Member.erased_at.is_(None))
    found = list((await session.scalars(statement)).all())
    if len(found) <= limit:
        return found, None
    page = found[:limit]
    return page, encode_cursor(page[-1].id)
