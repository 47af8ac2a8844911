"""Standard Webhooks signatures (https://www.standardwebhooks.com/), which partners verify our deliveries with.

A signature is `v1,` + base64 of HMAC-SHA256 over `{msg_id}.{timestamp}.{body}`. While a secret is being rotated, a
delivery carries one signature per active secret, space-separated, so a partner holding either secret verifies it.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from secrets import token_bytes

from qunyun_shared.problems import InvalidInput, Unauthorized

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = timedelta(minutes=5)
_SECRET_BYTES = 32
_MIN_SECRET_BYTES, _MAX_SECRET_BYTES = 24, 64  # the spec's 192 to 512 bits
_SCHEME = "v1"


class MalformedSecret(InvalidInput):
    slug = "malformed-webhook-secret"


class WebhookNotVerified(Unauthorized):
    slug = "webhook-not-verified"


def generate_secret() -> str:
    """A new signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(_SECRET_BYTES)).decode()


def parse_secret(secret: str) -> bytes:
    """The key bytes of a `whsec_` secret; raises MalformedSecret for anything else."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    if encoded == secret:
        raise MalformedSecret(f"A webhook secret starts with {SECRET_PREFIX!r}.")
    try:
        # Other Standard Webhooks libraries take the base64 unpadded too, so padding is optional here as well.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise MalformedSecret(f"A webhook secret is {SECRET_PREFIX!r} followed by base64.") from None
    if not _MIN_SECRET_BYTES <= len(key) <= _MAX_SECRET_BYTES:
        raise MalformedSecret(
            f"A webhook secret holds {_MIN_SECRET_BYTES} to {_MAX_SECRET_BYTES} bytes of key, not {len(key)}."
        )
    return key


# The dispatcher signs every delivery with the same few secrets: decoding each once is enough.
_key_of = functools.lru_cache(maxsize=4096)(parse_secret)


def sign(secret: str, msg_id: str, timestamp: datetime, body: bytes) -> str:
    """The `v1,<base64 HMAC-SHA256>` signature of one delivery attempt."""
    if not _is_valid_msg_id(msg_id):
        raise ValueError(f"{msg_id!r} cannot be a webhook id: it needs visible ASCII without full stops.")
    digest = _digest(_key_of(secret), msg_id, str(_unix_seconds(timestamp)), body)
    return f"{_SCHEME},{base64.b64encode(digest).decode()}"


def headers(secrets: Sequence[str], msg_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """The `webhook-*` headers of one delivery attempt, signed with every active secret."""
    if not secrets:
        raise ValueError("A webhook is signed with at least one secret.")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(_unix_seconds(timestamp)),
        "webhook-signature": " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets),
    }


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Checks that a delivery is recent and signed with one of `secrets`; raises WebhookNotVerified if not."""
    received = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp = received.get("webhook-id", ""), received.get("webhook-timestamp", "")
    if not _is_valid_msg_id(msg_id):
        raise WebhookNotVerified("The webhook-id header is missing or malformed.")
    _check_age(timestamp, now=now, tolerance=tolerance)
    expected = [_digest(parse_secret(secret), msg_id, timestamp, body) for secret in secrets]
    presented = _presented_digests(received.get("webhook-signature", ""))
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in presented):
        raise WebhookNotVerified("No webhook signature matches a known secret.")


def _digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    return hmac.digest(key, b".".join((msg_id.encode(), timestamp.encode(), body)), hashlib.sha256)


def _is_valid_msg_id(msg_id: str) -> bool:
    # The id is part of the full-stop-delimited signed text and travels in a header.
    return bool(msg_id) and msg_id.isascii() and msg_id.isprintable() and not {".", " "} & set(msg_id)


def _unix_seconds(moment: datetime) -> int:
    # A naive datetime would be read as local time, silently shifting the signed timestamp.
    if moment.tzinfo is None:
        raise ValueError("Webhook timestamps are timezone-aware.")
    return math.floor(moment.timestamp())


def _check_age(timestamp: str, *, now: datetime, tolerance: timedelta) -> None:
    # Only plain ASCII digits: int() would also take "+1", " 1" or other scripts' digits.
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise WebhookNotVerified("The webhook-timestamp header is missing or not a unix time in seconds.")
    age = _unix_seconds(now) - int(timestamp)
    if age > tolerance.total_seconds():
        raise WebhookNotVerified("The webhook timestamp is too old; the delivery may be a replay.")
    if -age > tolerance.total_seconds():
        raise WebhookNotVerified("The webhook timestamp is too far in the future.")


def _presented_digests(signature_header: str) -> list[bytes]:
    """The v1 signatures in a `webhook-signature` header; other schemes (v1a) and garbage are passed over."""
    digests = []
    for entry in signature_header.split():
        scheme, _, encoded = entry.partition(",")
        if scheme != _SCHEME:
            continue
        try:
            digests.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    return digests
