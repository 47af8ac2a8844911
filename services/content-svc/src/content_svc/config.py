"""content-svc settings."""

from pydantic import Field

from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8002
    # How often the publisher looks for due placements when nothing woke it sooner.
    publish_poll_seconds: float = Field(default=1.0, gt=0)
    # Ranking: a topic the member engages with most surfaces as if posted this many hours later.
    feed_affinity_boost_hours: float = Field(default=24.0, ge=0)
    # Below this many engagements a community's hour histogram is too thin to trust; personas decide.
    slot_min_engagements: int = Field(default=50, ge=1)
