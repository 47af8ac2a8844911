"""Imports in the API: a job's progress, the lines it could not take and what each record became."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from gateway_svc.imports.kinds import Kind
from qunyun_shared.history import Outcome
from qunyun_shared.schemas import Read

ImportStatus = Literal["queued", "running", "paused", "done", "failed"]


class ImportRead(Read):
    id: uuid.UUID
    kind: Kind
    campaign_id: uuid.UUID | None = Field(description="The campaign whose check-ins these are.")
    status: ImportStatus = Field(
        description="`paused`: a service is away, the batch is tried again at `retry_at` (no line fails for it); "
        "`failed`: the service refused the job itself (see `reason`), the lines after `processed_lines` untried."
    )
    total_lines: int = Field(description="Lines after the header.")
    processed_lines: int
    records: int = Field(description="Records (members, orders, ...) processed; an order's item lines make one.")
    created: int
    unchanged: int = Field(description="Imported before with the same content: the earlier record's id is kept.")
    failed: int = Field(description="Records not imported; see the import's errors.")
    reason: str | None
    retry_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        """Share of the lines processed, 0 to 1."""
        return round(self.processed_lines / self.total_lines, 4) if self.total_lines else 1.0


class ImportPage(BaseModel):
    imports: list[ImportRead]
    next_cursor: str | None


class ImportErrorRead(BaseModel):
    line: int = Field(description="Line of the file (the header is line 1).")
    field: str | None = Field(description="The column (or the row's field) at fault, if one is.")
    message: str


class ImportErrorPage(BaseModel):
    errors: list[ImportErrorRead]
    next_cursor: str | None


class ImportResultRead(BaseModel):
    line: int = Field(description="First line of the record in the file.")
    merchant_id: str | None = Field(description="The merchant's id of the record (member, order, item, action).")
    id: uuid.UUID | None = Field(description="Our id of the record it became (null: failed).")
    outcome: Outcome


class ImportResultPage(BaseModel):
    results: list[ImportResultRead]
    next_cursor: str | None
