"""member-svc settings."""

from pydantic import Field, SecretStr, field_validator

from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8001
    # Base64 of at least 32 random bytes; encrypts phone numbers and keys their lookup hashes.
    personal_data_key: SecretStr
    # How often points past their expiry are looked for (each sweep expires what is due, in batches).
    points_expiry_sweep_seconds: float = Field(default=60.0, gt=0)

    @field_validator("personal_data_key")
    @classmethod
    def _usable_as_a_key(cls, value: SecretStr) -> SecretStr:
        PersonalDataCipher(value.get_secret_value())  # raises ValueError with the reason
        return value
