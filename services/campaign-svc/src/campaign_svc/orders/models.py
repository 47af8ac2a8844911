"""Orders, placed by members or pushed by merchants, and their refunds."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Order(Base):
    """An order with what it is credited to. `amount_fen` is what the member pays: the items' total
    less the coupon's discount. Status: placed -> paid -> (partially_)refunded, or placed -> cancelled."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_orders_tenant_member", "tenant_id", "member_id"),
        Index("ix_orders_campaign", "campaign_id"),
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
    # The merchant's own order number when the order was pushed from their shop.
    external_id: Mapped[str | None] = mapped_column(String(64))
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
