"""campaign-svc settings."""

from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8003
    # How often campaigns are started and ended on schedule, coupons expired and group-buy teams closed.
    sweep_seconds: float = 1.0
