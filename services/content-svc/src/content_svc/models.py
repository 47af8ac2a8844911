"""Every table of content-svc on one metadata: importing this module declares each domain's tables on
`Base.metadata`, the schema Alembic migrates (`migrations/env.py`) and the migration test compares."""

from content_svc.audience import models as audience
from content_svc.calendar import models as calendar
from content_svc.db import Base
from content_svc.engagement import models as engagement
from content_svc.items import models as items
from content_svc.moderation import models as moderation
from content_svc.surveys import models as surveys

__all__ = [
    "Base",
    "audience",
    "calendar",
    "engagement",
    "items",
    "moderation",
    "surveys",
]
