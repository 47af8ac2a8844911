"""Which forwarded requests the gateway may send again: a write carrying an `Idempotency-Key`, which every
service answers with its first answer, but not one whose key is blank (the services take that as none)."""

import pytest

from gateway_svc.upstreams.retries import is_idempotent

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_write_with_a_key_is_safe_to_send_again(method: str) -> None:
    assert is_idempotent(method, {"idempotency-key": "k-1"})


@pytest.mark.parametrize("key", [None, "", "  "])
def test_a_post_without_a_real_key_is_not(key: str | None) -> None:
    assert not is_idempotent("POST", {} if key is None else {"idempotency-key": key})
