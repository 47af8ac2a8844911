"""Import jobs, the files they read and what each batch of them came to."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway_svc.db import Base
from qunyun_shared.db import UtcDateTime


class ImportJob(Base):
    """A file being imported for a tenant, as the caller who uploaded it.

    `processed_lines` is the cursor: the lines up to it are in committed batches, so a worker taking the job
    over goes on from the line after. A worker holds the job while `lease_until` lies ahead.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(12))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), index=True)
    # Who uploaded it, as the services are told on every batch: the identity the upload was allowed for.
    principal: Mapped[str] = mapped_column(String(100))
    roles: Mapped[list[str]] = mapped_column(JSON)
    permissions: Mapped[list[str]] = mapped_column(JSON)
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    file_parts: Mapped[int] = mapped_column(Integer)
    total_lines: Mapped[int] = mapped_column(Integer)
    processed_lines: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Why the job is paused (a service away) or failed; when a paused job tries again.
    reason: Mapped[str | None] = mapped_column(String(300))
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    worker: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ImportFilePart(Base):
    """A slice of an uploaded file, in order: files are stored and read a part at a time, never whole. Dropped
    when the job ends (the file may hold phone numbers)."""

    __tablename__ = "import_file_parts"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ImportBatch(Base):
    """What one batch of a job came to: each record's result and each line's problems, as JSON arrays written
    once with the batch (one row per batch, not per line: an import of a million lines writes a thousand)."""

    __tablename__ = "import_batches"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    first_line: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_line: Mapped[int] = mapped_column(Integer)
    # [[line, merchant_id, record id, outcome], ...] and [[line, field, message], ...], in line order.
    results: Mapped[bytes] = mapped_column(LargeBinary)
    errors: Mapped[bytes] = mapped_column(LargeBinary)
    error_count: Mapped[int] = mapped_column(Integer)
