"""The declarative base of member-svc's tables and the platform tables every service carries (messaging,
idempotency keys). Each domain declares its own tables in its `models.py`; `member_svc.models` gathers them all."""

from sqlalchemy.orm import DeclarativeBase

from qunyun_shared.db import new_metadata
from qunyun_shared.idempotency import idempotency_keys_table
from qunyun_shared.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


MESSAGING = messaging_tables(Base.metadata)
# Partners push members from their shops with an Idempotency-Key: a retried push creates no twin.
IDEMPOTENCY_KEYS = idempotency_keys_table(Base.metadata)
