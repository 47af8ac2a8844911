"""gateway settings."""

from typing import Literal

from pydantic import Field, model_validator

from qunyun_shared.sealing import MasterKey
from qunyun_shared.settings import ServiceSettings, StrongSecret
from qunyun_shared.storable_text import MAX_JSON_BYTES


class Settings(ServiceSettings):
    port: int = 8000
    member_svc_url: str = "http://127.0.0.1:8001"
    content_svc_url: str = "http://127.0.0.1:8002"
    campaign_svc_url: str = "http://127.0.0.1:8003"
    analytics_svc_url: str = "http://127.0.0.1:8004"
    platform_admin_token: StrongSecret
    # Signs operators' access tokens. The gateway's alone: the services hold INTERNAL_TOKEN_SECRET, which
    # verifies the internal identity, and must not be able to mint an operator's token.
    access_token_secret: StrongSecret
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
    # Sign-in attempts: per account (password guessing) and per client address (one client spraying
    # many accounts); no budget shared by everyone. While Redis is away an in-process limiter keeps them.
    sign_in_per_account: int = Field(default=10, ge=1)
    sign_in_account_window_seconds: int = Field(default=300, ge=1, le=86_400)
    sign_in_per_address: int = Field(default=30, ge=1)
    sign_in_address_window_seconds: int = Field(default=60, ge=1, le=86_400)
    # argon2 hashes (64 MiB and tens of ms each) at once per process, and how many more may wait for
    # one; past that a sign-in is refused at once with 503 and Retry-After.
    password_hashing_concurrency: int = Field(default=2, ge=1, le=64)
    password_hashing_queue: int = Field(default=16, ge=0)
    # API keys looked up in the database and found unknown, per client address, before further
    # lookups from that address are refused with 429.
    unknown_keys_per_address: int = Field(default=20, ge=1)
    unknown_keys_window_seconds: int = Field(default=60, ge=1, le=86_400)
    refresh_token_ttl_days: int = 30
    # How long a replica trusts what it looked up about a credential: the delay before a revoked key,
    # a disabled operator or a changed role takes effect.
    credential_cache_seconds: float = 10.0
    # Credentials remembered per replica; past that the least recently used are forgotten first.
    credential_cache_size: int = Field(default=10_000, ge=1)
    max_body_bytes: int = MAX_JSON_BYTES  # what the services read of a JSON body to check it, too
    # CSV uploads (member imports) may be larger: 100,000 members come to about 10 MB.
    max_upload_bytes: int = 64 * 1024 * 1024
    # History imports (imports/): a file of at most import_max_bytes, stored and read a megabyte at a time;
    # jobs run at once per process (a tenant's one after another, in upload order); batches one job has at
    # its service at once; how long a batch may take the service; the longest wait between tries while a
    # service is away (the job is paused meanwhile, no line fails for it).
    import_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    import_concurrent_jobs: int = Field(default=2, ge=1, le=32)
    import_batches_in_flight: int = Field(default=2, ge=1, le=8)
    import_batch_timeout_seconds: float = Field(default=60.0, gt=0)
    import_retry_max_seconds: float = Field(default=60.0, gt=0)
    # Rate limits: budgets live in Redis, shared by the replicas, under keys starting with the prefix
    # (deployments or test sessions sharing a Redis never share budgets). A check waits for Redis at
    # most redis_timeout_seconds, then lets an authenticated request through unchecked (fail open);
    # sign-ins and unknown API keys fall back to an in-process limiter instead.
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
    # Encrypts partners' signing secrets at rest (webhooks/sealed_secrets.py): base64 of 32+ random bytes.
    webhook_secret_key: MasterKey
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

    @model_validator(mode="after")
    def _access_tokens_have_their_own_key(self) -> "Settings":
        if self.access_token_secret.get_secret_value() == self.internal_token_secret.get_secret_value():
            raise ValueError("ACCESS_TOKEN_SECRET must differ from INTERNAL_TOKEN_SECRET, which every service holds")
        return self
