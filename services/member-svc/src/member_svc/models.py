"""Every table of member-svc on one metadata: importing this module declares each domain's tables on
`Base.metadata`, the schema Alembic migrates (`migrations/env.py`) and the migration test compares."""

from member_svc.communities import models as communities
from member_svc.db import Base
from member_svc.imports import models as imports
from member_svc.members import models as members
from member_svc.personal_data import models as personal_data
from member_svc.points import models as points
from member_svc.referrals import models as referrals
from member_svc.tags import models as tags

__all__ = [
    "Base",
    "communities",
    "imports",
    "members",
    "personal_data",
    "points",
    "referrals",
    "tags",
]
