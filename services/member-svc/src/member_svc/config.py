"""member-svc settings."""

from pydantic import SecretStr, field_validator

from member_svc.personal_data import PersonalDataCipher
from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8001
    # Base64 of at least 32 random bytes; encrypts phone numbers and keys their lookup hashes.
    personal_data_key: SecretStr

    @field_validator("personal_data_key")
    @classmethod
    def _usable_as_a_key(cls, value: SecretStr) -> SecretStr:
        PersonalDataCipher(value.get_secret_value())  # raises ValueError with the reason
        return value
