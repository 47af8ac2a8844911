"""member-svc settings."""

import base64
import binascii

from pydantic import SecretStr, field_validator

from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8001
    # Base64 of at least 32 random bytes; encrypts phone numbers and keys their lookup hashes.
    personal_data_key: SecretStr

    @field_validator("personal_data_key")
    @classmethod
    def _needs_32_random_bytes(cls, value: SecretStr) -> SecretStr:
        try:
            key = base64.b64decode(value.get_secret_value(), validate=True)
        except binascii.Error:
            raise ValueError("must be base64") from None
        if len(key) < 32:
            raise ValueError("must decode to at least 32 bytes")
        return value
