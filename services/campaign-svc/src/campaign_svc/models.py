"""Every table of campaign-svc on one metadata: importing this module declares each domain's tables on
`Base.metadata`, the schema Alembic migrates (`migrations/env.py`) and the migration test compares."""

from campaign_svc.automation import models as automation
from campaign_svc.campaigns import models as campaigns
from campaign_svc.checkins import models as checkins
from campaign_svc.coupons import models as coupons
from campaign_svc.db import Base
from campaign_svc.experiments import models as experiments
from campaign_svc.flash_sales import models as flash_sales
from campaign_svc.group_buys import models as group_buys
from campaign_svc.lotteries import models as lotteries
from campaign_svc.members import models as members
from campaign_svc.orders import models as orders
from campaign_svc.referrals import models as referrals
from campaign_svc.tenants import models as tenants

__all__ = [
    "Base",
    "automation",
    "campaigns",
    "checkins",
    "coupons",
    "experiments",
    "flash_sales",
    "group_buys",
    "lotteries",
    "members",
    "orders",
    "referrals",
    "tenants",
]
