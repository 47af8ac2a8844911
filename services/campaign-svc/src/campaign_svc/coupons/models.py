"""Coupon templates and the coupons issued from them."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class CouponTemplate(Base):
    """What a coupon is worth and who may hold how many. A coupon's most is `amount_off_fen`, or
    `max_discount_fen` for percent off: the sum its campaign's budget must cover while it is unredeemed."""

    __tablename__ = "coupon_templates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    discount: Mapped[str] = mapped_column(String(12))  # amount_off | percent_off
    amount_off_fen: Mapped[int | None] = mapped_column(BigInteger)
    percent_off: Mapped[int | None] = mapped_column(Integer)
    max_discount_fen: Mapped[int] = mapped_column(BigInteger)
    min_spend_fen: Mapped[int] = mapped_column(BigInteger)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    per_member_limit: Mapped[int] = mapped_column(Integer)
    total_stock: Mapped[int | None] = mapped_column(BigInteger)
    issued: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    first_order_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Coupon(Base):
    """One member's coupon. `source` names why it was issued (an operator's request, a rule firing on an
    event, a referral), so the same cause never issues twice. Status: issued -> redeemed | expired."""

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("template_id", "source"),
        Index("ix_coupons_tenant_member", "tenant_id", "member_id"),
        Index("ix_coupons_status_expires", "status", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupon_templates.id"))
    campaign_id: Mapped[uuid.UUID]
    member_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    order_id: Mapped[uuid.UUID | None]
    discount_fen: Mapped[int | None] = mapped_column(BigInteger)
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
