"""A tenant's campaign settings in the API."""

import re
from datetime import time
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema, model_validator

from qunyun_shared.schemas import TimeZoneName

# A wall-clock time in the tenant's time zone. Not JSON Schema's `format: time`, which is RFC 3339's and
# needs an offset: the answer ("22:00:00") would break its own schema, and an offset would be meaningless.
_WALL_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _wall_clock(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(_WALL_CLOCK, value):
        raise ValueError("give a time of day as HH:MM or HH:MM:SS, without an offset (the tenant's time zone applies)")
    return value


WallClock = Annotated[
    time,
    BeforeValidator(_wall_clock),
    WithJsonSchema({"type": "string", "pattern": _WALL_CLOCK, "examples": ["22:00"]}),
]


class TenantSettingsBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        from_attributes=True,
        json_schema_extra={
            "examples": [{"timezone": "Asia/Shanghai", "quiet_hours_start": "22:00", "quiet_hours_end": "08:00"}]
        },
    )
    timezone: TimeZoneName = "Asia/Shanghai"
    quiet_hours_start: WallClock | None = time(22, 0)
    quiet_hours_end: WallClock | None = time(8, 0)

    @model_validator(mode="after")
    def _both_ends_or_none(self) -> Self:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("give both ends of the quiet hours, or neither")
        if self.quiet_hours_start is not None and self.quiet_hours_start == self.quiet_hours_end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self
