"""content-svc API models."""

import uuid

from pydantic import BaseModel


class CommunityAudience(BaseModel):
    community_id: uuid.UUID
    members: int
