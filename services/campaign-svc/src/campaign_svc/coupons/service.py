"""Coupons: templates, issue within stock, per-member limit and budget; redemption on an order; expiry."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import budget, quotas
from campaign_svc.campaigns import service as campaigns
from campaign_svc.coupons.models import Coupon, CouponTemplate
from campaign_svc.coupons.schemas import CouponTemplateCreate
from campaign_svc.exceptions import (
    CouponLimitReached,
    CouponNotFound,
    CouponNotRedeemable,
    CouponOutOfStock,
    CouponTemplateNotFound,
    InvalidCoupon,
)
from campaign_svc.members import service as members
from qunyun_shared.events.campaign import CouponIssuedV1, CouponRedeemedV1
from qunyun_shared.outbox import Outbox

_EXPIRY_BATCH = 500


async def create_template(
    *, session: AsyncSession, tenant_id: str, template_in: CouponTemplateCreate, now: datetime
) -> CouponTemplate:
    """Creates a coupon template charged to one of the tenant's campaigns."""
    campaign = await campaigns.get_campaign(session=session, tenant_id=tenant_id, campaign_id=template_in.campaign_id)
    campaigns.refuse_own_checkout(campaign)
    if template_in.valid_until is not None and template_in.valid_until <= now:
        raise InvalidCoupon("valid_until is in the past.", field="valid_until")
    terms = template_in.model_dump(exclude={"campaign_id", "max_discount_fen"})
    template = CouponTemplate(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        campaign_id=campaign.id,
        max_discount_fen=template_in.amount_off_fen or template_in.max_discount_fen,
        created_at=now,
        **terms,
    )
    session.add(template)
    await session.flush()
    return template


async def get_template(*, session: AsyncSession, tenant_id: str, template_id: uuid.UUID) -> CouponTemplate:
    """One of the tenant's coupon templates."""
    template = await session.get(CouponTemplate, template_id)
    if template is None or template.tenant_id != tenant_id:
        raise CouponTemplateNotFound(f"No coupon template {template_id}.")
    return template


async def issue(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    template_id: uuid.UUID,
    member_id: uuid.UUID,
    source: str,
    now: datetime,
) -> Coupon:
    """Issues one coupon, once per `source`: asking again for the same cause returns the first coupon.

    Stock, the member's limit and the campaign's budget are each taken by a conditional update, so
    concurrent issues never pass any of them; a refusal raises and the caller's transaction keeps nothing.
    """
    template = await get_template(session=session, tenant_id=tenant_id, template_id=template_id)
    earlier = await session.scalar(select(Coupon).where(Coupon.template_id == template.id, Coupon.source == source))
    if earlier is not None:
        return earlier
    campaign = await campaigns.running_campaign(
        session=session, tenant_id=tenant_id, campaign_id=template.campaign_id, now=now
    )
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if not await quotas.claim(
        session=session, scope_id=template.id, member_id=member_id, amount=1, limit=template.per_member_limit
    ):
        raise CouponLimitReached(
            f"Member {member_id} already holds {template.per_member_limit} of coupon {template.name!r}."
        )
    taken = await session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == template.id,
            CouponTemplate.total_stock.is_(None) | (CouponTemplate.issued < CouponTemplate.total_stock),
        )
        .values(issued=CouponTemplate.issued + 1)
        .returning(CouponTemplate.id)
    )
    if taken.first() is None:
        raise CouponOutOfStock(f"Coupon {template.name!r} is all issued.")
    await budget.commit(session=session, campaign_id=campaign.id, amount_fen=template.max_discount_fen)
    expires_at = template.valid_until or now + timedelta(days=template.valid_days or 0)
    coupon = Coupon(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        template_id=template.id,
        campaign_id=campaign.id,
        member_id=member_id,
        status="issued",
        source=source,
        issued_at=now,
        expires_at=expires_at,
    )
    session.add(coupon)
    await session.flush()
    issued = CouponIssuedV1(
        coupon_id=coupon.id,
        template_id=template.id,
        member_id=member_id,
        campaign_id=campaign.id,
        expires_at=expires_at,
    )
    await outbox.add(session, tenant_id=tenant_id, payloads=[issued])
    return coupon


async def get_coupon(*, session: AsyncSession, tenant_id: str, coupon_id: uuid.UUID) -> Coupon:
    """One of the tenant's coupons."""
    coupon = await session.get(Coupon, coupon_id)
    if coupon is None or coupon.tenant_id != tenant_id:
        raise CouponNotFound(f"No coupon {coupon_id}.")
    return coupon


