"""What campaigns know of a member, in the API."""

import uuid
from datetime import datetime

from qunyun_shared.schemas import Read


class MemberRead(Read):
    member_id: uuid.UUID
    inviter_id: uuid.UUID | None
    first_joined_at: datetime | None
    communities_joined: int
    marketing_consent: bool
    level: int
    churn_risk: bool
    birthday: str | None
