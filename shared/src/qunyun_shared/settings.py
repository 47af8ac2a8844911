"""Settings every service shares; each service extends `ServiceSettings` with its own fields."""

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "dev"}


class ServiceSettings(BaseSettings):
    """Environment-driven configuration, validated at start; secrets have no defaults."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: str
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = Field(default="qunyun", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    internal_token_secret: SecretStr
    log_level: str = "INFO"
    host: str = "0.0.0.0"
    port: int = 8000
    # Processes serving HTTP on this instance; on Kubernetes scale with replicas and keep 1.
    workers: int = Field(default=1, ge=1, le=16)
    service_instance: str = ""

    @field_validator("internal_token_secret")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret.lower() in _PLACEHOLDER_SECRETS or len(secret) < 32:
            raise ValueError("must be a random secret of at least 32 characters")
        return value
