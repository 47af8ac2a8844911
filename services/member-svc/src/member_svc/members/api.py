"""Routes for member profiles: registering, searching, looking one up by phone, reading and correcting."""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc import points, points_view, tags
from member_svc.dependencies import Cipher, IdempotentRoute
from member_svc.exceptions import TagNotOnMember
from member_svc.members import search
from member_svc.members import service as members
from member_svc.members.schemas import (
    AgeBand,
    Gender,
    Lifecycle,
    MemberCreate,
    MemberRead,
    MemberSearchPage,
    MemberUpdate,
    PhoneLookup,
)
from member_svc.members.search import MemberQuery
from member_svc.schemas import (
    MemberTagRead,
    PointsChange,
    PointsEntryRead,
    PointsLedgerPage,
    PointsSummary,
    TagAdd,
    TagName,
)
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.events.analytics import Segment
from qunyun_shared.events.integers import INT32_MAX
from qunyun_shared.idempotency import OptionalIdempotencyKey
from qunyun_shared.idempotent_routes import read_only
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox

# Keys this long go into the points ledger as they are (its sources had a key of at most 100 characters).
_LEDGER_KEY_LENGTH = 100

router = APIRouter(prefix="/members", tags=["members"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemberRead)
async def create_member(
    body: MemberCreate, session: DbSession, outbox: EventOutbox, cipher: Cipher, caller: CurrentIdentity
) -> MemberRead:
    """With an `Idempotency-Key` (partners pushing members from their shops), a retried push answers
    with the first push's member instead of creating another."""
    member = await members.register(
        session=session, outbox=outbox, cipher=cipher, tenant_id=caller.tenant_id, member_in=body
    )
    return (await members.view(session=session, cipher=cipher, caller=caller, shown=[member]))[0]


@router.get("", summary="Search members by tags, attributes, community, lifecycle and segment")
async def search_members(
    session: DbSession,
    cipher: Cipher,
    caller: CurrentIdentity,
    tag: Annotated[list[TagName], Query(description="Has every one of these tags.")] = [],  # noqa: B006
    any_tag: Annotated[list[TagName], Query(description="Has at least one of these tags.")] = [],  # noqa: B006
    community_id: uuid.UUID | None = None,
    lifecycle: Lifecycle | None = None,
    segment: Segment | None = None,
    churn_risk: bool | None = None,
    gender: Gender | None = None,
    age_band: AgeBand | None = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
    min_level: Annotated[int | None, Query(ge=0, le=INT32_MAX)] = None,
    max_level: Annotated[int | None, Query(ge=0, le=INT32_MAX)] = None,
    include_erased: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MemberSearchPage:
    criteria = MemberQuery(
        tags=tag,
        any_tags=any_tag,
        community_id=community_id,
        lifecycle=lifecycle,
        segment=segment,
        churn_risk=churn_risk,
        gender=gender,
        age_band=age_band,
        region=region,
        min_level=min_level,
        max_level=max_level,
        include_erased=include_erased,
    )
    found, next_cursor = await search.search(
        session=session, tenant_id=caller.tenant_id, query=criteria, limit=limit, cursor=cursor
    )
    return MemberSearchPage(
        members=await members.view(session=session, cipher=cipher, caller=caller, shown=found), next_cursor=next_cursor
    )


@router.post("/lookup", summary="Find a member by phone (sent in the body, so it stays out of URLs and logs)")
@read_only
async def lookup_member(body: PhoneLookup, session: DbSession, cipher: Cipher, caller: CurrentIdentity) -> MemberRead:
    member = await members.find_by_phone(session=session, cipher=cipher, caller=caller, phone=body.phone)
    return (await members.view(session=session, cipher=cipher, caller=caller, shown=[member]))[0]


@router.get("/{member_id}")
async def get_member(member_id: uuid.UUID, session: DbSession, cipher: Cipher, caller: CurrentIdentity) -> MemberRead:
    member = await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return (await members.view(session=session, cipher=cipher, caller=caller, shown=[member]))[0]


@router.patch("/{member_id}", summary="Correct a member's profile")
async def correct_member(
    member_id: uuid.UUID,
    body: MemberUpdate,
    session: DbSession,
    outbox: EventOutbox,
    cipher: Cipher,
    caller: CurrentIdentity,
) -> MemberRead:
    member = await members.correct(
        session=session, outbox=outbox, cipher=cipher, caller=caller, member_id=member_id, changes=body
    )
    return (await members.view(session=session, cipher=cipher, caller=caller, shown=[member]))[0]


@router.post("/{member_id}/tags", summary="Put a manual tag on a member")
async def add_tag(
    member_id: uuid.UUID, body: TagAdd, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> list[MemberTagRead]:
    await members.get_active_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    await tags.add_manual(session=session, outbox=outbox, tenant_id=caller.tenant_id, member_id=member_id, tag=body.tag)
    return [
        MemberTagRead.model_validate(t)
        for t in (await tags.tags_of(session=session, member_ids=[member_id]))[member_id]
    ]


@router.delete("/{member_id}/tags/{tag}", status_code=status.HTTP_204_NO_CONTENT, summary="Take a manual tag off")
async def remove_tag(
    member_id: uuid.UUID, tag: TagName, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> None:
    await members.get_active_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    if not await tags.remove_manual(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, member_id=member_id, tag=tag
    ):
        raise TagNotOnMember(f"Member {member_id} has no manual tag {tag!r}.")


@router.get("/{member_id}/points", summary="Balance, level and the points expiring soon")
async def points_summary(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> PointsSummary:
    member = await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return await points_view.summary(session=session, member=member)


@router.get("/{member_id}/points/ledger", summary="The member's points ledger, newest first")
async def points_ledger(
    member_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PointsLedgerPage:
    await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return await points_view.ledger_page(session=session, member_id=member_id, limit=limit, cursor=cursor)


@router.post("/{member_id}/points/spend", status_code=status.HTTP_201_CREATED, summary="Redeem points")
async def spend_points(
    member_id: uuid.UUID,
    body: PointsChange,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
    idempotency_key: OptionalIdempotencyKey,
) -> PointsEntryRead:
    return await _change_points(points.spend, member_id, body, session, outbox, caller, idempotency_key)


@router.post("/{member_id}/points/grants", status_code=status.HTTP_201_CREATED, summary="Grant points by hand")
async def grant_points(
    member_id: uuid.UUID,
    body: PointsChange,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
    idempotency_key: OptionalIdempotencyKey,
) -> PointsEntryRead:
    return await _change_points(points.grant, member_id, body, session, outbox, caller, idempotency_key)


async def _change_points(
    change: points.PointsChanger,
    member_id: uuid.UUID,
    body: PointsChange,
    session: AsyncSession,
    outbox: Outbox,
    caller: Identity,
    idempotency_key: str | None,
) -> PointsEntryRead:
    await members.get_active_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    entry = await change(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        member_id=member_id,
        points=body.points,
        note=body.note,
        idempotency_key=_ledger_key(idempotency_key),
        at=datetime.now(UTC),
    )
    return PointsEntryRead.model_validate(entry)


def _ledger_key(idempotency_key: str | None) -> str | None:
    """The key as the points ledger records it (it keeps a change's source beyond the key's 24 hours):
    a long key by its digest, so that the source fits its column."""
    if idempotency_key is None or len(idempotency_key) <= _LEDGER_KEY_LENGTH:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()
