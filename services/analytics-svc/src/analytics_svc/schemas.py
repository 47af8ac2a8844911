"""analytics-svc API models."""

import uuid

from pydantic import BaseModel, Field


class CommunityMemberCount(BaseModel):
    community_id: uuid.UUID
    members: int = Field(description="Members now in the community: joins minus leaves.")
    joined_total: int
    left_total: int
