"""Webhook signing secrets encrypted at rest (AES-256-GCM under WEBHOOK_SECRET_KEY), each bound to its
endpoint: a copy of the database, or a sealed secret moved onto another endpoint, signs nothing."""

import base64
import uuid
from datetime import datetime

from qunyun_shared.sealing import Sealer

# The HKDF purpose: fixed for good, since every stored secret was sealed under the key it derives.
PURPOSE = b"qunyun webhook signing secrets"


class SecretBox:
    """Seals an endpoint's signing secrets for storage and opens them to sign."""

    def __init__(self, key: str) -> None:
        self._sealer = Sealer(key, purpose=PURPOSE)

    def seal(self, secret: str, *, endpoint_id: uuid.UUID) -> str:
        """The secret as stored: base64 of the sealed bytes."""
        return base64.b64encode(self._sealer.seal(secret.encode(), context=endpoint_id.bytes)).decode()

    def open(self, sealed: str, *, endpoint_id: uuid.UUID) -> str:
        """The secret in clear; raises if it was sealed under another key or for another endpoint."""
        return self._sealer.open(base64.b64decode(sealed), context=endpoint_id.bytes).decode()

    def active(
        self,
        *,
        endpoint_id: uuid.UUID,
        secret: str,
        previous: str | None,
        previous_expires_at: datetime | None,
        now: datetime,
    ) -> tuple[str, ...]:
        """The secrets a delivery is signed with now, in clear: the current one, and the previous one until it
        expires (a rotation's overlap)."""
        if previous and previous_expires_at is not None and previous_expires_at > now:
            return (self.open(secret, endpoint_id=endpoint_id), self.open(previous, endpoint_id=endpoint_id))
        return (self.open(secret, endpoint_id=endpoint_id),)
