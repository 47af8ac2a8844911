"""Roles, permissions and the permission every route needs: the gateway's one table of who may do what.

A permission is `<area>:<action>`; services see the caller's permissions in the signed identity and act
on the few that change what they return (`members:personal_data` unmasks phone numbers).
"""

from collections.abc import Iterable, Mapping
from enum import StrEnum

from gateway_svc.proxy.resources import resource_of
from qunyun_shared.identity import Identity
from qunyun_shared.problems import DomainError

ALL = "*"
PERSONAL_DATA = "members:personal_data"

# Every permission there is, with what it allows: the vocabulary of roles and of API-key scopes.
PERMISSIONS: Mapping[str, str] = {
    "members:read": "See communities, members, tags and points.",
    "members:write": "Create and change communities, members, tags and points; import members.",
    PERSONAL_DATA: "See phone numbers unmasked, look members up by phone, export and erase a member's data.",
    "content:read": "See content, the calendar, engagement and surveys.",
    "content:write": "Create, schedule and moderate content; run surveys.",
    "campaigns:read": "See campaigns, coupons, orders, automations and A/B tests.",
    "campaigns:write": "Create and run campaigns, coupons, automations and A/B tests.",
    "orders:write": "Place, pay, cancel and refund orders (merchants pushing orders from their shops).",
    "analytics:read": "See KPIs, cohorts, segments, health and alerts.",
    "analytics:write": "Set alert rules and start a segment recompute.",
    "webhooks:manage": "Manage webhook endpoints, see their delivery log and replay deliveries.",
    "api_keys:manage": "Issue, list and revoke API keys.",
    "operators:manage": "Invite operators, change their roles and disable them.",
}


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    INTEGRATION = "integration"


_READS = frozenset({"members:read", "content:read", "campaigns:read", "analytics:read"})
ROLE_PERMISSIONS: Mapping[Role, frozenset[str]] = {
    Role.OWNER: frozenset({ALL}),
    Role.ADMIN: frozenset(PERMISSIONS),
    Role.OPERATOR: _READS | {"members:write", "content:write", "campaigns:write", "orders:write", "webhooks:manage"},
    Role.ANALYST: _READS | {"analytics:write"},
    Role.INTEGRATION: frozenset({"members:read", "members:write", "campaigns:read", "orders:write", "webhooks:manage"}),
}

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PermissionDenied(DomainError):
    status, slug, title = 403, "permission-denied", "Permission denied"


def permissions_of(roles: Iterable[str], scopes: Iterable[str] | None = None) -> frozenset[str]:
    """What roles allow, narrowed to `scopes` when a credential was issued with them."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[Role(role)]
    if scopes is None:
        return frozenset(granted)
    wanted = frozenset(scopes)
    return wanted if ALL in granted else wanted & granted


def allows(caller: Identity, permission: str) -> bool:
    return ALL in caller.permissions or permission in caller.permissions


def require(caller: Identity, permission: str) -> None:
    if not allows(caller, permission):
        raise PermissionDenied(f"This needs the {permission} permission, which the credential does not have.")


def permission_for(method: str, path: str) -> str | None:
    """The permission a proxied request needs (`path` is what follows /api/v1/), or None for no such API."""
    resource = resource_of(path)
    if resource is None:
        return None
    if method in _READ_METHODS:
        return f"{resource.area}:read"
    if path.split("/", 2)[:2] == ["campaigns", "orders"]:
        return "orders:write"
    return f"{resource.area}:write"


def require_grantable(caller: Identity, permissions: frozenset[str]) -> None:
    """A credential or account may be given only what its grantor holds: no one escalates by proxy."""
    if ALL in caller.permissions:
        return
    beyond = sorted(permissions - caller.permissions)
    if beyond:
        raise PermissionDenied(f"Granting {', '.join(beyond)} needs holding it; the credential does not.")


def unknown_permissions(names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(PERMISSIONS))
