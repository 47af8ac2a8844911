"""Imports in the API: their progress and the rows they could not take."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from qunyun_shared.schemas import Read


class ImportRead(Read):
    id: uuid.UUID
    status: Literal["queued", "running", "done"]
    total_rows: int
    processed_rows: int
    imported: int
    failed: int = Field(description="Rows not imported; see the import's errors.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        """Share of the rows processed, 0 to 1."""
        return round(self.processed_rows / self.total_rows, 4) if self.total_rows else 1.0


class ImportRowErrorRead(Read):
    row: int = Field(description="Line of the CSV file (the header is line 1).")
    field: str | None
    message: str


class ImportErrorsPage(BaseModel):
    errors: list[ImportRowErrorRead]
    next_after_row: int | None = Field(description="Pass as `after_row` for the next page; null on the last.")
