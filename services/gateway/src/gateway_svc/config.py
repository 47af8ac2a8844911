"""gateway settings."""

from typing import Literal

from pydantic import Field, SecretStr

from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8000
    member_svc_url: str = "http://127.0.0.1:8001"
    content_svc_url: str = "http://127.0.0.1:8002"
    campaign_svc_url: str = "http://127.0.0.1:8003"
    analytics_svc_url: str = "http://127.0.0.1:8004"
    platform_admin_token: SecretStr
    upstream_timeout_seconds: float = 10.0
    # Calls to the services: the client (both measured in bench/gateway.py), the time to connect, attempts
    # for requests safe to repeat (all within upstream_timeout_seconds), and the breaker that gives a
    # failing service a rest after that many consecutive failures.
    upstream_client: Literal["aiohttp", "httpx"] = "aiohttp"
    upstream_connect_timeout_seconds: float = Field(default=1.0, gt=0)
    upstream_attempts: int = Field(default=3, ge=1, le=5)
    upstream_backoff_seconds: float = Field(default=0.05, ge=0)
    upstream_max_connections: int = Field(default=200, ge=1)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_cool_down_seconds: float = Field(default=5.0, gt=0)
    # How long an aggregated view waits for its sections; one still missing then is marked unavailable.
    view_section_deadline_seconds: float = Field(default=1.5, gt=0, le=30)
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_days: int = 30
    # How long a replica trusts what it looked up about a credential: the delay before a revoked key,
    # a disabled operator or a changed role takes effect.
    credential_cache_seconds: float = 10.0
    max_body_bytes: int = 1024 * 1024
    # CSV uploads (member imports) may be larger: 100,000 members come to about 10 MB.
    max_upload_bytes: int = 64 * 1024 * 1024
    # Rate limits: budgets live in Redis, shared by the replicas, under keys starting with the prefix
    # (deployments or test sessions sharing a Redis never share budgets). A check waits for Redis at
    # most redis_timeout_seconds, then lets the request through unchecked (fail open).
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = Field(default="qunyun", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    redis_timeout_seconds: float = Field(default=0.1, gt=0)
    # The default plan, in requests per window; the platform admin may give a tenant its own.
    rate_limit_per_credential: int = Field(default=1000, ge=1)
    rate_limit_per_tenant: int = Field(default=3000, ge=1)
    rate_limit_window_seconds: int = Field(default=10, ge=1, le=3600)
    # How long a replica trusts a tenant's plan: the delay before a changed plan applies everywhere.
    rate_limit_plan_cache_seconds: float = 10.0
    # Partner webhooks. Private targets (loopback, private networks) are for development and tests only.
    webhook_allow_private_targets: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # The waits before each retry, growing threefold to a cap of 6 h (each drawn within ±20%): a message
    # gets one try more than there are waits, over about a day, then counts as failed (replayable).
    webhook_retry_seconds: tuple[float, ...] = Field(
        default=(5, 15, 45, 135, 405, 1215, 3645, 10935, 21600, 21600, 21600), min_length=1
    )
    webhook_max_in_flight: int = Field(default=256, ge=1)
    webhook_endpoint_max_in_flight: int = Field(default=32, ge=1)
    # An endpoint failing every attempt for a day (and at least 5 times) is announced as failing, and
    # disabled two days later unless a delivery to it succeeds meanwhile.
    webhook_failing_notice_seconds: float = Field(default=86_400, ge=0)
    webhook_disable_notice_seconds: float = Field(default=2 * 86_400, ge=0)
    webhook_failing_min_failures: int = Field(default=5, ge=1)
    webhook_log_retention_days: int = Field(default=30, ge=1)