@dataclass(frozen=True)
class Redemption:
    coupon_id: uuid.UUID
    campaign_id: uuid.UUID
    discount_fen: int


def discount_for(template: CouponTemplate, subtotal_fen: int) -> int:
    """What the coupon takes off an order of `subtotal_fen`: never more than the order, nor than its cap."""
    if template.discount == "amount_off":
        return min(template.max_discount_fen, subtotal_fen)
    return min(subtotal_fen * (template.percent_off or 0) // 100, template.max_discount_fen)


async def redeem(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    coupon_id: uuid.UUID,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    subtotal_fen: int,
    first_order: bool,
    now: datetime,
) -> Redemption:
    """Redeems the member's coupon on an order: only once, only before it expires, only on terms."""
    coupon = await get_coupon(session=session, tenant_id=tenant_id, coupon_id=coupon_id)
    if coupon.member_id != member_id:
        raise CouponNotRedeemable(f"Coupon {coupon_id} belongs to another member.")
    template = await get_template(session=session, tenant_id=tenant_id, template_id=coupon.template_id)
    if subtotal_fen < template.min_spend_fen:
        raise CouponNotRedeemable(
            f"Coupon {template.name!r} needs an order of at least {template.min_spend_fen} fen.",
            min_spend_fen=template.min_spend_fen,
        )
    if template.first_order_only and not first_order:
        raise CouponNotRedeemable(f"Coupon {template.name!r} is for a member's first order only.")
    discount = discount_for(template, subtotal_fen)
    # The status guard makes the update the arbiter: of two orders racing for one coupon, one wins.
    redeemed = await session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.status == "issued", Coupon.expires_at > now)
        .values(status="redeemed", order_id=order_id, discount_fen=discount, redeemed_at=now)
        .returning(Coupon.id)
    )
    if redeemed.first() is None:
        await session.refresh(coupon)
        state = "has expired" if coupon.status != "redeemed" else "was redeemed already"
        raise CouponNotRedeemable(f"Coupon {coupon_id} {state}.")
    await budget.charge(
        session=session,
        outbox=outbox,
        campaign_id=coupon.campaign_id,
        committed_fen=template.max_discount_fen,
        cost_fen=discount,
        now=now,
    )
    told = CouponRedeemedV1(coupon_id=coupon.id, member_id=member_id, order_id=order_id, discount_fen=discount)
    await outbox.add(session, tenant_id=tenant_id, payloads=[told])
    return Redemption(coupon_id=coupon.id, campaign_id=coupon.campaign_id, discount_fen=discount)


async def restore(*, session: AsyncSession, coupon_id: uuid.UUID, now: datetime) -> None:
    """Gives a coupon back when its order is cancelled before payment, and undoes its cost; a coupon
    already past its expiry goes straight to expired instead."""
    coupon = await session.get(Coupon, coupon_id, with_for_update=True)
    if coupon is None or coupon.status != "redeemed":
        return
    template = await session.get(CouponTemplate, coupon.template_id)
    assert template is not None
    await budget.refund(
        session=session,
        campaign_id=coupon.campaign_id,
        committed_fen=template.max_discount_fen,
        cost_fen=coupon.discount_fen or 0,
    )
    coupon.order_id, coupon.discount_fen, coupon.redeemed_at = None, None, None
    coupon.status = "issued"
    if coupon.expires_at <= now:
        await _expire(session, coupon, template)


async def expire_due(*, session: AsyncSession, now: datetime) -> int:
    """Expires issued coupons past their date and releases what their campaigns had set aside for them."""
    due = list(
        await session.scalars(
            select(Coupon)
            .where(Coupon.status == "issued", Coupon.expires_at <= now)
            .order_by(Coupon.expires_at)
            .limit(_EXPIRY_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    for coupon in due:
        template = await session.get(CouponTemplate, coupon.template_id)
        assert template is not None
        await _expire(session, coupon, template)
    return len(due)


async def _expire(session: AsyncSession, coupon: Coupon, template: CouponTemplate) -> None:
    coupon.status = "expired"
    await budget.release(session=session, campaign_id=coupon.campaign_id, amount_fen=template.max_discount_fen)


async def coupons_of(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> list[Coupon]:
    """A member's coupons, newest first."""
    return list(
        await session.scalars(
            select(Coupon)
            .where(Coupon.tenant_id == tenant_id, Coupon.member_id == member_id)
            .order_by(Coupon.issued_at.desc())
        )
    )
