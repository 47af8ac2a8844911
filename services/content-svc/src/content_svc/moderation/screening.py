"""Screening an item: the verdict on its title and body together, and what the verdict does to the item
(its text stored as moderation left it, a hold queued for review, `content.moderated` announced)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.items.models import ContentItem
from content_svc.moderation import Lexicon, Verdict, fold, moderate
from content_svc.moderation.models import ReviewCase
from qunyun_shared.events.content import ContentModeratedV1
from qunyun_shared.outbox import Outbox

_SEVERITY = {"pass": 0, "mask": 1, "hold": 2}


@dataclass(frozen=True)
class Screening:
    """The verdict on an item's title and body together."""

    outcome: str
    title: str
    body: str
    reasons: list[str]
    findings: list[dict[str, Any]]


def screen(lexicon: Lexicon, *, title: str, body: str, ugc: bool, repeated: bool = False) -> Screening:
    """The stricter of the title's and the body's verdicts, with every finding named by its field."""
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


def as_published(verdict: Screening) -> Screening:
    """The verdict on history, which went out when it happened: its masks apply (personal data is never kept
    in the clear), what would hold it now does not, since holding it could not take it back."""
    masked = [finding for finding in verdict.findings if finding["action"] == "mask"]
    reasons = list(dict.fromkeys(finding["reason"] for finding in masked))
    return Screening("mask" if masked else "pass", verdict.title, verdict.body, reasons, masked)


def fingerprint(text: str) -> str:
    """The same message, whatever its spacing, width or case: how a repeated post is recognised."""
    return hashlib.blake2b("".join(fold(text).split()).encode(), digest_size=16).hexdigest()


async def apply_verdict(
    *, session: AsyncSession, outbox: Outbox, item: ContentItem, verdict: Screening, now: datetime
) -> None:
    """Stores the screened text (personal data masked even while held), opens a review case on a hold and
    announces `content.moderated`."""
    item.title, item.body = verdict.title, verdict.body
    item.moderation_outcome, item.moderation_reasons = verdict.outcome, verdict.reasons
    item.status = "held" if verdict.outcome == "hold" else "ready"
    item.updated_at = now
    session.add(item)
    await session.flush()
    # An edit supersedes the case opened for the text it replaced.
    await session.execute(
        update(ReviewCase)
        .where(ReviewCase.content_id == item.id, ReviewCase.status == "pending")
        .values(status="superseded", decided_at=now)
    )
    if verdict.outcome == "hold":
        session.add(
            ReviewCase(
                tenant_id=item.tenant_id,
                content_id=item.id,
                reasons=verdict.reasons,
                findings=verdict.findings,
                status="pending",
                created_at=now,
            )
        )
    await outbox.add(session, tenant_id=item.tenant_id, payloads=[moderated(item, verdict.outcome)])


def moderated(item: ContentItem, outcome: str, *, reviewed_by: str | None = None) -> ContentModeratedV1:
    """The `content.moderated` event telling what moderation (or a reviewer) made of an item."""
    return ContentModeratedV1(
        content_id=item.id,
        outcome=outcome,
        reasons=item.moderation_reasons,
        source=item.source,
        author_member_id=item.author_member_id,
        reviewed_by=reviewed_by,
    )
