"""The rows a consumer batch reads and changes, as plain objects: a batch holds thousands, and the ORM's
instrumentation of each (identity map, change tracking, a flush of one UPDATE per changed row) costs more
than the events' arithmetic. Each record has its table's columns, in order (a unit test keeps them so),
and is written back by ingestion.writes in a statement or two."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnDefault, Table

from analytics_svc.ingestion.models import MemberCommunity, MemberFacts, MembershipChange, OrderFact

FACTS = cast(Table, MemberFacts.__table__)
MEMBERSHIPS = cast(Table, MemberCommunity.__table__)
ORDERS = cast(Table, OrderFact.__table__)
CHANGES = cast(Table, MembershipChange.__table__)


@dataclass(slots=True)
class MemberRecord:
    """A row of member_facts; `number` is None until the row of a member new to analytics is written."""

    number: int | None
    member_id: uuid.UUID
    tenant_id: str
    memberships: int
    first_joined_at: datetime | None
    inviter_id: uuid.UUID | None
    first_active_at: datetime | None
    last_active_at: datetime | None
    engagement_fast: float
    engagement_slow: float
    engagement_at: datetime | None
    orders: int
    purchase_days: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    spend_fen: int
    first_day_fen: int | None
    segment: str | None
    churn_flagged: bool
    scored_at: datetime | None
    rescore_marked_at: datetime | None

    @classmethod
    def new(cls, *, member_id: uuid.UUID, tenant_id: str) -> "MemberRecord":
        """The facts of a member analytics has not heard of yet: their columns' defaults."""
        return cls(number=None, member_id=member_id, tenant_id=tenant_id, **_NEW_MEMBER)


# A new member's facts: each column's default (None where it has none).
_NEW_MEMBER: dict[str, Any] = {
    c.name: c.default.arg if isinstance(c.default, ColumnDefault) else None
    for c in FACTS.columns
    if c.name not in {"number", "member_id", "tenant_id"}
}


@dataclass(slots=True)
class MembershipRecord:
    """A row of member_communities: a community a member has joined, with their first join of it."""

    member_id: uuid.UUID
    community_id: uuid.UUID
    tenant_id: str
    first_joined_at: datetime | None = None
    inviter_id: uuid.UUID | None = None


@dataclass(slots=True)
class OrderRecord:
    """A row of order_facts."""

    order_id: uuid.UUID
    tenant_id: str
    member_id: uuid.UUID
    community_id: uuid.UUID | None
    amount_fen: int
    placed_at: datetime
    paid_at: datetime | None
    refunded_fen: int
    campaign_id: uuid.UUID | None
    content_id: uuid.UUID | None
    inviter_id: uuid.UUID | None
