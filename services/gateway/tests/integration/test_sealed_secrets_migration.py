"""Migration 0006 on real PostgreSQL: the secrets of endpoints saved before it are sealed in place, the
previous secret of a rotation too, and downgrading opens them again."""

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway_svc.webhooks import signing
from gateway_svc.webhooks.sealed_secrets import SecretBox
from qunyun_shared.cli import alembic_config
from qunyun_shared.db import create_engine
from tests.support.harness import create_database, drop_database

pytestmark = pytest.mark.integration

WEBHOOK_SECRET_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # base64 of 32 bytes


async def test_endpoints_saved_before_the_migration_have_their_secrets_sealed(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"it_{secrets.token_hex(4)}"
    url = await create_database(name)
    # What `python -m gateway_svc migrate` is given; the migration reads the key from the settings.
    for variable, value in {
        "DATABASE_URL": url,
        "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(32),
        "PLATFORM_ADMIN_TOKEN": secrets.token_urlsafe(32),
        "ACCESS_TOKEN_SECRET": secrets.token_urlsafe(32),
        "WEBHOOK_SECRET_KEY": WEBHOOK_SECRET_KEY,
    }.items():
        monkeypatch.setenv(variable, value)
    config = alembic_config("gateway_svc", url)
    engine = create_engine(url)
    try:
        await asyncio.to_thread(command.upgrade, config, "0005")
        endpoint_id, current, previous = uuid.uuid4(), signing.generate_secret(), signing.generate_secret()
        async with engine.begin() as connection:
            await _insert_endpoint(connection, endpoint_id, current, previous)

        await asyncio.to_thread(command.upgrade, config, "head")
        sealed = await _stored_secrets(engine, endpoint_id)
        assert current not in sealed and previous not in sealed
        box = SecretBox(WEBHOOK_SECRET_KEY)
        assert [box.open(value, endpoint_id=endpoint_id) for value in sealed] == [current, previous]

        await asyncio.to_thread(command.downgrade, config, "0005")
        await engine.dispose()  # its connections' statements were prepared against the old columns
        assert await _stored_secrets(engine, endpoint_id) == (current, previous)
    finally:
        await engine.dispose()
        await drop_database(name)


async def _insert_endpoint(connection: AsyncConnection, endpoint_id: uuid.UUID, current: str, previous: str) -> None:
    now = datetime.now(UTC)
    tenant_id = uuid.uuid4()
    await connection.execute(
        text("INSERT INTO tenants (id, name) VALUES (:id, :name)"), {"id": tenant_id, "name": f"t-{tenant_id.hex[:8]}"}
    )
    await connection.execute(
        text(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, enabled, secret,"
            " previous_secret, previous_secret_expires_at, rate_limit_per_second, created_by, created_at,"
            " updated_at, consecutive_failures) VALUES (:id, :tenant_id, 'https://203.0.113.10/hooks', '',"
            " '[\"member.tagged\"]', true, :secret, :previous, :expires, 50, 'api_key:it', :now, :now, 0)"
        ),
        {
            "id": endpoint_id,
            "tenant_id": tenant_id,
            "secret": current,
            "previous": previous,
            "expires": now + timedelta(hours=1),
            "now": now,
        },
    )


async def _stored_secrets(engine: AsyncEngine, endpoint_id: uuid.UUID) -> tuple[str, str]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}
            )
        ).one()
    return row.secret, row.previous_secret
