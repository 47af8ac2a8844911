"""What every request body of member-svc is: unknown fields refused, text stripped of surrounding blanks."""

from pydantic import BaseModel, ConfigDict


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
