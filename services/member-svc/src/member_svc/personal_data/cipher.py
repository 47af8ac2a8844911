"""Protection of members' identifiers: encrypted at rest, found by a keyed hash, shown masked."""

import hashlib
import hmac
import re

from member_svc.exceptions import MalformedPhone
from qunyun_shared.sealing import Sealer, derive_key, master_key

# Mainland mobile numbers, with or without the +86 / 0086 country code and separators.
_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_SEPARATORS = re.compile(r"[\s\-()]")


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
    """Identifiers sealed at rest (qunyun_shared.sealing) and keyed hashes to find them by, both keys derived
    from one master key."""

    def __init__(self, encoded_master_key: str) -> None:
        self._sealer = Sealer(encoded_master_key, purpose=b"qunyun personal data encryption")
        self._lookup_key = derive_key(master_key(encoded_master_key), b"qunyun personal data lookup")

    def encrypt(self, plaintext: str, *, owner: str) -> bytes:
        """`owner` (tenant, member, field) is bound in: a value copied onto another member, field or tenant
        no longer decrypts."""
        return self._sealer.seal(plaintext.encode(), context=owner.encode())

    def decrypt(self, sealed: bytes, *, owner: str) -> str:
        return self._sealer.open(sealed, context=owner.encode()).decode()

    def lookup_hash(self, value: str, *, tenant_id: str) -> bytes:
        """Equal for equal values of one tenant, useless without the key (no rainbow table of phones)."""
        return hmac.new(self._lookup_key, f"{tenant_id}\x00{value}".encode(), hashlib.sha256).digest()
