"""Community measures: members now, health and stage, top content."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from analytics_svc.activity import day_of
from analytics_svc.communities import health
from analytics_svc.communities import service as communities
from analytics_svc.communities.schemas import CommunityMemberCount, ContentRank, HealthRead, MetricRead
from analytics_svc.dependencies import IdempotentRoute
from analytics_svc.kpis import service as kpis
from analytics_svc.kpis.schemas import CommunityKpis
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/analytics/communities", tags=["communities"], route_class=IdempotentRoute)


@router.get("/{community_id}/members", response_model=CommunityMemberCount)
async def community_member_count(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> object:
    return await communities.community_member_count(
        session=session, tenant_id=caller.tenant_id, community_id=community_id
    )


@router.get("/{community_id}/health", summary="Health score over the last 30 days, by dimension and metric, and stage")
async def community_health(
    community_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    as_of: Annotated[date | None, Query(description="Last day of the window; default yesterday.")] = None,
) -> HealthRead:
    await communities.require_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    day = as_of or day_of(datetime.now(UTC)) - timedelta(1)
    found = await health.evaluate(session=session, tenant_id=caller.tenant_id, community_id=community_id, as_of=day)
    metrics = [
        MetricRead(
            dimension=m.dimension,
            name=m.name,
            value=found.metrics[m.name][0],
            score=found.metrics[m.name][1],
            target=m.target,
        )
        for m in health.METRICS
    ]
    return HealthRead(
        community_id=community_id,
        as_of=found.as_of,
        members=found.members,
        age_days=found.age_days,
        score=found.score,
        stage=found.stage,
        dimensions=found.dimensions,
        metrics=metrics,
    )


@router.get("/{community_id}/kpis", summary="Several KPIs over trailing windows (the last 7 and 30 days, say) at once")
async def community_kpis(
    community_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    kpi: Annotated[list[str], Query(min_length=1, max_length=30, description="KPIs of GET /analytics/kpis.")],
    days: Annotated[list[int], Query(min_length=1, description="The length of each window, in days.")],
    as_of: Annotated[date | None, Query(description="Last day of every window; default today.")] = None,
) -> CommunityKpis:
    await communities.require_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    end = as_of or day_of(datetime.now(UTC))
    return await kpis.community_kpis(
        session=session, tenant_id=caller.tenant_id, community_id=community_id, names=kpi, days=days, end=end
    )


@router.get("/{community_id}/top-content", summary="The community's content most engaged with")
async def top_content(
    community_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[ContentRank]:
    await communities.require_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    return [
        ContentRank.model_validate(c)
        for c in await communities.top_content(
            session=session, tenant_id=caller.tenant_id, community_id=community_id, limit=limit
        )
    ]
