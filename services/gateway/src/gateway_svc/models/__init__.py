"""gateway tables: tenants, their credentials and their webhook endpoints."""

from gateway_svc.models.base import MESSAGING, Base
from gateway_svc.models.tenants import ApiKey, Tenant

__all__ = ["MESSAGING", "ApiKey", "Base", "Tenant"]
