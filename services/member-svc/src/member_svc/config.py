"""member-svc settings."""

from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8001
