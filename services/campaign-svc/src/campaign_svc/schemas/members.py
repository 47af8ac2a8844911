"""campaign-svc API models."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ProspectRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    member_id: uuid.UUID
    inviter_id: uuid.UUID | None
    first_joined_at: datetime
    communities_joined: int
