"""What every request body of member-svc is: a shared Input whose text is stripped of surrounding blanks."""

from pydantic import ConfigDict

from qunyun_shared import schemas


class Input(schemas.Input):
    model_config = ConfigDict(str_strip_whitespace=True)
