"""Every table of the gateway on one metadata: importing this module declares each domain's tables on
`Base.metadata`, the schema Alembic migrates (`migrations/env.py`) and the migration test compares."""

from gateway_svc.accounts import models as accounts
from gateway_svc.db import Base
from gateway_svc.imports import models as imports
from gateway_svc.ratelimit import models as ratelimit
from gateway_svc.tenants import models as tenants
from gateway_svc.webhooks import models as webhooks

__all__ = [
    "Base",
    "accounts",
    "imports",
    "ratelimit",
    "tenants",
    "webhooks",
]
