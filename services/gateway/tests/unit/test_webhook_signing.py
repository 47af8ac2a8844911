"""Standard Webhooks signatures, checked against the independent `standardwebhooks` package."""

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gateway_svc.webhooks import signing
from gateway_svc.webhooks.signing import MalformedSecret, WebhookNotVerified
from qunyun_shared.problems import InvalidInput

pytestmark = pytest.mark.unit

BODY = b'{"type":"member.joined","data":{"member_id":"m_8f2c"}}'
SENT = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
KNOWN = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def secret_of(size: int) -> str:
    return signing.SECRET_PREFIX + base64.b64encode(bytes(range(size))).decode()


def test_signatures_reproduce_the_published_test_vector() -> None:
    signature = signing.sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        datetime.fromtimestamp(1614265330, UTC),
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_generated_secrets_are_32_fresh_random_bytes() -> None:
    first, second = signing.generate_secret(), signing.generate_secret()
    assert first.startswith("whsec_")
    assert len(signing.parse_secret(first)) == 32
    assert first != second


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_",
        "whsec_not base64!",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
        secret_of(23),
        secret_of(65),
    ],
    ids=["no-prefix", "empty", "not-base64", "truncated-base64", "23-bytes", "65-bytes"],
)
def test_malformed_secrets_are_refused_as_invalid_input(secret: str) -> None:
    with pytest.raises(MalformedSecret) as refused:
        signing.parse_secret(secret)
    assert isinstance(refused.value, InvalidInput) and refused.value.status == 422


@pytest.mark.parametrize("size", [24, 64])
def test_secrets_of_24_to_64_bytes_are_taken_with_or_without_padding(size: int) -> None:
    secret = secret_of(size)
    assert signing.parse_secret(secret) == bytes(range(size))
    assert signing.parse_secret(secret.rstrip("=")) == bytes(range(size))


def test_the_standardwebhooks_package_verifies_our_deliveries() -> None:
    secret = signing.generate_secret()
    sent = signing.headers([secret], MSG_ID, datetime.now(UTC), BODY)
    assert Webhook(secret).verify(BODY, sent) == {"type": "member.joined", "data": {"member_id": "m_8f2c"}}


def test_during_rotation_a_partner_holding_either_secret_verifies() -> None:
    new, old = signing.generate_secret(), signing.generate_secret()
    sent = signing.headers([new, old], MSG_ID, datetime.now(UTC), BODY)
    assert len(sent["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, sent, json_parse=False)
    Webhook(old).verify(BODY, sent, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(BODY, sent, json_parse=False)


@pytest.mark.parametrize(
    ("tamper_headers", "body"),
    [
        (lambda sent: sent, BODY.replace(b"m_8f2c", b"m_8f2d")),
        (lambda sent: {**sent, "webhook-timestamp": str(int(sent["webhook-timestamp"]) + 1)}, BODY),
        (lambda sent: {**sent, "webhook-id": "msg_another"}, BODY),
        (lambda sent: {**sent, "webhook-signature": "v1," + base64.b64encode(bytes(32)).decode()}, BODY),
    ],
    ids=["body", "timestamp", "id", "signature"],
)
def test_the_standardwebhooks_package_refuses_tampered_deliveries(
    tamper_headers: Callable[[dict[str, str]], dict[str, str]], body: bytes
) -> None:
    secret = signing.generate_secret()
    sent = signing.headers([secret], MSG_ID, datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(body, tamper_headers(sent), json_parse=False)


def test_the_standardwebhooks_package_refuses_a_correctly_signed_old_delivery() -> None:
    secret = signing.generate_secret()
    sent = signing.headers([secret], MSG_ID, datetime.now(UTC) - timedelta(minutes=10), BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, sent, json_parse=False)


def test_we_verify_what_the_standardwebhooks_package_signs() -> None:
    secret, retired = signing.generate_secret(), signing.generate_secret()
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(MSG_ID, now, BODY.decode())
    received = {
        "Webhook-Id": MSG_ID,
        "Webhook-Timestamp": str(int(now.timestamp())),
        "Webhook-Signature": f"v1a,{base64.b64encode(bytes(64)).decode()} v1,bm9wZQ== {signature}",
    }
    signing.verify([retired, secret], received, BODY, now=now)


def signed(*secrets: str, at: datetime = SENT) -> dict[str, str]:
    return signing.headers(list(secrets), MSG_ID, at, BODY)


@pytest.mark.parametrize(
    ("received", "body", "reason"),
    [
        (signed(KNOWN), BODY + b" ", "No webhook signature matches"),
        (signed(secret_of(32)), BODY, "No webhook signature matches"),
        (signed(KNOWN, at=SENT - timedelta(minutes=6)), BODY, "too old"),
        (signed(KNOWN, at=SENT + timedelta(minutes=6)), BODY, "future"),
        ({**signed(KNOWN), "webhook-signature": ""}, BODY, "No webhook signature"),
        (
            {**signed(KNOWN), "webhook-signature": signed(KNOWN)["webhook-signature"].replace("v1,", "v1a,")},
            BODY,
            "No webhook signature",
        ),
        ({k: v for k, v in signed(KNOWN).items() if k != "webhook-id"}, BODY, "webhook-id header"),
        ({**signed(KNOWN), "webhook-timestamp": "+1795422600"}, BODY, "webhook-timestamp header"),
        ({**signed(KNOWN), "webhook-id": "msg.1"}, BODY, "webhook-id header"),
    ],
    ids=[
        "body",
        "unknown-secret",
        "old",
        "future",
        "no-signature",
        "other-scheme",
        "no-id",
        "plus-signed-timestamp",
        "dotted-id",
    ],
)
def test_we_refuse_deliveries_that_are_not_recent_and_signed(
    received: dict[str, str], body: bytes, reason: str
) -> None:
    with pytest.raises(WebhookNotVerified, match=reason):
        signing.verify([KNOWN], received, body, now=SENT)


def test_a_rotated_signature_header_verifies_with_the_one_secret_we_know() -> None:
    current, previous = signing.generate_secret(), signing.generate_secret()
    signing.verify([previous], signed(current, previous), BODY, now=SENT)
    with pytest.raises(WebhookNotVerified):
        signing.verify([signing.generate_secret()], signed(current, previous), BODY, now=SENT)


def test_the_tolerance_bounds_the_accepted_age() -> None:
    secret = signing.generate_secret()
    received = signed(secret)
    signing.verify([secret], received, BODY, now=SENT + timedelta(minutes=5))
    signing.verify([secret], received, BODY, now=SENT + timedelta(minutes=9), tolerance=timedelta(minutes=10))
    with pytest.raises(WebhookNotVerified, match="too old"):
        signing.verify([secret], received, BODY, now=SENT + timedelta(minutes=5, seconds=1))


def test_signing_refuses_what_would_make_the_signed_text_ambiguous() -> None:
    secret = signing.generate_secret()
    with pytest.raises(ValueError, match="webhook id"):
        signing.sign(secret, "msg.1", SENT, BODY)
    with pytest.raises(ValueError, match="timezone-aware"):
        signing.sign(secret, MSG_ID, SENT.replace(tzinfo=None), BODY)
    with pytest.raises(ValueError, match="at least one secret"):
        signing.headers([], MSG_ID, SENT, BODY)
