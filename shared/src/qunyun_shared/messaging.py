"""The outbox and inbox tables every service keeps in its own database."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, func
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import JSON

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
_SEQUENCE = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")


class current_transaction_id(FunctionElement[int]):
    """The id of the writing transaction, on PostgreSQL: the relay publishes a row only once every
    transaction that could precede it has ended. SQLite has one writer at a time, and no such id."""

    type = BigInteger()
    inherit_cache = True


@compiles(current_transaction_id, "postgresql")
def _current_transaction_id_on_postgresql(element: current_transaction_id, compiler: SQLCompiler, **kw: Any) -> str:
    return "(pg_current_xact_id()::text::bigint)"


@compiles(current_transaction_id)
def _no_transaction_id(element: current_transaction_id, compiler: SQLCompiler, **kw: Any) -> str:
    return "NULL"


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Declares `outbox` and `inbox` on a service's metadata."""
    outbox = Table(
        "outbox",
        metadata,
        # Publication order is the id order: it is what keeps one key's events in order.
        Column("id", _SEQUENCE, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("transaction_id", BigInteger, nullable=True, server_default=current_transaction_id()),
        Index("ix_outbox_publication_order", "transaction_id", "id"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("outcome", String(20), nullable=False),
        Column("attempts", Integer, nullable=False, server_default="1"),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return MessagingTables(outbox=outbox, inbox=inbox)
