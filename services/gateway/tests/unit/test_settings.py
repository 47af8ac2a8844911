"""The gateway's secrets: each as strong as INTERNAL_TOKEN_SECRET, and the access-token key its own."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.config import Settings
from gateway_svc.exceptions import InvalidCredentials

pytestmark = pytest.mark.unit

STRONG = {
    "internal_token_secret": "internal-" + "x" * 32,
    "platform_admin_token": "admin-" + "x" * 32,
    "access_token_secret": "access-" + "x" * 32,
    "webhook_secret_key": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
}


def settings(**secrets: str) -> Settings:
    return Settings(database_url="sqlite+aiosqlite://", **(STRONG | secrets))


@pytest.mark.parametrize("name", ["internal_token_secret", "platform_admin_token", "access_token_secret"])
@pytest.mark.parametrize("weak", ["change-me", "CHANGEME", "secret", "short-but-random-Qx81", "x" * 31])
def test_every_gateway_secret_refuses_placeholders_and_short_values(name: str, weak: str) -> None:
    with pytest.raises(ValidationError, match=f"{name}[\\s\\S]*at least 32 characters"):
        settings(**{name: weak})


def test_the_access_token_key_is_required() -> None:
    secrets = {name: value for name, value in STRONG.items() if name != "access_token_secret"}
    with pytest.raises(ValidationError, match="access_token_secret"):
        Settings(database_url="sqlite+aiosqlite://", **secrets)


def test_the_access_token_key_may_not_be_the_secret_every_service_holds() -> None:
    with pytest.raises(ValidationError, match="must differ from INTERNAL_TOKEN_SECRET"):
        settings(access_token_secret=STRONG["internal_token_secret"])


def test_a_token_minted_with_the_services_secret_does_not_pass_for_an_operators() -> None:
    configured = settings()
    gateway = AccessTokens(configured.access_token_secret.get_secret_value(), ttl=timedelta(minutes=15))
    # What a service could make from what it holds, were the key derived from it as before.
    service = AccessTokens(configured.internal_token_secret.get_secret_value(), ttl=timedelta(minutes=15))
    forged = service.issue(operator_id=uuid4(), tenant_id=uuid4(), roles=["owner"], now=datetime.now(UTC))
    with pytest.raises(InvalidCredentials):
        gateway.verify(forged)
