"""Protection of members' identifiers: encrypted at rest, found by a keyed hash, shown masked."""

import base64
import binascii
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from member_svc.exceptions import MalformedPhone

# Mainland mobile numbers, with or without the +86 / 0086 country code and separators.
_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_SEPARATORS = re.compile(r"[\s\-()]")
_NONCE_BYTES = 12
# Leads every sealed value, so the key can be rotated later with old values still readable.
_VERSION = b"\x01"


def normalise_phone(raw: str) -> str:
    """The 11-digit mobile number in `raw`, or MalformedPhone."""
    match = _MOBILE.match(_SEPARATORS.sub("", raw))
    if match is None:
        raise MalformedPhone("A phone must be a mainland mobile number such as 13812341234.", field="phone")
    return match.group(1)


def mask_phone(phone: str) -> str:
    """138****1234: enough to recognise, not enough to call."""
    return f"{phone[:3]}****{phone[-4:]}"


class PersonalDataCipher:
    """AES-256-GCM for identifiers and HMAC-SHA256 for lookups, both keys derived from one secret."""

    def __init__(self, master_key: str) -> None:
        try:
            secret = base64.b64decode(master_key, validate=True)
        except binascii.Error:
            raise ValueError("PERSONAL_DATA_KEY must be base64") from None
        if len(secret) < 32:
            raise ValueError("PERSONAL_DATA_KEY must be at least 32 random bytes, base64-encoded")
        self._aead = AESGCM(_derive(secret, b"qunyun personal data encryption"))
        self._lookup_key = _derive(secret, b"qunyun personal data lookup")

    def encrypt(self, plaintext: str, *, owner: str) -> bytes:
        """Version + nonce + ciphertext. `owner` (tenant, member, field) is bound in: a value copied onto
        another member, field or tenant no longer decrypts."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), owner.encode())

    def decrypt(self, sealed: bytes, *, owner: str) -> str:
        if sealed[:1] != _VERSION:
            raise ValueError(f"sealed with an unknown key version {sealed[:1]!r}")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, ciphertext, owner.encode()).decode()

    def lookup_hash(self, value: str, *, tenant_id: str) -> bytes:
        """Equal for equal values of one tenant, useless without the key (no rainbow table of phones)."""
        return hmac.new(self._lookup_key, f"{tenant_id}\x00{value}".encode(), hashlib.sha256).digest()


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose).derive(secret)
