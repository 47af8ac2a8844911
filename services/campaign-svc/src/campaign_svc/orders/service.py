"""Orders: placed (with a coupon redeemed on them), paid, cancelled, refunded; each step a fact on the bus.

Cancelling gives back what the order took: its coupon, its flash-sale units and the member's share of
them, its group-buy seat.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import quotas
from campaign_svc.campaigns import service as campaigns
from campaign_svc.coupons import service as coupons
from campaign_svc.exceptions import OrderAlreadyPushed, OrderNotFound, OrderStateConflict, RefundTooLarge
from campaign_svc.flash_sales import stock
from campaign_svc.group_buys.models import Seat, Team
from campaign_svc.members import service as members
from campaign_svc.orders.models import Order, Refund
from campaign_svc.orders.schemas import OrderCreate, OrderItem
from qunyun_shared.events.campaign import Attribution, OrderPaidV1, OrderPlacedV1, OrderRefundedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.pagination import decode_time_cursor


@dataclass(frozen=True)
class Pricing:
    """What an order is made of once its price is settled."""

    items: list[OrderItem]
    campaign_id: uuid.UUID | None = None
    content_id: uuid.UUID | None = None
    inviter_id: uuid.UUID | None = None
    community_id: uuid.UUID | None = None


async def place(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, order_in: OrderCreate, now: datetime
) -> Order:
    """An order from a member or pushed by a merchant: the member must be known to campaigns, the
    credited campaign must be the tenant's, a coupon must be redeemable; a pushed order that was paid
    is placed and paid at once. A merchant order id placed before answers that order, if the push says
    the same."""
    if order_in.merchant_order_id is not None:
        earlier = await _pushed_before(session, tenant_id, order_in)
        if earlier is not None:
            return earlier
    await members.get_member(session=session, tenant_id=tenant_id, member_id=order_in.member_id)
    attribution = order_in.attribution
    if attribution.campaign_id is not None:
        credited = await campaigns.get_campaign(
            session=session, tenant_id=tenant_id, campaign_id=attribution.campaign_id
        )
        campaigns.refuse_own_checkout(credited)
    pricing = Pricing(
        items=order_in.items,
        campaign_id=attribution.campaign_id,
        content_id=attribution.content_id,
        inviter_id=attribution.inviter_id,
        community_id=order_in.community_id,
    )
    order = await record(
        session=session,
        outbox=outbox,
        tenant_id=tenant_id,
        member_id=order_in.member_id,
        pricing=pricing,
        now=now,
        coupon_id=order_in.coupon_id,
        merchant_order_id=order_in.merchant_order_id,
    )
    if order_in.paid_at is not None:
        await pay(session=session, outbox=outbox, order=order, at=order_in.paid_at)
    return order


async def _pushed_before(session: AsyncSession, tenant_id: str, order_in: OrderCreate) -> Order | None:
    """The order placed before under the push's merchant order id, if it is the same order (a retry);
    a different order under that id is refused, naming the earlier one."""
    earlier = await session.scalar(
        select(Order).where(Order.tenant_id == tenant_id, Order.merchant_order_id == order_in.merchant_order_id)
    )
    if earlier is None:
        return None
    attribution = order_in.attribution
    same = (
        earlier.member_id == order_in.member_id
        and earlier.community_id == order_in.community_id
        and earlier.items == [item.model_dump() for item in order_in.items]
        and earlier.coupon_id == order_in.coupon_id
        and (earlier.content_id, earlier.inviter_id) == (attribution.content_id, attribution.inviter_id)
        and attribution.campaign_id in (None, earlier.campaign_id)
        and (order_in.paid_at is None or earlier.paid_at == order_in.paid_at)
    )
    if not same:
        raise OrderAlreadyPushed(
            f"Order {order_in.merchant_order_id!r} was placed already, as {earlier.id}, with other content.",
            order_id=str(earlier.id),
        )
    return earlier


async def record(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    member_id: uuid.UUID,
    pricing: Pricing,
    now: datetime,
    coupon_id: uuid.UUID | None = None,
    merchant_order_id: str | None = None,
) -> Order:
    """Writes a priced order and its `order.placed`, redeeming the coupon on it first."""
    order_id = uuid.uuid4()
    subtotal = sum(item.quantity * item.unit_price_fen for item in pricing.items)
    discount, campaign_id = 0, pricing.campaign_id
    if coupon_id is not None:
        redemption = await coupons.redeem(
            session=session,
            outbox=outbox,
            tenant_id=tenant_id,
            coupon_id=coupon_id,
            member_id=member_id,
            order_id=order_id,
            subtotal_fen=subtotal,
            first_order=not await _has_ordered(session, tenant_id, member_id),
            now=now,
        )
        discount, campaign_id = redemption.discount_fen, campaign_id or redemption.campaign_id
    order = Order(
        id=order_id,
        tenant_id=tenant_id,
        member_id=member_id,
        community_id=pricing.community_id,
        status="placed",
        items=[item.model_dump() for item in pricing.items],
        subtotal_fen=subtotal,
        discount_fen=discount,
        amount_fen=subtotal - discount,
        refunded_fen=0,
        campaign_id=campaign_id,
        coupon_id=coupon_id,
        content_id=pricing.content_id,
        inviter_id=pricing.inviter_id,
        merchant_order_id=merchant_order_id,
        placed_at=now,
    )
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:
        # The same merchant order pushed twice at once: this request rolls back whole; repeated, it is
        # answered the order the other placed.
        raise OrderAlreadyPushed(
            f"Order {merchant_order_id!r} was being placed at the same time; repeat the push to get it."
        ) from None
    placed = OrderPlacedV1(
        order_id=order.id,
        member_id=member_id,
        community_id=order.community_id,
        amount_fen=order.amount_fen,
        product_ids=[item.product_id for item in pricing.items],
        attribution=Attribution(
            campaign_id=campaign_id,
            coupon_id=coupon_id,
            content_id=order.content_id,
            inviter_id=order.inviter_id,
        ),
        placed_at=now,
    )
    await outbox.add(session, tenant_id=tenant_id, payloads=[placed])
    return order


async def _has_ordered(session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> bool:
    """Whether the member has an order that was not cancelled: a first-order coupon is for the first."""
    return (
        await session.scalar(
            select(Order.id)
            .where(Order.tenant_id == tenant_id, Order.member_id == member_id, Order.status != "cancelled")
            .limit(1)
        )
    ) is not None


async def get_order(*, session: AsyncSession, tenant_id: str, order_id: uuid.UUID, lock: bool = False) -> Order:
    """One of the tenant's orders, locked for update if `lock`."""
    order = await session.get(Order, order_id, with_for_update=lock, populate_existing=lock)
    if order is None or order.tenant_id != tenant_id:
        raise OrderNotFound(f"No order {order_id}.")
    return order


