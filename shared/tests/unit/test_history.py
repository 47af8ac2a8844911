from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, SkipValidation

from qunyun_shared.history import HistoryBatchRead, PastTime, RowResult, check_rows, content_digest
from qunyun_shared.schemas import Input

pytestmark = pytest.mark.unit


class Purchase(Input):
    merchant_order_id: str
    amount_fen: int
    placed_at: PastTime


class Batch(BaseModel):
    rows: list[SkipValidation[Purchase]]


def test_each_row_is_checked_on_its_own_and_a_bad_row_names_its_number_and_fields() -> None:
    rows: list[Any] = [
        {"merchant_order_id": "A1", "amount_fen": "1200", "placed_at": "2025-03-01T10:00:00+08:00"},
        {"merchant_order_id": "A2", "amount_fen": "twelve", "placed_at": "2025-03-01T10:00:00"},
        {"merchant_order_id": "A3", "amount_fen": 1, "placed_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    ]
    good, bad = check_rows(Purchase, rows)
    assert [(number, row.amount_fen) for number, row in good] == [(0, 1200)]
    assert [r.row for r in bad] == [1, 2]
    assert {p.field for p in bad[0].problems} == {"amount_fen", "placed_at"}  # every problem, not the first
    assert "future" in bad[1].problems[0].message


def test_the_batch_documents_its_rows_but_leaves_checking_them_to_check_rows() -> None:
    batch = Batch.model_validate({"rows": [{"amount_fen": "not checked here"}]})
    assert batch.rows == [{"amount_fen": "not checked here"}]  # type: ignore[comparison-overlap]
    assert "merchant_order_id" in str(Batch.model_json_schema())


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_batch_answers_in_row_order_with_counts(shuffled: bool) -> None:
    results = [
        RowResult(row=0, outcome="created"),
        RowResult(row=1, outcome="unchanged"),
        RowResult(row=2, outcome="failed"),
        RowResult(row=3, outcome="created"),
    ]
    read = HistoryBatchRead.of(results[::-1] if shuffled else results)
    assert [r.row for r in read.results] == [0, 1, 2, 3]
    assert (read.created, read.unchanged, read.failed) == (2, 1, 1)


class Stay(Input):
    merchant_id: str
    nights: list[datetime]
    rooms: list[str]


def test_a_rows_digest_is_its_content_whatever_offsets_its_times_were_written_in() -> None:
    utc = Stay(merchant_id="S1", nights=[datetime(2025, 3, 1, 12, tzinfo=UTC)], rooms=["a", "b"])
    shanghai = Stay.model_validate({"merchant_id": "S1", "nights": ["2025-03-01T20:00:00+08:00"], "rooms": ["a", "b"]})
    assert content_digest(utc) == content_digest(shanghai)
    assert content_digest(utc) != content_digest(utc.model_copy(update={"merchant_id": "S2"}))
    assert content_digest(utc) != content_digest(utc.model_copy(update={"rooms": ["b", "a"]}))
    # Fields the caller compares its own way: here rooms in any order.
    reordered = utc.model_copy(update={"rooms": ["b", "a"]})
    assert content_digest(utc, rooms=sorted(utc.rooms)) == content_digest(reordered, rooms=sorted(reordered.rooms))
