"""Whose fault a failure is: a dependency's (the database, the network, Kafka), to be waited out however
long it takes, or the work's own (an event a handler refuses, a value the database refuses), to be set
aside after a few tries."""

import sqlite3
from collections.abc import Iterator

import sqlalchemy.exc
from aiokafka.errors import KafkaError

# PostgreSQL error classes and codes that say the server, not the statement, is the trouble:
# connection exceptions, transaction rollbacks (serialization failures, deadlocks), insufficient
# resources (too many connections, disk full), operator intervention (shutdown, cannot connect now),
# system errors, invalid authorization (a password rotated under us) and a database not there yet.
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "28", "40", "53", "57", "58"})
_TRANSIENT_SQLSTATES = frozenset({"3D000", "55006", "55P03"})

# SQLite's result codes for a busy or locked database, an I/O error, a full disk or a file it cannot open.
_TRANSIENT_SQLITE_CODES = frozenset({5, 6, 10, 13, 14})

_TRANSIENT_TYPES = (
    OSError,
    TimeoutError,
    KafkaError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.InterfaceError,
)


def is_infrastructure_failure(error: BaseException) -> bool:
    """The database, the network or Kafka failed, not the work: retry until it answers again."""
    for cause in _causes(error):
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and len(sqlstate) == 5:
            return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
        if isinstance(cause, sqlite3.Error) and cause.sqlite_errorcode & 0xFF in _TRANSIENT_SQLITE_CODES:
            return True
        if isinstance(cause, _TRANSIENT_TYPES):
            return True
    return False


def describe(error: BaseException) -> str:
    """One line naming a failure, for logs, readiness and dead-letter headers."""
    return f"{type(error).__name__}: {error}".splitlines()[0][:500] if str(error) else type(error).__name__


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, then what SQLAlchemy wrapped (`orig`) and what it was raised from, each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        cause = pending.pop(0)
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        for inner in (getattr(cause, "orig", None), cause.__cause__, cause.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)
