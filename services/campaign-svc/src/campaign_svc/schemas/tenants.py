"""A tenant's campaign settings in the API."""

from datetime import time
from functools import cache
from typing import Annotated, Self
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator


@cache
def _zones() -> frozenset[str]:
    # Read from the tz database's files: walking them on every validation cost milliseconds.
    return frozenset(available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


class TenantSettingsBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        from_attributes=True,
        json_schema_extra={
            "examples": [{"timezone": "Asia/Shanghai", "quiet_hours_start": "22:00", "quiet_hours_end": "08:00"}]
        },
    )
    timezone: Annotated[str, AfterValidator(_known_zone)] = "Asia/Shanghai"
    quiet_hours_start: time | None = time(22, 0)
    quiet_hours_end: time | None = time(8, 0)

    @model_validator(mode="after")
    def _both_ends_or_none(self) -> Self:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("give both ends of the quiet hours, or neither")
        if self.quiet_hours_start is not None and self.quiet_hours_start == self.quiet_hours_end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self
