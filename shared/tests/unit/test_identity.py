"""The gateway-signed identity header."""

from datetime import timedelta

import jwt
import pytest

from qunyun_shared.identity import Identity, InvalidIdentity, sign, verify

pytestmark = pytest.mark.unit

SECRET = "s" * 40
CALLER = Identity(tenant_id="t1", principal="api_key:abc", roles=("owner",), permissions=frozenset({"*"}))


def test_a_signed_identity_verifies() -> None:
    assert verify(sign(CALLER, SECRET), SECRET) == CALLER


@pytest.mark.parametrize(
    "token",
    [
        sign(CALLER, "another secret that is long enough"),
        sign(CALLER, SECRET, ttl=timedelta(seconds=-1)),
        jwt.encode(
            {"tid": "t1", "sub": "x", "aud": "qunyun-internal", "iss": "qunyun-gateway"}, key=None, algorithm="none"
        ),
        "garbage",
    ],
    ids=["wrong-secret", "expired", "alg-none", "garbage"],
)
def test_forged_expired_or_unsigned_identities_are_refused(token: str) -> None:
    with pytest.raises(InvalidIdentity):
        verify(token, SECRET)
