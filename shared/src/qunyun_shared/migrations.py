"""What every service's Alembic environment and first migration share."""

import asyncio

from alembic import context, op
from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, String, func
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import JSON

from qunyun_shared.messaging import current_transaction_id


def run_environment(target_metadata: MetaData) -> None:
    """The body of a service's `migrations/env.py`; the URL comes from the Alembic config."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set: run migrations with `python -m <service> migrate`"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_migrate, target_metadata)
        await connection.commit()
    await engine.dispose()


def _migrate(connection: Connection, target_metadata: MetaData) -> None:
    # SQLite cannot ALTER most things in place; batch mode recreates tables instead.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables_v1() -> None:
    """Creates `outbox` and `inbox` as first defined; later changes get their own function."""
    op.create_table(
        "outbox",
        Column("id", BigInteger().with_variant(sqlite.INTEGER(), "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    op.create_table(
        "inbox",
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("outcome", String(20), nullable=False),
        Column("attempts", Integer, nullable=False, server_default="1"),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def add_outbox_transaction_ids_v2() -> None:
    """Gives outbox rows the id of the transaction that wrote them, the relay's order (see OutboxRelay)."""
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(Column("transaction_id", BigInteger, nullable=True, server_default=current_transaction_id()))
    op.create_index("ix_outbox_publication_order", "outbox", ["transaction_id", "id"])


def drop_outbox_transaction_ids_v2() -> None:
    op.drop_index("ix_outbox_publication_order", table_name="outbox")
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_column("transaction_id")


def create_idempotency_keys_table_v1() -> None:
    """Creates `idempotency_keys` (see `qunyun_shared.idempotency`) as first defined."""
    op.create_table(
        "idempotency_keys",
        Column("tenant_id", String(64), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response", JSON, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


_KEYS_BY_AGE = "ix_idempotency_keys_created_at"


def index_idempotency_keys_by_age_v2() -> None:
    """Indexes `idempotency_keys` by `created_at`, for their expiry. On PostgreSQL the index is built
    concurrently, outside the migration's transaction: the table holds every write that moved money until
    then, and a plain build would hold off new ones until it is done."""
    with op.get_context().autocommit_block():
        op.create_index(_KEYS_BY_AGE, "idempotency_keys", ["created_at"], postgresql_concurrently=True)


def drop_idempotency_keys_age_index_v2() -> None:
    op.drop_index(_KEYS_BY_AGE, table_name="idempotency_keys")
