"""What the history imports of items, posts and engagement share: telling the rows of a batch that are new
from those repeating a record imported before (or an earlier row of the same batch) under the same merchant
id, which are unchanged when they say the same and refused when they do not."""

import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from qunyun_shared.history import RowResult, failed


class Candidate(Protocol):
    """A row that passed every check but this one: its number, its merchant id, the id it would get."""

    @property
    def number(self) -> int: ...

    @property
    def merchant_id(self) -> str: ...

    @property
    def record_id(self) -> uuid.UUID: ...

    @property
    def content(self) -> Hashable: ...


C = TypeVar("C", bound=Candidate)


@dataclass(frozen=True)
class Earlier:
    """A record a merchant id already names: its id and what it says; `row` when it is a row of this batch."""

    id: uuid.UUID
    content: Hashable
    row: int | None = None


def sort_out(
    candidates: Iterable[C],
    *,
    earlier: Mapping[str, Earlier],
    same: Callable[[C, Earlier], bool],
    field: str,
    noun: str,
) -> tuple[list[RowResult], list[C]]:
    """The results of the rows repeating a merchant id, and the rows to create (the first of each new id)."""
    known = dict(earlier)
    results: list[RowResult] = []
    new: list[C] = []
    for candidate in candidates:
        before = known.get(candidate.merchant_id)
        if before is None:
            known[candidate.merchant_id] = Earlier(candidate.record_id, candidate.content, candidate.number)
            new.append(candidate)
        elif same(candidate, before):
            results.append(RowResult(row=candidate.number, id=before.id, outcome="unchanged"))
        else:
            results.append(failed(candidate.number, _conflict(candidate.merchant_id, before, field, noun), field))
    return results, new


def _conflict(merchant_id: str, before: Earlier, field: str, noun: str) -> str:
    if before.row is not None:
        return f"{field} {merchant_id!r} is also row {before.row} of this batch, which says otherwise"
    return f"{field} {merchant_id!r} was imported before as {noun} {before.id}, which says otherwise"


def settle_lost(
    results: list[RowResult],
    candidates: Sequence[C],
    *,
    lost: set[str],
    earlier: Mapping[str, Earlier],
    same: Callable[[C, Earlier], bool],
    field: str,
    noun: str,
) -> list[RowResult]:
    """The results again after rows to create lost their merchant ids to an import running at the same time:
    those rows, and the rows repeating them, are judged against the records it made."""
    if not lost:
        return results
    numbers = {c.number for c in candidates if c.merchant_id in lost}
    kept = [r for r in results if r.row not in numbers]
    again, new = sort_out(
        (c for c in candidates if c.merchant_id in lost), earlier=earlier, same=same, field=field, noun=noun
    )
    # Nothing is new now (the other import committed them); should one be gone again, its row asks to be resent.
    gone = [
        failed(c.number, f"{field} {c.merchant_id!r} was being imported at the same time: send it again", field)
        for c in new
    ]
    return kept + again + gone
