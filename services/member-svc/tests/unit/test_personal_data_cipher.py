"""Phones sealed before the cipher moved onto qunyun_shared.sealing still open: the stored format is a version
byte, a 12-byte nonce and AES-256-GCM under the HKDF-derived key, bound to the owner."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from member_svc.personal_data.cipher import PersonalDataCipher

pytestmark = pytest.mark.unit

SECRET = os.urandom(32)
OWNER = "tenant-1:member-1:phone"


def sealed_as_before(plaintext: str) -> bytes:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"qunyun personal data encryption").derive(SECRET)
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), OWNER.encode())


def test_a_phone_sealed_in_the_stored_format_opens_for_its_owner_only() -> None:
    cipher = PersonalDataCipher(base64.b64encode(SECRET).decode())
    stored = sealed_as_before("13812341234")
    assert cipher.decrypt(stored, owner=OWNER) == "13812341234"
    with pytest.raises(InvalidTag):
        cipher.decrypt(stored, owner="tenant-1:member-2:phone")
    assert cipher.decrypt(cipher.encrypt("13812341234", owner=OWNER), owner=OWNER) == "13812341234"


def test_a_key_too_short_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        PersonalDataCipher(base64.b64encode(os.urandom(16)).decode())
