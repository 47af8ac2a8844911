"""Routes for member profiles: registering, searching, looking one up by phone, reading and correcting."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from member_svc.dependencies import Cipher, IdempotentRoute
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
    MerchantIdsResolve,
    MerchantIdsResolved,
    PhoneLookup,
)
from member_svc.members.search import MemberQuery
from member_svc.tags.schemas import TagName
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.events.analytics import Segment
from qunyun_shared.events.integers import INT32_MAX
from qunyun_shared.idempotent_routes import read_only

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


@router.get("", summary="Search members by tags, attributes, community, lifecycle, segment and merchant id")
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
    merchant_member_id: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The member the merchant knows by this id.")
    ] = None,
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
        merchant_member_id=merchant_member_id,
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


@router.post(
    "/resolve",
    summary="Member ids by the merchant's own ids (for naming members in imported orders and engagement)",
)
@read_only
async def resolve_merchant_ids(
    body: MerchantIdsResolve, session: DbSession, caller: CurrentIdentity
) -> MerchantIdsResolved:
    return await members.resolve_merchant_ids(
        session=session, tenant_id=caller.tenant_id, merchant_member_ids=body.merchant_member_ids
    )


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
