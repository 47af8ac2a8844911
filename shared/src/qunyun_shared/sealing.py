"""Values sealed at rest: AES-256-GCM under a key derived for one purpose from a base64 master key.

A sealed value is a version byte, a 12-byte nonce and the ciphertext with its tag. The caller binds it
to where it belongs (`context`, authenticated but not stored): a value copied onto another row no
longer opens.
"""

import base64
import binascii
import os
from typing import Annotated

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import AfterValidator, SecretStr

MIN_KEY_BYTES = 32
_NONCE_BYTES = 12
# Leads every sealed value, so the scheme or key can change later with old values still readable.
_VERSION = b"\x01"


def master_key(encoded: str) -> bytes:
    """The bytes of a base64 master key of at least 32 bytes; raises ValueError saying what is wrong."""
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("must be base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"must be at least {MIN_KEY_BYTES} random bytes, base64-encoded")
    return key


def derive_key(master: bytes, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose (HKDF-SHA256): one master key serves several without reuse."""
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose).derive(master)


class Sealer:
    """Seals and opens values for one purpose with a key derived from a base64 master key."""

    def __init__(self, encoded_master_key: str, *, purpose: bytes) -> None:
        self._aead = AESGCM(derive_key(master_key(encoded_master_key), purpose))

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        """Version + nonce + ciphertext of `plaintext`, bound to `context`."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        """The plaintext; raises ValueError for an unknown version and InvalidTag for a wrong key or context."""
        if sealed[:1] != _VERSION:
            raise ValueError(f"sealed with an unknown version {sealed[:1]!r}")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, ciphertext, context)


def _usable_as_master_key(value: SecretStr) -> SecretStr:
    master_key(value.get_secret_value())  # raises ValueError saying what is wrong
    return value


# A setting holding a master key (base64 of 32+ random bytes), checked when the settings are read.
MasterKey = Annotated[SecretStr, AfterValidator(_usable_as_master_key)]
