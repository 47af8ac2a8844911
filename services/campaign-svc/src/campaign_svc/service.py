"""campaign-svc use cases."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.exceptions import ProspectNotFound
from campaign_svc.models import Prospect
from qunyun_shared.db import upsert
from qunyun_shared.events.member import MemberJoinedV1


async def record_joins(*, session: AsyncSession, joins: Sequence[tuple[str, MemberJoinedV1]]) -> None:
    """Counts each join against its member; the first join fixes the inviter and the join time."""
    table = Prospect.__table__
    for tenant_id, join in joins:
        statement = upsert(session, table).values(
            member_id=join.member_id,
            tenant_id=tenant_id,
            inviter_id=join.inviter_id,
            first_joined_at=join.joined_at,
            communities_joined=1,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.member_id],
                set_={"communities_joined": table.c.communities_joined + 1},
            )
        )


async def get_prospect(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> Prospect:
    """Returns what campaigns know of one of the tenant's members."""
    prospect = await session.get(Prospect, member_id)
    if prospect is None or prospect.tenant_id != tenant_id:
        raise ProspectNotFound(f"No member {member_id} has joined a community yet.")
    return prospect
