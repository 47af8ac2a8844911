"""Which failures mean "wait for the dependency" and which mean "this event is poison"."""

import sqlite3

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from qunyun_shared.failures import is_infrastructure_failure

pytestmark = pytest.mark.unit


def from_postgresql(error: asyncpg.PostgresError) -> DBAPIError:
    """What SQLAlchemy raises for a PostgreSQL error: a DBAPIError wrapping the driver's, raised from it."""
    try:
        raise error
    except asyncpg.PostgresError as raised:
        wrapped = DBAPIError("SELECT 1", {}, raised)
        wrapped.__cause__ = raised
        return wrapped


def from_sqlite(code: int, message: str) -> OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return OperationalError("SELECT 1", {}, error)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, ConnectionResetError()),
        ConnectionRefusedError(),
        TimeoutError(),
        KafkaConnectionError(),
        from_postgresql(asyncpg.TooManyConnectionsError("sorry, too many clients already")),
        from_postgresql(asyncpg.SerializationError("could not serialize access")),
        from_postgresql(asyncpg.DeadlockDetectedError("deadlock detected")),
        from_postgresql(asyncpg.AdminShutdownError("terminating connection due to administrator command")),
        from_postgresql(asyncpg.CannotConnectNowError("the database system is starting up")),
        from_postgresql(asyncpg.InvalidCatalogNameError('database "x" does not exist')),
        from_sqlite(5, "database is locked"),
    ],
    ids=lambda error: type(getattr(error, "orig", error)).__name__,
)
def test_a_database_network_or_kafka_failure_is_waited_out(error: Exception) -> None:
    assert is_infrastructure_failure(error)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, ValueError()),
        ValueError(),
        KeyError("x"),
        from_postgresql(asyncpg.NumericValueOutOfRangeError("bigint out of range")),
        from_postgresql(asyncpg.UniqueViolationError("duplicate key value")),
        from_postgresql(asyncpg.StringDataRightTruncationError("value too long")),
        from_sqlite(19, "UNIQUE constraint failed"),
    ],
    ids=lambda error: type(getattr(error, "orig", error)).__name__,
)
def test_a_failure_caused_by_the_event_counts_towards_dead_lettering(error: Exception) -> None:
    assert not is_infrastructure_failure(error)
