"""analytics-svc dependencies."""

from analytics_svc.db import IDEMPOTENCY_KEYS
from qunyun_shared.idempotent_routes import route_class

# Every router's class: each write answers a repeat of its Idempotency-Key with its first answer.
IdempotentRoute = route_class(IDEMPOTENCY_KEYS)
