"""The single source of truth for every event on the bus: type, version, producer and payload."""

from qunyun_shared.events import analytics, campaign, content, gateway, member  # noqa: F401  (registers them)
from qunyun_shared.events.base import REGISTRY, EventPayload, EventSpec, spec_for

CATALOGUE: dict[tuple[str, int], EventSpec] = REGISTRY


def latest_versions() -> dict[str, int]:
    """The newest version of each event type."""
    latest: dict[str, int] = {}
    for type_, version in CATALOGUE:
        latest[type_] = max(version, latest.get(type_, 0))
    return latest


__all__ = ["CATALOGUE", "EventPayload", "EventSpec", "latest_versions", "spec_for"]
