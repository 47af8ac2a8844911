"""gateway tables: tenants, their credentials and their webhook endpoints."""

from gateway_svc.models.accounts import Operator, RefreshToken
from gateway_svc.models.base import IDEMPOTENCY_KEYS, MESSAGING, Base
from gateway_svc.models.rate_limits import TenantRateLimit
from gateway_svc.models.tenants import ApiKey, Tenant
from gateway_svc.models.webhooks import (
    ERASED_MEMBERS,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ERASED_MEMBERS",
    "IDEMPOTENCY_KEYS",
    "MESSAGING",
    "ApiKey",
    "Base",
    "DeliveryStatus",
    "Operator",
    "RefreshToken",
    "Tenant",
    "TenantRateLimit",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
