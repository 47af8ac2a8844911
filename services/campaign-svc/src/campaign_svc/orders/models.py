"""Orders, placed by members or pushed by merchants, and their refunds."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Order(Base):
    """An order with what it is credited to. `amount_fen` is what the member pays: the items' total
    less the coupon's discount. Status: placed -> paid -> (partially_)refunded, or placed -> cancelled.
    An imported order is the merchant's history: its times are when it happened."""

    __tablename__ = "orders"
    __table_args__ = (
        # Also what a history import looks its merchant ids up by.
        UniqueConstraint("tenant_id", "merchant_order_id"),
        Index("ix_orders_tenant_member", "tenant_id", "member_id"),
        Index("ix_orders_campaign", "campaign_id"),
        # The listing, newest first: without it a tenant with years of imported orders sorts them all.
        Index("ix_orders_tenant_placed_at", "tenant_id", "placed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID]
    community_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(20))
    # [{"product_id", "quantity", "unit_price_fen"}]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    subtotal_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    campaign_id: Mapped[uuid.UUID | None]
    coupon_id: Mapped[uuid.UUID | None]
    content_id: Mapped[uuid.UUID | None]
    inviter_id: Mapped[uuid.UUID | None]
    # The merchant's own order number (unique per tenant), when the merchant named the order.
    merchant_order_id: Mapped[str | None] = mapped_column(String(64))
    # Imported history: it happened before it reached Qunyun, and touched no live stock, coupon or budget.
    imported: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The code of the coupon an imported order was bought with, as the merchant's history names it.
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    # What an imported order's row said (SHA-256 of its canonical form): a row imported again is
    # unchanged only if it says the same.
    history_digest: Mapped[str | None] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    refunded_at: Mapped[datetime] = mapped_column(UtcDateTime)
