"""The public API's one routing table: for each resource under /api/v1, the service that owns it and the
permission area that guards it. Forwarding, permissions and the merged OpenAPI document all read it."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Service(StrEnum):
    MEMBER = "member"
    CONTENT = "content"
    CAMPAIGN = "campaign"
    ANALYTICS = "analytics"


@dataclass(frozen=True, slots=True)
class Resource:
    service: Service
    area: str
    """The `<area>` of the `<area>:read` and `<area>:write` permissions."""


# The first path segment under /api/v1 names the resource; each resource has exactly one owning service.
RESOURCES: Mapping[str, Resource] = {
    "communities": Resource(Service.MEMBER, "members"),
    "members": Resource(Service.MEMBER, "members"),
    "points": Resource(Service.MEMBER, "members"),
    "tags": Resource(Service.MEMBER, "members"),
    "content": Resource(Service.CONTENT, "content"),
    "campaigns": Resource(Service.CAMPAIGN, "campaigns"),
    "analytics": Resource(Service.ANALYTICS, "analytics"),
}


def resource_of(path: str) -> Resource | None:
    """The resource `path` (what follows /api/v1/) names, or None for no public API."""
    segments = path.split("/")
    # Dot segments could climb out of /api/v1 to a service's internal endpoints (/metrics, /docs).
    if "." in segments or ".." in segments:
        return None
    return RESOURCES.get(segments[0])
