"""What every service's history import shares: batches of rows named by the merchant's own ids, checked row by
row, and answered row by row.

A batch is idempotent per row: a row whose merchant id was imported before with the same content is
`unchanged` and answers the id it got then; with different content it fails, naming the earlier record. A
row that fails writes nothing and keeps no other row of its batch from landing. The rows are documented
with their model's schema but checked one at a time (`check_rows`), so one bad row is a problem of that
row, by its number, not a 422 for the batch.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ValidationError

from qunyun_shared.schemas import Read

# Rows per request: a batch is checked and written in one transaction, well inside a request's time.
MAX_ROWS = 1000

Outcome = Literal["created", "unchanged", "failed"]


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC):
        raise ValueError("is in the future: history is what already happened")
    return value


# When something in a merchant's history happened: with its offset, and not after now.
PastTime = Annotated[AwareDatetime, AfterValidator(_not_in_future)]


class RowProblem(Read):
    field: str | None
    message: str


class RowResult(Read):
    """What became of one row: the id of its record (created now or earlier) or why it failed."""

    row: int
    id: UUID | None = None
    outcome: Outcome
    problems: list[RowProblem] = []


class HistoryBatchRead(Read):
    """Each row's result, in the order of the rows, and the counts of each outcome."""

    results: list[RowResult]
    created: int
    unchanged: int
    failed: int

    @classmethod
    def of(cls, results: Sequence[RowResult]) -> "HistoryBatchRead":
        ordered = sorted(results, key=lambda result: result.row)
        count = {outcome: sum(1 for r in ordered if r.outcome == outcome) for outcome in ("created", "unchanged")}
        return cls(
            results=ordered,
            created=count["created"],
            unchanged=count["unchanged"],
            failed=len(ordered) - sum(count.values()),
        )


def failed(row: int, message: str, field: str | None = None) -> RowResult:
    return RowResult(row=row, outcome="failed", problems=[RowProblem(field=field, message=message)])


def content_digest(row: BaseModel, **normalised: Any) -> str:
    """What a row says, as a hash that tells whether a row sent again is the same content: its fields (given or
    defaulted alike) with every time as the instant it names, whatever offset it was written with, and
    `normalised` in place of the fields the caller says how to compare (a list whose order does not matter, a
    phone by its keyed hash so the digest says nothing of it)."""
    said = _instants(row.model_dump()) | {name: _instants(value) for name, value in normalised.items()}
    text = json.dumps(said, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _instants(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {key: _instants(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_instants(inner) for inner in value]
    return value


RowModel = TypeVar("RowModel", bound=BaseModel)


def check_rows(model: type[RowModel], rows: Sequence[Any]) -> tuple[list[tuple[int, RowModel]], list[RowResult]]:
    """Each row checked against `model` on its own: the good ones with their numbers, and a failed result,
    with every problem found, for each bad one."""
    good: list[tuple[int, RowModel]] = []
    bad: list[RowResult] = []
    for number, row in enumerate(rows):
        try:
            good.append((number, model.model_validate(row)))
        except ValidationError as exc:
            problems = [
                RowProblem(field=".".join(str(part) for part in error["loc"]) or None, message=error["msg"])
                for error in exc.errors(include_url=False)
            ]
            bad.append(RowResult(row=number, outcome="failed", problems=problems))
    return good, bad
