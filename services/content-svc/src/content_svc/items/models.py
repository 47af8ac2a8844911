"""The content library's table: every item, whoever wrote it."""

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from content_svc.db import Base
from qunyun_shared.db import UtcDateTime


class ContentItem(Base):
    """A piece of content: written by the brand (PGC), an invited expert (OGC) or a member (UGC)."""

    __tablename__ = "content_items"
    __table_args__ = (
        Index("ix_content_items_tenant_created", "tenant_id", "created_at"),
        # Repeated-message detection looks up a member's recent posts by fingerprint.
        Index("ix_content_items_author_fingerprint", "tenant_id", "author_member_id", "fingerprint"),
        # History imports name items by the merchant's own id, unique within the tenant.
        Index("ix_content_items_tenant_merchant_content_id", "tenant_id", "merchant_content_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(3))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    media: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Where and to whom it may go: empty means no restriction.
    target_communities: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_segments: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # UGC: who wrote it, what kind of post, and the topic it replies to.
    author_member_id: Mapped[uuid.UUID | None] = mapped_column()
    post_kind: Mapped[str | None] = mapped_column(String(20))
    reply_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("content_items.id"))
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    # ready (may be published), held (awaits review), rejected, withdrawn, erased (its author was).
    status: Mapped[str] = mapped_column(String(10))
    moderation_outcome: Mapped[str] = mapped_column(String(4))
    moderation_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Imported history: the merchant's id for the item, and a digest of the row it came in, which a row
    # sent again under that id must match.
    merchant_content_id: Mapped[str | None] = mapped_column(String(128))
    history_digest: Mapped[str | None] = mapped_column(String(64))
