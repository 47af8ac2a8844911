"""Coupon templates, issuing coupons to members, and members' coupons."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from campaign_svc.coupons import service as coupons
from campaign_svc.coupons.schemas import CouponIssue, CouponRead, CouponTemplateCreate, CouponTemplateRead
from campaign_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.idempotency import IdempotencyKey

router = APIRouter(prefix="/campaigns", tags=["coupons"], route_class=IdempotentRoute)


@router.post("/coupon-templates", status_code=status.HTTP_201_CREATED)
async def create_template(
    body: CouponTemplateCreate, session: DbSession, caller: CurrentIdentity
) -> CouponTemplateRead:
    template = await coupons.create_template(
        session=session, tenant_id=caller.tenant_id, template_in=body, now=datetime.now(UTC)
    )
    return CouponTemplateRead.model_validate(template)


@router.get("/coupon-templates/{template_id}")
async def get_template(template_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CouponTemplateRead:
    return CouponTemplateRead.model_validate(
        await coupons.get_template(session=session, tenant_id=caller.tenant_id, template_id=template_id)
    )


@router.post(
    "/coupon-templates/{template_id}/coupons",
    status_code=status.HTTP_201_CREATED,
    response_model=CouponRead,
    summary="Issue a coupon to a member, within stock, the member's limit and the campaign's budget",
)
async def issue_coupon(
    template_id: uuid.UUID,
    body: CouponIssue,
    key: IdempotencyKey,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> CouponRead:
    coupon = await coupons.issue(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        template_id=template_id,
        member_id=body.member_id,
        source=f"api:{key}",
        now=datetime.now(UTC),
    )
    return CouponRead.model_validate(coupon)


@router.get("/coupons", summary="A member's coupons, newest first")
async def member_coupons(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> list[CouponRead]:
    return [
        CouponRead.model_validate(c)
        for c in await coupons.coupons_of(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    ]


@router.get("/coupons/{coupon_id}")
async def get_coupon(coupon_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CouponRead:
    return CouponRead.model_validate(
        await coupons.get_coupon(session=session, tenant_id=caller.tenant_id, coupon_id=coupon_id)
    )
