"""Sealing values at rest: only the right key, purpose and context open them."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from qunyun_shared.sealing import Sealer

pytestmark = pytest.mark.unit

KEY = base64.b64encode(os.urandom(32)).decode()


def test_a_sealed_value_opens_with_its_context_and_hides_the_plaintext() -> None:
    sealer = Sealer(KEY, purpose=b"test")
    sealed = sealer.seal(b"whsec_plain", context=b"row-1")
    assert b"whsec_plain" not in sealed
    assert sealed != sealer.seal(b"whsec_plain", context=b"row-1")  # a fresh nonce every time
    assert sealer.open(sealed, context=b"row-1") == b"whsec_plain"


@pytest.mark.parametrize(
    "opener, context",
    [
        (Sealer(KEY, purpose=b"test"), b"row-2"),  # copied onto another row
        (Sealer(KEY, purpose=b"other"), b"row-1"),  # the same master key for another purpose
        (Sealer(base64.b64encode(os.urandom(32)).decode(), purpose=b"test"), b"row-1"),  # another key
    ],
)
def test_it_does_not_open_elsewhere(opener: Sealer, context: bytes) -> None:
    sealed = Sealer(KEY, purpose=b"test").seal(b"secret", context=b"row-1")
    with pytest.raises(InvalidTag):
        opener.open(sealed, context=context)


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(os.urandom(16)).decode()])
def test_a_short_or_malformed_master_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="base64"):
        Sealer(key, purpose=b"test")
