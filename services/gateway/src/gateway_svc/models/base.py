"""The declarative base and the platform tables every service carries."""

from sqlalchemy.orm import DeclarativeBase

from qunyun_shared.db import new_metadata
from qunyun_shared.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


MESSAGING = messaging_tables(Base.metadata)
