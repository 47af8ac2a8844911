"""Members only imported history touched, judged once that history is in.

A brand's history comes in as events, often hundreds of thousands, and each order of it would move its
member from segment to segment, every move announced to the services that follow segments and flags. So
ingestion rescores no member only imported events touched: it marks them (`rescore_marked_at`, the time of
the latest such batch), and this sweep judges them once no imported history of their tenant has come in
for a while (its import is over, or paused), against the tenant's current model, a chunk at a time. Their
segment and churn flag are then announced as today's judgement, live: the history is in, and the member
is at risk (or in a better segment) now, which is what win-backs are for.

A tenant with no model yet, or with more members marked than its model was fitted on (the first fit was
made on the first few members, before the history came in), is refitted instead: a recompute judges
everyone and takes back every mark, as the periodic refit does. A mark set again while a member is judged
stays, for the next sweep (analytics_svc.scoring.decisions). An erased member's mark goes with their facts.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import locks
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.scoring import roster, segments
from analytics_svc.scoring.decisions import write_decisions
from analytics_svc.scoring.models import TenantModel
from qunyun_shared.outbox import Outbox

# Members judged per sweep transaction.
CHUNK = 2_000
# The sweep looks at this many tenants whose history is in for one no other replica is judging.
CANDIDATES = 10

_MARKED = MemberFacts.rescore_marked_at


async def rescore_next(*, session: AsyncSession, outbox: Outbox, now: datetime, quiet: timedelta) -> int:
    """Judges a chunk of the marked members of a tenant no imported history has reached for `quiet`, or
    refits the tenant if its model is missing or too young for them; how many members were judged."""
    for tenant_id in await _settled_tenants(session, now - quiet):
        # The model's lock: one replica judges a tenant at a time, and none while it is refitted.
        if await locks.try_hold_tenant_model(session=session, tenant_id=tenant_id):
            return await _judge(session, outbox, tenant_id, now)
    return 0


async def _settled_tenants(session: AsyncSession, settled_by: datetime) -> list[str]:
    """Tenants with marked members whose latest mark is no later than `settled_by`, the longest waiting first."""
    found = await session.scalars(
        select(MemberFacts.tenant_id)
        .where(_MARKED.is_not(None))
        .group_by(MemberFacts.tenant_id)
        .having(func.max(_MARKED) <= settled_by)
        .order_by(func.min(_MARKED))
        .limit(CANDIDATES)
    )
    return list(found)


async def _judge(session: AsyncSession, outbox: Outbox, tenant_id: str, now: datetime) -> int:
    model = await session.get(TenantModel, tenant_id, populate_existing=True)
    marked = await session.scalar(select(func.count()).where(MemberFacts.tenant_id == tenant_id, _MARKED.is_not(None)))
    if model is None or (marked or 0) >= model.members:
        await segments.recompute(session=session, outbox=outbox, tenant_id=tenant_id, now=now)
        return marked or 0
    columns = [getattr(MemberFacts, c) for c in (*roster.IDENTITY, *roster.TIMES, *roster.DAYS, *roster.AMOUNTS)]
    rows = await session.execute(
        select(*columns)
        .where(MemberFacts.tenant_id == tenant_id, _MARKED.is_not(None))
        .order_by(MemberFacts.member_id)
        .limit(CHUNK)
    )
    chunk = roster.of_facts(rows.all(), now)
    scores = segments.Fit.of(model).score(chunk.history)
    written = await write_decisions(
        session=session, decisions=segments.decisions_of(chunk, scores, range(len(chunk))), now=now
    )
    # A member an event rescored since the chunk was read was announced by their batch.
    judged = [i for i in range(len(chunk)) if chunk.numbers[i] in written]
    await segments.announce(
        session=session, outbox=outbox, tenant_id=tenant_id, members=chunk, scores=scores, which=judged
    )
    return len(chunk)
