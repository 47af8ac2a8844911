"""What campaigns know of a member, in the API."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    member_id: uuid.UUID
    inviter_id: uuid.UUID | None
    first_joined_at: datetime | None
    communities_joined: int
    marketing_consent: bool
    level: int
    churn_risk: bool
    birthday: str | None