async def pay(*, session: AsyncSession, outbox: Outbox, order: Order, at: datetime) -> Order:
    """Marks a placed order paid at `at` and says so."""
    if order.status != "placed":
        raise OrderStateConflict(f"Order {order.id} is {order.status}; only a placed order can be paid.")
    order.status, order.paid_at = "paid", at
    paid = OrderPaidV1(order_id=order.id, member_id=order.member_id, amount_fen=order.amount_fen, paid_at=at)
    await outbox.add(session, tenant_id=order.tenant_id, payloads=[paid])
    return order


async def cancel(*, session: AsyncSession, order: Order, now: datetime) -> Order:
    """Cancels an unpaid order and gives back what it took."""
    if order.status != "placed":
        raise OrderStateConflict(f"Order {order.id} is {order.status}; only an unpaid order can be cancelled.")
    order.status, order.closed_at = "cancelled", now
    if order.coupon_id is not None:
        await coupons.restore(session=session, coupon_id=order.coupon_id, now=now)
    if order.campaign_id is not None:
        await _give_back_units(session, order)
        await _give_up_seat(session, order)
    return order


async def _give_back_units(session: AsyncSession, order: Order) -> None:
    assert order.campaign_id is not None
    units = sum(item["quantity"] for item in order.items)
    if await stock.give_back(session=session, campaign_id=order.campaign_id, quantity=units):
        await quotas.give_back(session=session, scope_id=order.campaign_id, member_id=order.member_id, amount=units)


async def _give_up_seat(session: AsyncSession, order: Order) -> None:
    seat = await session.scalar(select(Seat).where(Seat.order_id == order.id))
    if seat is None:
        return
    # A closed team keeps its seats: they are the record of who was in it.
    left = await session.execute(
        update(Team)
        .where(Team.id == seat.team_id, Team.status == "forming")
        .values(joined=Team.joined - 1)
        .returning(Team.id)
    )
    if left.first() is not None:
        await session.execute(delete(Seat).where(Seat.order_id == order.id))


async def refund(
    *, session: AsyncSession, outbox: Outbox, order: Order, amount_fen: int | None, reason: str, now: datetime
) -> Refund:
    """Refunds a paid order in full or in part, never more than was paid and not yet refunded."""
    if order.status not in ("paid", "partially_refunded"):
        raise OrderStateConflict(f"Order {order.id} is {order.status}; only a paid order can be refunded.")
    refundable = order.amount_fen - order.refunded_fen
    amount = refundable if amount_fen is None else amount_fen
    if amount > refundable or amount <= 0:
        raise RefundTooLarge(
            f"Order {order.id} has {refundable} fen left to refund; {amount} fen asked.", refundable_fen=refundable
        )
    order.refunded_fen += amount
    order.status = "refunded" if order.refunded_fen == order.amount_fen else "partially_refunded"
    if order.status == "refunded":
        order.closed_at = now
    entry = Refund(id=uuid.uuid4(), order_id=order.id, amount_fen=amount, reason=reason, refunded_at=now)
    session.add(entry)
    refunded = OrderRefundedV1(order_id=order.id, member_id=order.member_id, amount_fen=amount, refunded_at=now)
    await outbox.add(session, tenant_id=order.tenant_id, payloads=[refunded])
    return entry


async def orders_of(
    *, session: AsyncSession, tenant_id: str, member_id: uuid.UUID | None, limit: int, cursor: str | None
) -> list[Order]:
    """Newest first; `limit + 1` rows so the caller can tell whether there is a next page."""
    query = select(Order).where(Order.tenant_id == tenant_id)
    if member_id is not None:
        query = query.where(Order.member_id == member_id)
    if cursor is not None:
        at, last_id = decode_time_cursor(cursor)
        query = query.where(or_(Order.placed_at < at, and_(Order.placed_at == at, Order.id < last_id)))
    return list(await session.scalars(query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit + 1)))
