"""Every table of analytics-svc on one metadata: importing this module declares each domain's tables on
`Base.metadata`, the schema Alembic migrates (`migrations/env.py`) and the migration test compares."""

from analytics_svc.alerts import models as alerts
from analytics_svc.communities import models as communities
from analytics_svc.db import Base
from analytics_svc.ingestion import models as ingestion
from analytics_svc.kpis import models as kpis
from analytics_svc.referrals import models as referrals
from analytics_svc.scoring import models as scoring

__all__ = [
    "Base",
    "alerts",
    "communities",
    "ingestion",
    "kpis",
    "referrals",
    "scoring",
]
