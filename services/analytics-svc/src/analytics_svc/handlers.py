"""Events analytics-svc consumes: every measured event into one batch handler, campaigns' runs, and erasure."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import erasure
from analytics_svc.ingestion import service as ingestion
from analytics_svc.referrals import service as referrals
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.member import MemberErasedV1
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox

MEASURED = (
    "member.joined",
    "member.left",
    "member.invited",
    "content.posted",
    "content.engaged",
    "content.moderated",
    "survey.answered",
    "order.placed",
    "order.paid",
    "order.refunded",
    "checkin.recorded",
)


async def on_measured(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    await ingestion.ingest(session=session, outbox=outbox, events=events)


async def on_campaign_run(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await referrals.record_campaign_runs(session=session, events=events)


async def on_member_erased(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    erased = [(tenant_id, e.member_id) for tenant_id, e in payloads_of(events, MemberErasedV1)]
    await erasure.forget_members(session=session, erased=erased)


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(MEASURED, on_measured),
    **dict.fromkeys(("campaign.started", "campaign.ended"), on_campaign_run),
    "member.erased": on_member_erased,
}
