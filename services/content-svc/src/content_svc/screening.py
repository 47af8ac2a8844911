"""Moderation of what operators and members write: the tenant's lexicon, compiled once per change, and
the verdict on an item's title and body."""

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.models import LexiconTerm, LexiconVersion
from content_svc.moderation import Lexicon, Term, Verdict, fold, moderate
from content_svc.schemas import LexiconEntry
from qunyun_shared.db import upsert

_SEVERITY = {"pass": 0, "mask": 1, "hold": 2}


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


@dataclass(frozen=True)
class Screening:
    """The verdict on an item's title and body together."""

    outcome: str
    title: str
    body: str
    reasons: list[str]
    findings: list[dict[str, Any]]


def screen(lexicon: Lexicon, *, title: str, body: str, ugc: bool, repeated: bool = False) -> Screening:
    verdicts: dict[str, Verdict] = {
        "title": moderate(title, lexicon, ugc=ugc),
        "body": moderate(body, lexicon, ugc=ugc, repeated=repeated),
    }
    outcome = max((v.outcome for v in verdicts.values()), key=_SEVERITY.__getitem__)
    reasons = list(dict.fromkeys(r for v in verdicts.values() for r in v.reasons))
    findings = [
        {"field": field, "kind": f.kind, "start": f.start, "end": f.end, "action": f.action, "reason": f.reason}
        for field, v in verdicts.items()
        for f in v.findings
    ]
    return Screening(outcome, verdicts["title"].text, verdicts["body"].text, reasons, findings)


def fingerprint(text: str) -> str:
    """The same message, whatever its spacing, width or case: how a repeated post is recognised."""
    return hashlib.blake2b("".join(fold(text).split()).encode(), digest_size=16).hexdigest()
