"""member-svc settings."""

from pydantic import Field

from qunyun_shared.sealing import MasterKey
from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8001
    # Base64 of at least 32 random bytes; encrypts phone numbers and keys their lookup hashes.
    personal_data_key: MasterKey
    # How often points past their expiry are looked for (each sweep expires what is due, in batches).
    points_expiry_sweep_seconds: float = Field(default=60.0, gt=0)
