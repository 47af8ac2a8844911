"""What a community's audience looks like to the API."""

import uuid

from pydantic import BaseModel


class CommunityAudience(BaseModel):
    community_id: uuid.UUID
    members: int
