"""A flash sale's stock, spread over slots."""

import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base


class CampaignStock(Base):
    """Units a campaign sells at its own price (a flash sale), spread over slots (`stock.py`): each slot
    is sold by conditional updates, so thousands of simultaneous attempts sell exactly the stock. The
    database itself refuses a slot sold below nothing or past its total, whatever a statement does."""

    __tablename__ = "campaign_stock"
    __table_args__ = (CheckConstraint("sold >= 0 AND sold <= total", name="sold_within_total"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)
    sold: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
