"""Events analytics-svc consumes: every measured event into one batch handler, campaigns' runs, and erasure."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import erasure
from analytics_svc.ingestion.service import ingest
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


async def on_member_erased(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await erasure.forget_members(
        session, [(tenant_id, e.member_id) for tenant_id, e in payloads_of(events, MemberErasedV1)]
    )


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(MEASURED, ingest),
    **dict.fromkeys(("campaign.started", "campaign.ended"), referrals.record_campaign_runs),
    "member.erased": on_member_erased,
}
