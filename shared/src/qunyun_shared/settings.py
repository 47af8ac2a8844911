"""Settings every service shares; each service extends `ServiceSettings` with its own fields."""

from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDER_SECRETS = {"changeme", "change-me", "change_me", "secret", "dev"}
_MIN_SECRET_LENGTH = 32


def refuse_weak_secret(value: SecretStr) -> SecretStr:
    """The one rule for every secret a service is given: random-looking, at least 32 characters."""
    secret = value.get_secret_value()
    if secret.lower() in _PLACEHOLDER_SECRETS or len(secret) < _MIN_SECRET_LENGTH:
        raise ValueError(f"must be a random secret of at least {_MIN_SECRET_LENGTH} characters")
    return value


# A secret setting checked by `refuse_weak_secret`: INTERNAL_TOKEN_SECRET here, the gateway's own secrets.
StrongSecret = Annotated[SecretStr, AfterValidator(refuse_weak_secret)]


class ServiceSettings(BaseSettings):
    """Environment-driven configuration, validated at start; secrets have no defaults."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: str
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = Field(default="qunyun", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    internal_token_secret: StrongSecret
    log_level: str = "INFO"
    host: str = "0.0.0.0"
    port: int = 8000
    # Processes serving HTTP on this instance; on Kubernetes scale with replicas and keep 1.
    workers: int = Field(default=1, ge=1, le=16)
    service_instance: str = ""
