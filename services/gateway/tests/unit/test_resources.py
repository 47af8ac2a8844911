"""The one routing table: every resource has one owning service with an address and one permission area."""

import re

import pytest

from gateway_svc import access
from gateway_svc.main import create_app
from gateway_svc.proxy.api import ResourcePath
from gateway_svc.proxy.resources import RESOURCES, Service, resource_of

pytestmark = pytest.mark.unit


def test_every_service_owns_a_resource() -> None:
    assert {resource.service for resource in RESOURCES.values()} == set(Service)


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_permissions_follow_the_resources_area(name: str) -> None:
    area = RESOURCES[name].area
    assert access.permission_for("GET", f"{name}/1") == f"{area}:read"
    assert access.permission_for("DELETE", f"{name}/1") == f"{area}:write"


@pytest.mark.parametrize(
    "path", ["communities/../metrics", "members/./x", "analytics/..", "nowhere", "", "docs", "openapi.json"]
)
def test_no_resource_outside_the_table_or_above_it(path: str) -> None:
    assert resource_of(path) is None
    assert access.permission_for("GET", path) is None


def test_a_resource_is_named_by_the_first_segment() -> None:
    assert resource_of("communities/1/members") == RESOURCES["communities"]
    assert resource_of("campaigns/orders/1/refunds") == RESOURCES["campaigns"]


def test_no_route_of_the_gateways_own_starts_with_a_resource() -> None:
    """The resources' proxy route is matched before the gateway's own routes: one of those starting with a
    resource would never be reached."""
    own = create_app().openapi()["paths"]
    below = [path.removeprefix("/api/v1/") for path in own if path.startswith("/api/v1/")]
    assert below, "the gateway has routes of its own under /api/v1"
    assert not [path for path in below if path.split("/", 1)[0] in RESOURCES]


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        ("communities", True),
        ("communities/1/members", True),
        ("analytics/kpis/gmv", True),
        ("communitiesx", False),
        ("views/members/1", False),
        ("auth/login", False),
        ("", False),
    ],
)
def test_the_proxy_route_matches_exactly_the_tables_resources(path: str, routed: bool) -> None:
    assert (re.fullmatch(ResourcePath.regex, path) is not None) is routed
