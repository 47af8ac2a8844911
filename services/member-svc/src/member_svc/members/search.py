"""Finding members by tags, attributes, community, lifecycle stage and segment, a page at a time."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities.models import Membership
from member_svc.members.models import Member
from member_svc.members.service import VIEW_COLUMNS, Shown
from member_svc.tags.models import MemberTag
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
    merchant_member_id: str | None = None
    include_erased: bool = False


async def search(
    *, session: AsyncSession, tenant_id: str, query: MemberQuery, limit: int, cursor: str | None
) -> tuple[Sequence[Shown], str | None]:
    """A page of the tenant's matching members in id order, as rows of what a member view shows, and the
    cursor of the next page (None at the end)."""
    after = _position(cursor)
    # Plain rows, not ORM objects: a page is only shown, and building tracked objects cost more than the query.
    statement = select(*VIEW_COLUMNS).where(Member.tenant_id == tenant_id, *_criteria(tenant_id, query, after))
    found = (await session.execute(statement.order_by(Member.id).limit(limit + 1))).all()
    if len(found) <= limit:
        return found, None
    page = found[:limit]
    return page, encode_cursor(page[-1].id)


def _position(cursor: str | None) -> uuid.UUID | None:
    """The id of the last member of the previous page."""
    if cursor is None:
        return None
    [after] = decode_cursor(cursor, parts=1)
    try:
        return uuid.UUID(after)
    except ValueError:
        raise InvalidInput("Malformed cursor.", field="cursor") from None


def _criteria(tenant_id: str, query: MemberQuery, after: uuid.UUID | None) -> list[ColumnElement[bool]]:
    """The query as conditions on members, past `after`.

    Tags and memberships are looked up as (tenant_id, tag, member_id) and (community_id, member_id), in member
    order, so PostgreSQL can walk them along with members from the cursor on; the bound on their member ids
    is repeated because the planner does not carry `>` across the join, and would otherwise read a tag's
    members from the first one on every page."""
    criteria = [] if after is None else [Member.id > after]
    for tag in query.tags:
        criteria.append(_tagged(tenant_id, after, MemberTag.tag == tag))
    if query.any_tags:
        criteria.append(_tagged(tenant_id, after, MemberTag.tag.in_(query.any_tags)))
    if query.community_id is not None:
        seated = [Membership.member_id == Member.id, Membership.community_id == query.community_id]
        criteria.append(exists().where(*seated, *([] if after is None else [Membership.member_id > after])))
    equal = {
        Member.lifecycle: query.lifecycle,
        Member.segment: query.segment,
        Member.churn_risk: query.churn_risk,
        Member.gender: query.gender,
        Member.age_band: query.age_band,
        Member.region: query.region,
        Member.merchant_member_id: query.merchant_member_id,
    }
    criteria += [column == wanted for column, wanted in equal.items() if wanted is not None]
    if query.min_level is not None:
        criteria.append(Member.level >= query.min_level)
    if query.max_level is not None:
        criteria.append(Member.level <= query.max_level)
    if not query.include_erased:
        criteria.append(Member.erased_at.is_(None))
    return criteria


def _tagged(tenant_id: str, after: uuid.UUID | None, tag: ColumnElement[bool]) -> ColumnElement[bool]:
    beyond = [] if after is None else [MemberTag.member_id > after]
    return exists().where(MemberTag.member_id == Member.id, MemberTag.tenant_id == tenant_id, tag, *beyond)
