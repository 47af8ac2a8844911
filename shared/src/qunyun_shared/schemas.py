"""What every service's API models are: request bodies that refuse unknown fields, answers read off rows, and
the time zones operators name."""

from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Input(BaseModel):
    """A request body: a field it does not know is refused (a typo is an error, not a silent default)."""

    model_config = ConfigDict(extra="forbid")


class Read(BaseModel):
    """An answer built from a row: an ORM object or a mapping, read attribute by attribute."""

    model_config = ConfigDict(from_attributes=True)


@cache
def _zones() -> frozenset[str]:
    # Read from the tz database's files: walking them on every validation cost milliseconds.
    return frozenset(available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Asia/Shanghai")
    return name


# An IANA time zone name (Asia/Shanghai): where a tenant's or a community's days and hours are counted.
TimeZoneName = Annotated[str, AfterValidator(_known_zone), Field(examples=["Asia/Shanghai"], max_length=64)]
