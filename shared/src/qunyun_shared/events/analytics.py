"""Events published by analytics-svc."""

from typing import Literal
from uuid import UUID

from pydantic import Field

from qunyun_shared.events.base import EventPayload, event

Segment = Literal["high_value", "potential", "ordinary", "churn_risk"]
CommunityStage = Literal["startup", "growth", "mature", "decline"]


@event(
    "member.churn_risk",
    1,
    producer="analytics-svc",
    summary="A member's churn-risk flag was raised (their score crossed the threshold) or, `flagged` false, cleared.",
)
class MemberChurnRiskV1(EventPayload):
    member_id: UUID
    score: float = Field(ge=0, le=1)
    reasons: list[str]
    # Added later: an event without it raised the flag, which was all the event announced then.
    flagged: bool = True


@event("member.segment_changed", 1, producer="analytics-svc", summary="A member moved to another value segment.")
class MemberSegmentChangedV1(EventPayload):
    member_id: UUID
    from_segment: Segment | None = None
    to_segment: Segment


@event("community.stage_changed", 1, producer="analytics-svc", summary="A community entered another lifecycle stage.")
class CommunityStageChangedV1(EventPayload):
    subject_field = "community_id"
    community_id: UUID
    from_stage: CommunityStage | None = None
    to_stage: CommunityStage


@event("alert.raised", 1, producer="analytics-svc", summary="A KPI breached a tenant's threshold.")
class AlertRaisedV1(EventPayload):
    subject_field = "alert_id"
    alert_id: UUID
    kpi: str
    level: Literal["info", "warning", "critical"]
    value: float
    threshold: float
    community_id: UUID | None = None
