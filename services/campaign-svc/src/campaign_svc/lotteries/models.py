"""Lotteries: each one's committed seed and chain head, its prizes' stock, and its draws (the audit log)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Lottery(Base):
    """A lottery campaign's draw state, created on its first use. Every draw locks this row, so draws of one
    lottery are numbered and chained one after another. `seed` stays secret until the campaign ends;
    `commitment` (its SHA-256) is public from the start, and `head_hash` is the last draw's entry hash."""

    __tablename__ = "lotteries"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    seed: Mapped[bytes] = mapped_column(LargeBinary(32))
    commitment: Mapped[str] = mapped_column(String(64))
    draws: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LotteryPrize(Base):
    """How many of a prize have been awarded: taken by one conditional update, never past `stock`."""

    __tablename__ = "lottery_prizes"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lotteries.campaign_id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    stock: Mapped[int] = mapped_column(BigInteger)
    awarded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class LotteryDraw(Base):
    """One draw, and its entry in the lottery's hash-chained audit log. The hashed entry names the member
    only by `member_ref` (sha256 of the salt and the member id), so erasing the member (the salt and the
    plain id go) leaves the chain and the rolls checkable."""

    __tablename__ = "lottery_draws"
    __table_args__ = (
        UniqueConstraint("campaign_id", "sequence"),
        Index("ix_lottery_draws_tenant_member", "tenant_id", "member_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lotteries.campaign_id"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[uuid.UUID]
    salt: Mapped[str | None] = mapped_column(String(32))
    member_ref: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(32))
    roll: Mapped[int] = mapped_column(Integer)
    # The prize the roll fell on, whether or not it could be awarded.
    prize_key: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(12))  # won | lost | out_of_stock | over_budget
    value_fen: Mapped[int] = mapped_column(BigInteger)
    granted: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    grant_error: Mapped[str | None] = mapped_column(String(500))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime)
