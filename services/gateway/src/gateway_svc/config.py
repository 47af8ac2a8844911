"""gateway settings."""

from pydantic import SecretStr

from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8000
    member_svc_url: str = "http://127.0.0.1:8001"
    content_svc_url: str = "http://127.0.0.1:8002"
    campaign_svc_url: str = "http://127.0.0.1:8003"
    analytics_svc_url: str = "http://127.0.0.1:8004"
    platform_admin_token: SecretStr
    upstream_timeout_seconds: float = 10.0
    max_body_bytes: int = 1024 * 1024
    # CSV uploads (member imports) may be larger: 100,000 members come to about 10 MB.
    max_upload_bytes: int = 64 * 1024 * 1024
