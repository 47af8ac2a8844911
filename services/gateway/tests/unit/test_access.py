"""Roles, permissions and the permission each route needs."""

from pathlib import Path

import pytest

from gateway_svc import access, access_reference
from qunyun_shared.identity import Identity

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", "members/123", "members:read"),
        ("POST", "communities", "members:write"),
        ("DELETE", "tags/rules/1", "members:write"),
        ("GET", "campaigns/orders", "campaigns:read"),
        ("POST", "campaigns/orders", "orders:write"),
        ("POST", "campaigns/orders/1/refunds", "orders:write"),
        ("POST", "campaigns/coupon-templates", "campaigns:write"),
        ("PUT", "content/communities/1/policy", "content:write"),
        ("GET", "analytics/kpis/gmv", "analytics:read"),
        ("POST", "analytics/alerts/rules", "analytics:write"),
        ("GET", "internal/metrics", None),
    ],
)
def test_every_route_needs_its_areas_permission(method: str, path: str, permission: str | None) -> None:
    assert access.permission_for(method, path) == permission


def test_roles_hold_only_known_permissions_and_owners_hold_all() -> None:
    for role, granted in access.ROLE_PERMISSIONS.items():
        assert granted <= set(access.PERMISSIONS) | {access.ALL}, role
    owner = Identity("t", "p", ("owner",), access.permissions_of(["owner"]))
    assert all(access.allows(owner, name) for name in access.PERMISSIONS)


def test_only_owners_and_admins_see_personal_data() -> None:
    allowed = {role for role in access.Role if access.allows(_as(role), access.PERSONAL_DATA)}
    assert allowed == {access.Role.OWNER, access.Role.ADMIN}


def test_scopes_narrow_a_credential_within_its_roles() -> None:
    assert access.permissions_of(["integration"], ["orders:write", "operators:manage"]) == {"orders:write"}
    assert access.permissions_of(["owner"], ["analytics:read"]) == {"analytics:read"}
    assert access.permissions_of(["analyst", "integration"]) >= {"analytics:write", "orders:write"}


def test_no_one_grants_beyond_what_they_hold() -> None:
    access.require_grantable(_as(access.Role.ADMIN), access.permissions_of(["operator"]))
    with pytest.raises(access.PermissionDenied):
        access.require_grantable(_as(access.Role.ADMIN), access.permissions_of(["owner"]))
    with pytest.raises(access.PermissionDenied):
        access.require_grantable(_as(access.Role.OPERATOR), access.permissions_of(["admin"]))


def test_the_access_reference_doc_is_current() -> None:
    assert (ROOT / "docs" / "access.md").read_text() == access_reference.render(), "run `make docs`"


def _as(role: access.Role) -> Identity:
    return Identity("t", f"operator:{role}", (role,), access.permissions_of([role]))
