"""Moderation's use cases: each tenant's lexicon (its terms, compiled once per change) and the review queue
of held items, where a reviewer's decision releases or rejects them."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.calendar import publishing
from content_svc.exceptions import AlreadyDecided, ReviewCaseNotFound
from content_svc.items import service as items
from content_svc.moderation import Lexicon, Term, fold, screening
from content_svc.moderation.models import LexiconTerm, LexiconVersion, ReviewCase
from content_svc.moderation.schemas import LexiconEntry, ReviewDecision
from qunyun_shared.db import upsert
from qunyun_shared.outbox import Outbox
from qunyun_shared.pagination import decode_time_cursor, encode_time_cursor


class LexiconCache:
    """Each tenant's compiled lexicon, rebuilt when its version moves (a change on any replica)."""

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[int, Lexicon]] = {}

    async def lexicon_for(self, session: AsyncSession, tenant_id: str) -> Lexicon:
        version = await session.scalar(select(LexiconVersion.version).where(LexiconVersion.tenant_id == tenant_id))
        cached = self._compiled.get(tenant_id)
        if cached is not None and cached[0] == (version or 0):
            return cached[1]
        lexicon = Lexicon(
            Term(e.text, e.category, e.action) for e in await terms_of(session=session, tenant_id=tenant_id)
        )
        self._compiled[tenant_id] = (version or 0, lexicon)
        return lexicon


async def terms_of(*, session: AsyncSession, tenant_id: str) -> list[LexiconEntry]:
    """The tenant's own terms, alphabetically."""
    rows = await session.scalars(
        select(LexiconTerm).where(LexiconTerm.tenant_id == tenant_id).order_by(LexiconTerm.term)
    )
    return [LexiconEntry(text=t.term, category=t.category, action=t.action) for t in rows]


async def replace_terms(*, session: AsyncSession, tenant_id: str, entries: list[LexiconEntry]) -> None:
    """Replaces all of the tenant's terms by `entries`."""
    await session.execute(delete(LexiconTerm).where(LexiconTerm.tenant_id == tenant_id))
    await add_terms(session=session, tenant_id=tenant_id, entries=entries)


async def add_terms(*, session: AsyncSession, tenant_id: str, entries: list[LexiconEntry]) -> None:
    """Adds terms, or changes the category and action of ones already there (matched after folding)."""
    rows = {
        fold(e.text): {"tenant_id": tenant_id, "term": fold(e.text), "category": e.category, "action": e.action}
        for e in entries
    }
    if rows:
        statement = upsert(session, LexiconTerm.__table__)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "term"],
                set_={"category": statement.excluded.category, "action": statement.excluded.action},
            ),
            list(rows.values()),
        )
    await _bump_version(session, tenant_id)


async def remove_term(*, session: AsyncSession, tenant_id: str, text: str) -> bool:
    """Removes a term (matched after folding); False if the lexicon had no such term."""
    removed = await session.execute(
        delete(LexiconTerm).where(LexiconTerm.tenant_id == tenant_id, LexiconTerm.term == fold(text))
    )
    await _bump_version(session, tenant_id)
    return bool(removed.rowcount)  # type: ignore[attr-defined]


async def _bump_version(session: AsyncSession, tenant_id: str) -> None:
    statement = upsert(session, LexiconVersion.__table__).values(tenant_id=tenant_id, version=1)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id"], set_={"version": LexiconVersion.__table__.c.version + 1}
        )
    )


async def review_queue(
    *, session: AsyncSession, tenant_id: str, status: str, limit: int, cursor: str | None
) -> tuple[list[ReviewCase], str | None]:
    """Held items, oldest first: the order reviewers work in."""
    query = select(ReviewCase).where(ReviewCase.tenant_id == tenant_id, ReviewCase.status == status)
    if cursor is not None:
        at, case_id = decode_time_cursor(cursor)
        query = query.where((ReviewCase.created_at > at) | ((ReviewCase.created_at == at) & (ReviewCase.id > case_id)))
    cases = list((await session.scalars(query.order_by(ReviewCase.created_at, ReviewCase.id).limit(limit + 1))).all())
    more = len(cases) > limit
    cases = cases[:limit]
    return cases, (encode_time_cursor(cases[-1].created_at, cases[-1].id) if more else None)


async def decide(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    case_id: uuid.UUID,
    decision: ReviewDecision,
    reviewer: str,
) -> ReviewCase:
    """A reviewer's decision on a held item: approved, it becomes ready (and its due placements publish);
    rejected, it never appears and whatever was scheduled is cancelled."""
    case = await session.get(ReviewCase, case_id)
    if case is None or case.tenant_id != tenant_id:
        raise ReviewCaseNotFound(f"No review case {case_id}.")
    # The item before its case, the order an edit and an erasure take them in: taken the other way round,
    # a decision and an edit of the same item at once deadlock, and one of them fails.
    item = await items.get_item(session=session, tenant_id=tenant_id, item_id=case.content_id, lock=True)
    await session.refresh(case, with_for_update=True)
    if case.status != "pending":
        raise AlreadyDecided(f"Review case {case_id} was {case.status} already.")
    now = datetime.now(UTC)
    case.status = "approved" if decision.decision == "approve" else "rejected"
    case.note, case.decided_by, case.decided_at = decision.note, reviewer, now
    if item.status == "held":
        item.status = "ready" if decision.decision == "approve" else "rejected"
        item.updated_at = now
        if item.status == "rejected":
            await publishing.cancel_scheduled(session=session, content_id=item.id)
        outcome = "reject" if item.status == "rejected" else "pass"
        await outbox.add(
            session, tenant_id=tenant_id, payloads=[screening.moderated(item, outcome, reviewed_by=reviewer)]
        )
    return case
