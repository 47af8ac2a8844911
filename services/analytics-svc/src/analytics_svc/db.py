"""The declarative base of analytics-svc's tables and the platform tables every service carries
(messaging, erased members, idempotency keys). Each domain declares its own tables in its `models.py`;
`analytics_svc.models` gathers them all."""

from sqlalchemy.orm import DeclarativeBase

from qunyun_shared.db import new_metadata
from qunyun_shared.erasure import erased_members_table
from qunyun_shared.idempotency import idempotency_keys_table
from qunyun_shared.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


MESSAGING = messaging_tables(Base.metadata)
ERASED_MEMBERS = erased_members_table(Base.metadata)
# What each write answered, by its Idempotency-Key, for a retry to be answered the same.
IDEMPOTENCY_KEYS = idempotency_keys_table(Base.metadata)
